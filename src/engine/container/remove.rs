//! `docker rm`. The whole check-then-act runs under the container's operation lock, with the
//! removal marked first (dockerd's RemovalInProgress) so that no start slips in between: a
//! running container is killed (with `force`), its exit recorded, then it goes through
//! `removing` to its deletion, and `destroy` is published.

use std::time::Duration;

use super::record::Container;
use super::state::Status;
use crate::engine::{Engine, Error, Result};

/// How long a force-removed container may take to die.
const KILL_BOUND: Duration = Duration::from_secs(30);

/// Clears the removal mark unless the removal went through.
struct Removal<'a> {
    engine: &'a Engine,
    id: String,
    done: bool,
}

impl Drop for Removal<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.engine.live().end_removal(&self.id);
        }
    }
}

impl Engine {
    pub async fn remove_container(&self, input: &str, force: bool) -> Result<()> {
        let id = self.resolve_container(input).await?.id;
        let lock = self.live().op_lock(&id);
        let op = lock.lock().await;
        let row = self
            .store()
            .container(&id)
            .await?
            .ok_or_else(|| Error::no_such_container(input))?;
        let name = row.name.clone();
        // A damaged record can still be removed: its state is unknown, its task is not.
        let parsed = Container::from_row(row);
        let running = match &parsed {
            Ok(c) => c.state.is_running(),
            Err(_) => self.live().task(&id).is_some(),
        };
        if running && !force {
            let status = parsed
                .as_ref()
                .map_or("running", |c| c.state.status.as_str());
            return Err(Error::conflict(format!(
                "cannot remove container \"{name}\": container is {status}: stop the container before removing or force remove"
            )));
        }
        if !self.live().begin_removal(&id) {
            return Err(Error::conflict(format!(
                "removal of container {} is already in progress",
                name.trim_start_matches('/')
            )));
        }
        let mut removal = Removal {
            engine: self,
            id: id.clone(),
            done: false,
        };
        drop(op);
        if running {
            let mut lifecycle = self.live().subscribe(&id);
            if let Some(task) = self.live().task(&id) {
                let _ = task.kill(libc::SIGKILL, true).await;
            }
            // The exit monitor records the exit (it needs the lock we released).
            let down = tokio::time::timeout(KILL_BOUND, lifecycle.wait_for(|l| !l.running)).await;
            if down.is_err() {
                return Err(Error::internal(format!(
                    "cannot remove container \"{name}\": could not kill it"
                )));
            }
        }
        let _op = lock.lock().await;
        let mut c = match self.store().container(&id).await? {
            Some(row) => Container::from_row(row).ok(),
            None => return Err(Error::no_such_container(input)),
        };
        if let Some(c) = c.as_mut() {
            if c.state.is_running() {
                return Err(Error::conflict(format!(
                    "cannot remove container \"{name}\": it was started again"
                )));
            }
            let before = c.state.status;
            self.transition(c, |s| s.status = Status::Removing, None)
                .await?;
            if let Err(e) = self.delete_container(&id).await {
                // dockerd's ResetRemovalInProgress: it stays, as it was.
                let back = self.transition(c, |s| s.status = before, None).await;
                if let Err(b) = back {
                    tracing::error!(container = %id, error = %b, "cannot reset a failed removal");
                }
                return Err(e);
            }
        } else {
            self.delete_container(&id).await?;
        }
        removal.done = true;
        self.live().remove(&id);
        let destroy = match &c {
            Some(c) => c.event("destroy"),
            None => crate::engine::events::Event::new("container", "destroy", &id)
                .with("name", name.trim_start_matches('/')),
        };
        self.events().publish(destroy);
        Ok(())
    }

    /// Releases the container's mounts and namespace, deletes its row (and orphaned layers),
    /// then its files.
    async fn delete_container(&self, id: &str) -> Result<()> {
        let paths = self.container_paths(id);
        self.execs().drop_container(id);
        self.release_resources(id, &paths).await;
        self.images()
            .delete_container_record(id, || self.view().remove(id))
            .await?;
        let dirs = [paths.dir.clone(), paths.bundle.clone()];
        tokio::task::spawn_blocking(move || {
            for d in dirs {
                if let Err(e) = crate::util::fsutil::remove_all(&d) {
                    tracing::warn!(dir = %d.display(), error = %e, "cannot remove container files");
                }
            }
        })
        .await
        .map_err(|e| Error::internal(e.to_string()))
    }
}
