//! `docker rm`.

use std::time::Duration;

use super::state::ContainerState;
use crate::engine::{Engine, Error, Result};

impl Engine {
    pub async fn remove_container(&self, input: &str, force: bool) -> Result<()> {
        let row = self.resolve_container(input).await?;
        let state = ContainerState::parse(&row.state);
        if state.is_running() {
            if !force {
                return Err(Error::conflict(format!(
                    "cannot remove container \"{}\": container is {}: stop the container before removing or force remove",
                    row.name,
                    state.status.as_str()
                )));
            }
            let mut lifecycle = self.live().subscribe(&row.id);
            if let Some(task) = self.live().task(&row.id) {
                let _ = task.kill(libc::SIGKILL, true).await;
            }
            let stopped =
                tokio::time::timeout(Duration::from_secs(30), lifecycle.wait_for(|l| !l.running))
                    .await;
            if stopped.is_err() {
                return Err(Error::internal(format!(
                    "cannot remove container \"{}\": could not kill it",
                    row.name
                )));
            }
        }
        let lock = self.live().op_lock(&row.id);
        let _op = lock.lock().await;
        let paths = self.container_paths(&row.id);
        self.release_resources(&row.id, &paths).await;
        self.images().delete_container_record(&row.id).await?;
        self.live().remove(&row.id);
        let dirs = [paths.dir.clone(), paths.bundle.clone()];
        tokio::task::spawn_blocking(move || {
            for d in dirs {
                if let Err(e) = crate::util::fsutil::remove_all(&d) {
                    tracing::warn!(dir = %d.display(), error = %e, "cannot remove container files");
                }
            }
        })
        .await
        .map_err(|e| Error::internal(e.to_string()))?;
        Ok(())
    }
}
