//! `docker ps`: `GET /containers/json` with dockerd's filters, `all`, `limit` and `size`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::filter::{ContainerFilter, Listed};
use super::state::Status;
use crate::engine::{Engine, Error, Result};
use crate::models::{
    ContainerSummary, ContainerSummaryHostConfig, ContainerSummaryNetworkSettings,
    ContainerSummaryStateEnum, Filters,
};

/// How many containers are in each state, for `/info`.
pub struct Counts {
    pub total: i64,
    pub running: i64,
    pub paused: i64,
    pub stopped: i64,
}

/// What `GET /containers/json` asks for.
#[derive(Debug, Default)]
pub struct ListOptions {
    pub all: bool,
    /// The newest N (implies all); <= 0 for no limit.
    pub limit: i64,
    /// Compute SizeRw and SizeRootFs.
    pub size: bool,
    pub filters: Filters,
}

impl Engine {
    pub async fn list_containers(&self, opts: ListOptions) -> Result<Vec<ContainerSummary>> {
        let started = std::time::Instant::now();
        let mut filter = ContainerFilter::new(&opts.filters, opts.all, opts.limit)?;
        let list = self.listed_containers();
        let read = started.elapsed();
        let ancestors = if filter.ancestors.is_empty() {
            None
        } else {
            Some(self.ancestor_ids(&filter.ancestors).await)
        };
        filter.resolve(&list, ancestors)?;
        let chosen = filter.select(&list);
        let sizes = if opts.size {
            Some(self.sizes(&chosen).await?)
        } else {
            None
        };
        let now = crate::util::time::now_nanos();
        let out: Vec<ContainerSummary> = chosen
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut s = summary(c, now);
                if let Some(sizes) = &sizes {
                    (s.size_rw, s.size_root_fs) = (Some(sizes[i].0), Some(sizes[i].1));
                }
                s
            })
            .collect();
        tracing::debug!(
            listed = list.len(),
            shown = out.len(),
            read_micros = read.as_micros() as u64,
            micros = started.elapsed().as_micros() as u64,
            "containers listed"
        );
        Ok(out)
    }

    /// Every container as lists see it, newest first, from the in-memory view (a damaged
    /// record is not in it: see [`super::view::View::load`]).
    fn listed_containers(&self) -> Vec<Arc<Listed>> {
        self.view().snapshot()
    }

    /// The image IDs `ancestor` values stand for. As dockerd, a value naming no image is
    /// skipped (with a warning), so that only the others count; none at all matches nothing.
    /// Descendants would join through parent links, which only build and commit make (Berth
    /// has neither yet: loaded images have no parent).
    async fn ancestor_ids(&self, values: &[String]) -> HashSet<String> {
        let mut ids = HashSet::new();
        for v in values {
            match self.images().resolve(v).await {
                Ok(r) => {
                    ids.insert(r.id);
                }
                Err(e) => {
                    tracing::warn!(ancestor = %v, error = ?e, "ancestor filter names no image")
                }
            }
        }
        ids
    }

    /// (SizeRw, SizeRootFs) of each container: its writable layer's files, and those plus its
    /// image layers'. Walked off the async runtime.
    async fn sizes(&self, chosen: &[&Listed]) -> Result<Vec<(i64, i64)>> {
        let layer_sizes: HashMap<String, i64> = self
            .store()
            .layers()
            .await?
            .into_iter()
            .map(|l| (l.diff_id, l.size))
            .collect();
        let jobs: Vec<(String, PathBuf, String)> = chosen
            .iter()
            .map(|c| {
                let upper = self.container_paths(&c.id).rw.join("diff");
                (c.id.clone(), upper, c.layers_json.clone())
            })
            .collect();
        tokio::task::spawn_blocking(move || {
            jobs.into_iter()
                .map(|(id, upper, layers)| {
                    let rw = dir_size(&upper).map_err(|e| {
                        Error::internal(format!(
                            "size of container {id}'s writable layer {}: {e}",
                            upper.display()
                        ))
                    })?;
                    let layers: Vec<String> = serde_json::from_str(&layers).map_err(|e| {
                        Error::internal(format!("container {id} has a damaged layer list: {e}"))
                    })?;
                    let image: i64 = layers.iter().filter_map(|d| layer_sizes.get(d)).sum();
                    Ok((rw, rw + image))
                })
                .collect()
        })
        .await
        .map_err(|e| Error::internal(format!("sizing containers: {e}")))?
    }

    pub async fn container_counts(&self) -> Result<Counts> {
        let mut c = Counts {
            total: 0,
            running: 0,
            paused: 0,
            stopped: 0,
        };
        for row in self.listed_containers() {
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

fn summary(c: &Listed, now: i64) -> ContainerSummary {
    let config = &c.config;
    let command = config
        .entrypoint
        .iter()
        .flatten()
        .chain(config.cmd.iter().flatten())
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    ContainerSummary {
        id: Some(c.id.clone()),
        names: Some(vec![c.name.clone()]),
        image: Some(c.image_ref.clone()),
        image_id: Some(c.image_id.clone()),
        command: Some(command),
        created: Some(c.created_at / 1_000_000_000),
        ports: Some(vec![]),
        labels: Some(config.labels.clone().unwrap_or_default()),
        state: Some(summary_state(c.state.status)),
        status: Some(c.state.human(now)),
        host_config: Some(ContainerSummaryHostConfig {
            network_mode: Some(
                c.host
                    .network_mode
                    .clone()
                    .unwrap_or_else(|| "bridge".into()),
            ),
            ..Default::default()
        }),
        network_settings: Some(ContainerSummaryNetworkSettings {
            networks: Some(Default::default()),
        }),
        mounts: Some(vec![]),
        ..Default::default()
    }
}

/// dockerd's `directory.Size`: the bytes of every non-directory entry, hard links counted once.
/// A directory that does not exist (a container never started) is 0; entries that vanish while
/// walked (the container writing) are skipped.
fn dir_size(root: &Path) -> std::io::Result<i64> {
    use std::os::unix::fs::MetadataExt;
    let mut seen = HashSet::new();
    let mut total: i64 = 0;
    let mut stack = vec![root.to_path_buf()];
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.len() > 0 && seen.insert((meta.dev(), meta.ino())) {
                total = total.saturating_add(i64::try_from(meta.len()).unwrap_or(i64::MAX));
            }
        }
    }
    Ok(total)
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

#[cfg(test)]
mod tests {
    use super::dir_size;

    #[test]
    fn sizes_count_files_once_and_skip_directories() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("diff");
        assert_eq!(dir_size(&root).unwrap(), 0, "a never-started container");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), vec![0u8; 1000]).unwrap();
        std::fs::write(root.join("g"), b"12345").unwrap();
        std::fs::hard_link(root.join("g"), root.join("a/h")).unwrap();
        std::os::unix::fs::symlink("g", root.join("l")).unwrap();
        // 1000 + 5 (once for both links) + 1 (the symlink's target name).
        assert_eq!(dir_size(&root).unwrap(), 1006);
    }
}
