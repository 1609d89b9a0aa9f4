//! Start-up: reconnect to the shims of containers that were running when the daemon stopped
//! (they kept running), record exits that happened meanwhile, and remove what no row owns.

use super::record::Container;
use super::state::Status;
use crate::engine::{Engine, Result};
use crate::task::ExitStatus;

impl Engine {
    pub(crate) async fn restore(&self) -> Result<()> {
        let rows = self.store().containers().await?;
        let known: std::collections::HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
        for row in rows {
            let mut row = match Container::from_row(row) {
                Ok(c) => c,
                Err(e) => {
                    // Left as it is, files and all: what it holds is unknown, and `docker rm`
                    // can still remove it.
                    tracing::error!(error = %e, "cannot restore a container");
                    continue;
                }
            };
            let paths = self.container_paths(&row.id);
            if row.state.status == Status::Removing {
                // A removal cut short by a crash, as dockerd: the container is dead, and
                // `docker rm` finishes the job.
                if let Err(e) = self
                    .transition(&mut row, |s| s.status = Status::Dead, None)
                    .await
                {
                    tracing::error!(container = %row.id, error = %e, "cannot mark a half-removed container dead");
                }
            }
            let state = row.state.clone();
            if !state.is_running() {
                // A start cut short by a crash may have left a shim, a mount or a namespace.
                if paths.bundle.exists() {
                    self.discard_task_files(&row.id).await;
                }
                // An --rm container whose removal the last run did not finish (a crash, a full
                // disk) goes now, in the background as dockerd does at restore.
                if row.host.auto_remove == Some(true) {
                    tracing::info!(container = %row.id, "removing an exited --rm container");
                    let engine = self.clone();
                    let id = row.id.clone();
                    tokio::spawn(async move { engine.auto_remove(&id).await });
                }
                continue;
            }
            match self.tasks().connect(&paths.bundle).await {
                Ok(task) => {
                    tracing::info!(container = %row.id, pid = task.pid(), "reattached to a running container");
                    self.live().set_task(&row.id, Some(task.clone()));
                    self.live().update(&row.id, |l| l.running = true);
                    self.spawn_monitor(row.id.clone(), task);
                }
                Err(e) => {
                    let exit = self.tasks().exit_status(&paths.bundle).unwrap_or_else(|| {
                        tracing::warn!(container = %row.id, error = %e, "shim gone without an exit record");
                        ExitStatus {
                            code: 255,
                            exited_at: crate::util::time::now_nanos(),
                            oom_killed: false,
                        }
                    });
                    tracing::info!(container = %row.id, code = exit.code, "container exited while the daemon was away");
                    self.live().update(&row.id, |l| l.running = true);
                    self.handle_exit(&row.id, None, exit).await;
                    if state.status == Status::Paused {
                        tracing::debug!(container = %row.id, "was paused");
                    }
                }
            }
        }
        self.remove_orphans(&known).await;
        Ok(())
    }

    /// Bundles and namespaces of containers the store does not know (a crash between removing a
    /// row and its files) are unmounted and deleted.
    async fn remove_orphans(&self, known: &std::collections::HashSet<String>) {
        let dir = self.config().exec_root.join("containers");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for e in entries.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            if known.contains(&id) {
                continue;
            }
            tracing::info!(container = %id, "removing the files of an unknown container");
            self.discard_task_files(&id).await;
        }
    }

    /// Kills a leftover shim's container, unmounts, and deletes the bundle directory.
    async fn discard_task_files(&self, id: &str) {
        let paths = self.container_paths(id);
        if let Ok(task) = self.tasks().connect(&paths.bundle).await {
            let _ = task.kill(libc::SIGKILL, true).await;
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task.wait()).await;
            let _ = task.delete().await;
        }
        self.release_resources(id, &paths).await;
        if let Err(e) = crate::util::fsutil::remove_all(&paths.bundle) {
            tracing::warn!(container = %id, error = %e, "cannot remove a leftover bundle");
        }
    }
}
