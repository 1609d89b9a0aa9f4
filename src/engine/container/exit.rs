//! The exit monitor: one task per running container waits on its shim (the only exit path the
//! daemon trusts), records the exit, releases the container's resources, and honours --rm.

use std::time::Duration;

use super::state::Status;
use crate::engine::{Engine, ErrorKind};
use crate::task::{ExitStatus, TaskError, TaskRef};
use crate::util::retry::{Backoff, with_backoff};

impl Engine {
    pub(crate) fn spawn_monitor(&self, id: String, task: TaskRef) {
        let engine = self.clone();
        tokio::spawn(async move {
            let exit = engine.wait_for_exit(&id, &task).await;
            engine.handle_exit(&id, Some(task), exit).await;
        });
    }

    /// Waits for the task's exit. A shim that vanishes still left its exit in exit.json (it writes
    /// it before answering); if not even that, the container is recorded as dead with code 255.
    async fn wait_for_exit(&self, id: &str, task: &TaskRef) -> ExitStatus {
        let mut failures = 0;
        loop {
            match task.wait().await {
                Ok(exit) => return exit,
                Err(e) => {
                    let paths = self.container_paths(id);
                    if let Some(exit) = self.tasks().exit_status(&paths.bundle) {
                        return exit;
                    }
                    failures += 1;
                    if failures >= 3 || matches!(e, TaskError::NotFound) {
                        tracing::error!(container = %id, error = %e, "lost the container's shim");
                        return ExitStatus {
                            code: 255,
                            exited_at: crate::util::time::now_nanos(),
                            oom_killed: false,
                        };
                    }
                    // A transient error (the shim busy, a signal): retry shortly, bounded above.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Records an exit and cleans up. Serialized with start/stop/remove by the operation lock.
    pub(crate) async fn handle_exit(&self, id: &str, task: Option<TaskRef>, exit: ExitStatus) {
        let t0 = std::time::Instant::now();
        let lock = self.live().op_lock(id);
        let guard = lock.lock().await;
        let c = match self.container_by_id(id).await {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(container = %id, error = %e, "cannot read the container to record its exit");
                return;
            }
        };
        if exit.oom_killed {
            self.events().publish(c.event("oom"));
        }
        let run_secs = (exit.exited_at - c.state.started_at).max(0) / 1_000_000_000;
        let die = c
            .event("die")
            .with("exitCode", exit.code.to_string())
            .with("execDuration", run_secs.to_string());
        let paths = self.container_paths(id);
        // Recording the exit and tearing the container down are independent, so they run at
        // once. The teardown keeps dockerd's order: the runtime's delete (the shim runs it:
        // remaining processes, cgroups, poststop hooks, which may still look at the root
        // filesystem), then our own mounts.
        // Retried: a lost exit record would show a dead container as running.
        let transient = |e: &crate::engine::Error| e.kind == ErrorKind::Internal;
        let record = with_backoff("recording an exit", Backoff::default(), transient, || {
            let (mut c, die) = (c.clone(), die.clone());
            async move {
                self.record_transition(
                    &mut c,
                    |s| {
                        s.status = Status::Exited;
                        s.exit_code = i64::from(exit.code);
                        s.finished_at = exit.exited_at;
                        s.oom_killed = exit.oom_killed;
                        s.pid = 0;
                    },
                    Some(die),
                )
                .await
                .map(|()| c.state)
            }
        });
        let teardown = async {
            let deleted = match task {
                Some(task) => task.delete().await,
                None => Ok(()),
            };
            self.release_resources(id, &paths).await;
            deleted
        };
        let (recorded, deleted) = tokio::join!(record, teardown);
        if let Err(e) = deleted {
            tracing::warn!(container = %id, error = %e, "cannot delete the task");
        }
        match recorded {
            // The exit is in the store now; the bundle (spec, exit.json, runtime log) is not
            // needed. Then, with the container torn down, its watchers are told.
            Ok(exited) => {
                let bundle = paths.bundle.clone();
                let _ =
                    tokio::task::spawn_blocking(move || crate::util::fsutil::remove_all(&bundle))
                        .await;
                self.live().observe(id, &c.state, &exited);
            }
            // The bundle keeps exit.json, from which the next start records it.
            // Its watchers are told all the same: the process is gone.
            Err(e) => {
                tracing::error!(container = %id, error = %e, "cannot record the container's exit");
                let mut exited = c.state.clone();
                exited.status = Status::Exited;
                exited.exit_code = i64::from(exit.code);
                self.live().observe(id, &c.state, &exited);
            }
        }
        self.live().set_task(id, None);
        // Its execs died with it (dockerd's Cleanup unregisters them).
        self.execs().drop_container(id);
        // Read under the lock: a restart clears it only once its start (which needs the lock)
        // is done.
        let auto_remove = c.host.auto_remove == Some(true) && !self.live().manual_restart(id);
        drop(guard);
        tracing::debug!(container = %id, elapsed = ?t0.elapsed(), "exit recorded and resources released");
        if auto_remove {
            self.auto_remove(id).await;
        }
    }

    /// `--rm`: removes the exited container. A failure that may pass (a full disk, an I/O
    /// error) is retried with backoff; a container still left then is removed at the daemon's
    /// next start (restore), so the removal is never lost.
    pub(crate) async fn auto_remove(&self, id: &str) {
        // Gone already, or running again (started by someone): nothing to retry.
        let transient =
            |e: &crate::engine::Error| !matches!(e.kind, ErrorKind::NotFound | ErrorKind::Conflict);
        let removed = with_backoff("auto-removal", Backoff::default(), transient, || {
            self.remove_container(id, false)
        })
        .await;
        if let Err(e) = removed
            && transient(&e)
        {
            tracing::error!(container = %id, error = %e, "cannot auto-remove the container; the next start of the daemon will");
        }
    }
}
