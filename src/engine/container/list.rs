//! `docker ps`.

use super::record::Container;
use super::state::Status;
use crate::engine::{Engine, Result};
use crate::models::{
    ContainerSummary, ContainerSummaryHostConfig, ContainerSummaryNetworkSettings,
    ContainerSummaryStateEnum,
};

/// How many containers are in each state, for `/info`.
pub struct Counts {
    pub total: i64,
    pub running: i64,
    pub paused: i64,
    pub stopped: i64,
}

impl Engine {
    pub async fn list_containers(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        let now = crate::util::time::now_nanos();
        let mut out = Vec::new();
        for row in self.all_containers().await? {
            let (state, config, host) = (&row.state, &row.config, &row.host);
            if !all && !state.is_running() {
                continue;
            }
            let command = config
                .entrypoint
                .iter()
                .flatten()
                .chain(config.cmd.iter().flatten())
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            out.push(ContainerSummary {
                id: Some(row.id.clone()),
                names: Some(vec![row.name.clone()]),
                image: Some(row.image_ref.clone()),
                image_id: Some(row.image_id.clone()),
                command: Some(command),
                created: Some(row.created_at / 1_000_000_000),
                ports: Some(vec![]),
                labels: Some(config.labels.clone().unwrap_or_default()),
                state: Some(summary_state(state.status)),
                status: Some(state.human(now)),
                host_config: Some(ContainerSummaryHostConfig {
                    network_mode: Some(
                        host.network_mode.clone().unwrap_or_else(|| "bridge".into()),
                    ),
                    ..Default::default()
                }),
                network_settings: Some(ContainerSummaryNetworkSettings {
                    networks: Some(Default::default()),
                }),
                mounts: Some(vec![]),
                ..Default::default()
            });
        }
        Ok(out)
    }

    /// Every container, newest first. A damaged record is left out of lists, with an error
    /// in the log naming it (it can still be inspected, which says what is wrong, and removed).
    pub(crate) async fn all_containers(&self) -> Result<Vec<Container>> {
        let rows = self.store().containers().await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match Container::from_row(row) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::error!(error = %e, "container left out of the list");
                    None
                }
            })
            .collect())
    }

    pub async fn container_counts(&self) -> Result<Counts> {
        let mut c = Counts {
            total: 0,
            running: 0,
            paused: 0,
            stopped: 0,
        };
        for row in self.all_containers().await? {
            c.total += 1;
            match row.state.status {
                Status::Running | Status::Restarting => c.running += 1,
                Status::Paused => c.paused += 1,
                _ => c.stopped += 1,
            }
        }
        Ok(c)
    }
}

pub fn summary_state(s: Status) -> ContainerSummaryStateEnum {
    match s {
        Status::Created => ContainerSummaryStateEnum::CREATED,
        Status::Running => ContainerSummaryStateEnum::RUNNING,
        Status::Paused => ContainerSummaryStateEnum::PAUSED,
        Status::Restarting => ContainerSummaryStateEnum::RESTARTING,
        Status::Removing => ContainerSummaryStateEnum::REMOVING,
        Status::Exited => ContainerSummaryStateEnum::EXITED,
        Status::Dead => ContainerSummaryStateEnum::DEAD,
    }
}
