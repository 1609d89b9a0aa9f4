//! `docker inspect` of a container.

use super::state::Status;
use crate::engine::{Engine, Result};
use crate::models::{
    ContainerInspectResponse, ContainerState as ApiState, ContainerStateStatusEnum,
};
use crate::util::time::rfc3339_nano;

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Engine {
    pub async fn inspect_container(&self, input: &str) -> Result<ContainerInspectResponse> {
        let row = self.container(input).await?;
        let (config, host, state) = (row.config.clone(), row.host.clone(), row.state.clone());
        let paths = self.container_paths(&row.id);
        let time = |t: i64| {
            if t == 0 {
                ZERO_TIME.into()
            } else {
                rfc3339_nano(t)
            }
        };
        let mut args: Vec<String> = config
            .entrypoint
            .iter()
            .flatten()
            .chain(config.cmd.iter().flatten())
            .cloned()
            .collect();
        let path = if args.is_empty() {
            String::new()
        } else {
            args.remove(0)
        };
        Ok(ContainerInspectResponse {
            id: Some(row.id.clone()),
            created: Some(rfc3339_nano(row.created_at)),
            path: Some(path),
            args: Some(args),
            state: Some(ApiState {
                status: Some(api_status(state.status)),
                running: Some(state.status == Status::Running),
                paused: Some(state.status == Status::Paused),
                restarting: Some(state.status == Status::Restarting),
                oom_killed: Some(state.oom_killed),
                dead: Some(state.status == Status::Dead),
                pid: Some(state.pid),
                exit_code: Some(state.exit_code),
                error: Some(state.error.clone()),
                started_at: Some(time(state.started_at)),
                finished_at: Some(time(state.finished_at)),
                health: None,
            }),
            image: Some(row.image_id.clone()),
            name: Some(row.name.clone()),
            restart_count: Some(state.restart_count),
            driver: Some("overlay2".into()),
            log_path: Some(paths.log.display().to_string()),
            hostname_path: Some(paths.hostname.display().to_string()),
            hosts_path: Some(paths.hosts.display().to_string()),
            resolv_conf_path: Some(paths.resolv_conf.display().to_string()),
            platform: Some("linux".into()),
            mount_label: Some(String::new()),
            process_label: Some(String::new()),
            app_armor_profile: Some(String::new()),
            host_config: Some(host),
            mounts: Some(vec![]),
            config: Some(config),
            ..Default::default()
        })
    }
}

fn api_status(s: Status) -> ContainerStateStatusEnum {
    match s {
        Status::Created => ContainerStateStatusEnum::CREATED,
        Status::Running => ContainerStateStatusEnum::RUNNING,
        Status::Paused => ContainerStateStatusEnum::PAUSED,
        Status::Restarting => ContainerStateStatusEnum::RESTARTING,
        Status::Removing => ContainerStateStatusEnum::REMOVING,
        Status::Exited => ContainerStateStatusEnum::EXITED,
        Status::Dead => ContainerStateStatusEnum::DEAD,
    }
}
