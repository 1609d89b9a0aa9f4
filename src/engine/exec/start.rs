//! `POST /exec/{id}/start`: runs a created exec in its container (the shim's `ExecCreate`,
//! attach, then the runtime's `exec`), detached or with its streams. The refusals (unknown,
//! already started, container gone) come first, before the API hijacks the connection; a
//! runtime failure comes after, as dockerd writes it into the stream and records 126/127.

use std::time::Duration;

use tokio::sync::oneshot;

use super::{ExecPhase, ExecRecord, StartRefusal};
use crate::engine::container::attach::{AttachSession, ExecStreams};
use crate::engine::container::{Container, Status, detach_keys};
use crate::engine::{Engine, Error, Result};
use crate::task::{AttachOptions, ExecConfig, TaskRef};

/// How long the end of an exec's stream waits for its exit to be recorded: a process that
/// closed its output and runs on does not hold the client forever.
const SETTLE_BOUND: Duration = Duration::from_secs(5);

/// An exec that passed its checks, ready to run.
pub struct PreparedExec {
    engine: Engine,
    record: ExecRecord,
    container: Container,
    task: TaskRef,
}

impl Engine {
    pub async fn prepare_exec_start(&self, id: &str) -> Result<PreparedExec> {
        let record = self.execs().begin_start(id).map_err(|r| match r {
            StartRefusal::NotFound => Error::not_found(format!("No such exec instance: {id}")),
            StartRefusal::Running => {
                Error::conflict(format!("exec command {id} is already running"))
            }
            StartRefusal::Ran => Error::conflict(format!("exec command {id} has already run")),
        })?;
        let refuse = |e: Error| {
            self.execs()
                .set_phase(id, ExecPhase::Exited { pid: 0, code: 126 });
            e
        };
        let container = match self.container_by_id(&record.container_id).await {
            Ok(Some(c)) => c,
            Ok(None) => return Err(refuse(Error::no_such_container(&record.container_id))),
            Err(e) => return Err(refuse(e)),
        };
        let task = match (container.state.status, self.live().task(&container.id)) {
            (Status::Paused, _) => {
                return Err(refuse(Error::conflict(format!(
                    "Container {} is paused, unpause the container before exec",
                    container.id
                ))));
            }
            (Status::Running, Some(task)) => task,
            _ => {
                return Err(refuse(Error::conflict(format!(
                    "container {} is not running",
                    container.id
                ))));
            }
        };
        Ok(PreparedExec {
            engine: self.clone(),
            record,
            container,
            task,
        })
    }
}

impl PreparedExec {
    pub fn tty(&self) -> bool {
        self.record.tty
    }

    /// The start's terminal size (`ExecStartConfig.ConsoleSize`), which wins over the create's:
    /// dockerd resizes to it once started, here the terminal is made with it.
    pub fn set_console_size(&mut self, given: Option<&[usize]>) -> Result<()> {
        if let Some(size) = super::console_size(given)? {
            self.record.console_size = Some(size);
        }
        Ok(())
    }

    /// Runs it with its streams attached: the session ends when its output does, once the
    /// exit is recorded.
    pub async fn run_attached(self) -> Result<AttachSession> {
        let opts = AttachOptions {
            stdin: self.record.open_stdin,
            stdout: self.record.open_stdout,
            stderr: self.record.open_stderr,
        };
        let detach_keys = match self.record.detach_keys.as_str() {
            "" => detach_keys::DEFAULT_KEYS.to_vec(),
            keys => detach_keys::parse(keys).map_err(Error::invalid)?,
        };
        self.create_in_shim().await?;
        let stream = match self.task.exec_attach(&self.record.id, opts).await {
            Ok(s) => s,
            Err(e) => return Err(self.failed(e.to_string()).await),
        };
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let exited = self.engine.execs().exited(&self.record.id);
        let settled = Box::pin(async move {
            if let Some(mut exited) = exited {
                let _ = tokio::time::timeout(SETTLE_BOUND, exited.wait_for(|e| *e)).await;
            }
            drop(done_tx);
        });
        let streams = ExecStreams {
            container_id: self.container.id.clone(),
            exec_id: self.record.id.clone(),
            tty: self.record.tty,
            stdin: self.record.open_stdin,
            detach_keys,
            stream,
            settled,
        };
        let session = AttachSession::exec(&self.engine, streams);
        self.launch(Some(done_rx)).await?;
        Ok(session)
    }

    /// Runs it with no client attached (`docker exec -d`).
    pub async fn run_detached(self) -> Result<()> {
        self.create_in_shim().await?;
        self.launch(None).await
    }

    async fn create_in_shim(&self) -> Result<()> {
        let process = match self.process().await {
            Ok(p) => p,
            Err(e) => return Err(self.failed(e.to_string()).await),
        };
        let cfg = ExecConfig {
            exec_id: self.record.id.clone(),
            process,
            stdin: self.record.open_stdin,
            stdout: self.record.open_stdout,
            stderr: self.record.open_stderr,
        };
        if let Err(e) = self.task.exec_create(&cfg).await {
            return Err(self.failed(e.to_string()).await);
        }
        Ok(())
    }

    /// The runtime's exec, and the watch of its exit. `session_done` resolves when the
    /// attached client has had all of the output: the shim's record goes only then.
    async fn launch(self, session_done: Option<oneshot::Receiver<()>>) -> Result<()> {
        let (engine, record) = (&self.engine, &self.record);
        let action = format!("exec_start: {}", record.command_line());
        engine.events().publish(
            self.container
                .event(&action)
                .with("execID", record.id.clone()),
        );
        let pid = match self.task.exec_start(&record.id).await {
            Ok(pid) => pid,
            Err(e) => {
                let message = e.to_string();
                let _ = self.task.exec_delete(&record.id).await;
                return Err(self.failed(message).await);
            }
        };
        engine
            .execs()
            .set_phase(&record.id, ExecPhase::Running { pid });
        let (engine, container, task, id) = (
            engine.clone(),
            self.container.clone(),
            self.task.clone(),
            record.id.clone(),
        );
        tokio::spawn(async move {
            // Unbounded on purpose: an exec may run as long as its container does; the shim
            // answers when it exits, or the wait fails when the container (and so it) is gone.
            let code = match task.exec_wait(&id).await {
                Ok(status) => i64::from(status.code),
                Err(e) => {
                    tracing::debug!(exec = %id, error = %e, "exec wait ended without an exit");
                    137
                }
            };
            engine
                .execs()
                .set_phase(&id, ExecPhase::Exited { pid, code });
            engine.events().publish(
                container
                    .event("exec_die")
                    .with("execID", id.clone())
                    .with("exitCode", code.to_string()),
            );
            if let Some(done) = session_done {
                let _ = done.await;
            }
            if let Err(e) = task.exec_delete(&id).await {
                tracing::debug!(exec = %id, error = %e, "cannot drop the shim's exec record");
            }
        });
        Ok(())
    }

    /// The exec's process from the container's (its bundle's spec), off the async runtime.
    async fn process(&self) -> Result<oci_spec::runtime::Process> {
        let paths = self.engine.container_paths(&self.container.id);
        let r = self.record.clone();
        let config = self.container.config.clone();
        let group_add = self.container.host.group_add.clone().unwrap_or_default();
        tokio::task::spawn_blocking(move || {
            let spec = oci_spec::runtime::Spec::load(paths.bundle.join("config.json"))
                .map_err(|e| Error::internal(format!("cannot read the container's spec: {e}")))?;
            let base = spec.process().clone().unwrap_or_default();
            let caps = crate::engine::system::daemon_caps();
            let req = crate::engine::spec::ExecProcess {
                cmd: &r.cmd,
                config_env: config.env.as_deref().unwrap_or_default(),
                exec_env: &r.env,
                hostname: config.hostname.as_deref().unwrap_or(""),
                tty: r.tty,
                console_size: r.console_size,
                user: &r.user,
                group_add: &group_add,
                working_dir: &r.working_dir,
                privileged: r.privileged,
                daemon_caps: &caps,
            };
            crate::engine::spec::exec_process(&base, &paths.rootfs, &req).map_err(Error::from)
        })
        .await
        .map_err(|e| Error::internal(e.to_string()))?
    }

    /// A start that failed in the runtime: dockerd's exit code from its message (127 for a
    /// command that is not there, else 126), and the message as the error.
    async fn failed(&self, message: String) -> Error {
        let code = if message.contains("executable file not found")
            || message.contains("no such file or directory")
        {
            127
        } else {
            126
        };
        self.engine
            .execs()
            .set_phase(&self.record.id, ExecPhase::Exited { pid: 0, code });
        Error::internal(format!("OCI runtime exec failed: {message}"))
    }
}
