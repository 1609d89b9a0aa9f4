//! The daemon side of the shim protocol (containerd's role): starts a `berth-shim` per
//! container, reconnects to running ones after a restart, and calls them over their sockets.
//! Every call is bounded, except `wait` and attach streams, which last as long as the task and
//! end when the shim closes them (or dies).
//!
//! A task is its init plus any number of exec processes (`exec_*`). The shim's protocol version
//! is learnt when the task is created or reconnected: a shim started by a daemon of the previous
//! protocol (0, without a handshake) is still driven for the init's verbs; one of a major
//! version this daemon does not speak is refused with both versions named.

mod client;
mod error;
pub mod fake;
mod output;
mod service;
mod spawn;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixStream;

use self::client::Hello;
pub use self::error::{RuntimeCause, TaskError};
pub use self::output::read_output;
pub use self::service::{AttachIo, AttachStream, TaskHandle, TaskRef, TaskService};
use crate::shim::proto::{self, PROTO_LEGACY, PROTO_VERSION, ProcessOp, Request, Response};
pub use crate::shim::proto::{ExitStatus, ProtoVersion, Status as TaskStatus, TaskState};

/// Bound on an ordinary control call.
const CONTROL_BOUND: Duration = Duration::from_secs(10);
/// The shim's own bound on one runtime call, reported when the runtime overran it.
const RUNTIME_BOUND: Duration = Duration::from_secs(8);
/// Delete may wait for a created init to die and its output to drain before the runtime call.
const DELETE_BOUND: Duration = Duration::from_secs(20);

/// What a shim needs to create a container's task.
#[derive(Debug, Clone)]
pub struct TaskConfig {
    pub id: String,
    /// OCI bundle: `config.json` and the rootfs it names.
    pub bundle: PathBuf,
    /// The shim's own directory: its socket, pid file and `exit.json`.
    pub state_dir: PathBuf,
    /// runc-compatible runtime binary and the `--root` it keeps state in.
    pub runtime: PathBuf,
    pub runtime_root: PathBuf,
    /// Extra global arguments for the runtime (daemon.json `runtimeArgs`).
    pub runtime_args: Vec<String>,
    pub tty: bool,
    pub stdin: bool,
    /// Docker json-file log the shim writes; rotation as `--log-opt max-size/max-file`.
    pub log_path: PathBuf,
    pub log_max_size: Option<u64>,
    pub log_max_files: u32,
}

/// An exec process to add to a running task (`docker exec`'s process, as OCI describes it).
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// Names the process in later calls: `[A-Za-z0-9_.-]`, at most 64, unique in the task.
    pub exec_id: String,
    /// Args, env, cwd, user, terminal, capabilities...; the runtime's `exec --process`.
    pub process: oci_spec::runtime::Process,
    /// A stdin pipe (else /dev/null).
    pub stdin: bool,
    /// Keep these streams for attachers (else they are discarded).
    pub stdout: bool,
    pub stderr: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// Starts and finds shims.
pub struct Tasks {
    shim: PathBuf,
}

impl Tasks {
    pub fn new(shim_binary: PathBuf) -> Tasks {
        Tasks { shim: shim_binary }
    }

    /// Spawns the shim for `cfg` (which runs `<runtime> --root <runtime_root> create --bundle
    /// ... <id>`); returns once the container is created (init pid known), or the runtime's
    /// error message.
    pub async fn create(&self, cfg: &TaskConfig) -> Result<Task, TaskError> {
        let ready = spawn::start_shim(&self.shim, cfg).await?;
        Ok(Task::from_parts(
            cfg.id.clone(),
            ready.pid,
            ready.shim_pid,
            ready.version,
            &cfg.state_dir,
        ))
    }

    /// Reconnects to a running shim (after a daemon restart) through its socket in `state_dir`.
    pub async fn connect(&self, state_dir: &Path) -> Result<Task, TaskError> {
        let socket = state_dir.join(proto::SOCKET_NAME);
        if !tokio::fs::try_exists(&socket).await.unwrap_or(false) {
            return Err(TaskError::NotFound);
        }
        let version = client::handshake(&socket, CONTROL_BOUND).await?;
        let hello = Hello::for_version(version);
        match client::call(&socket, "state", &Request::State, CONTROL_BOUND, hello).await? {
            Response::State(st) => {
                let shim_pid = tokio::fs::read_to_string(state_dir.join(proto::PID_FILE))
                    .await
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(0);
                Ok(Task::from_parts(
                    st.id, st.pid, shim_pid, version, state_dir,
                ))
            }
            other => Err(client::unexpected("state", other)),
        }
    }

    /// The recorded exit of a task whose shim is gone (reads `state_dir/exit.json`).
    pub fn exit_status(state_dir: &Path) -> Option<ExitStatus> {
        let bytes = std::fs::read(state_dir.join(proto::EXIT_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A handle on one shim; cheap to clone, holds no connection between calls.
#[derive(Clone)]
pub struct Task {
    inner: Arc<Inner>,
}

struct Inner {
    id: String,
    pid: i32,
    shim_pid: i32,
    /// The shim's protocol version ([`PROTO_LEGACY`] for a shim without the handshake).
    version: ProtoVersion,
    state_dir: PathBuf,
    socket: PathBuf,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.inner.id)
            .field("pid", &self.inner.pid)
            .field("state_dir", &self.inner.state_dir)
            .finish()
    }
}

impl Task {
    fn from_parts(
        id: String,
        pid: i32,
        shim_pid: i32,
        version: ProtoVersion,
        state_dir: &Path,
    ) -> Task {
        Task {
            inner: Arc::new(Inner {
                id,
                pid,
                shim_pid,
                version,
                state_dir: state_dir.to_path_buf(),
                socket: state_dir.join(proto::SOCKET_NAME),
            }),
        }
    }

    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The container's init pid (on the host).
    pub fn pid(&self) -> i32 {
        self.inner.pid
    }

    /// The shim server's pid (0 if unknown).
    pub fn shim_pid(&self) -> i32 {
        self.inner.shim_pid
    }

    pub fn state_dir(&self) -> &Path {
        &self.inner.state_dir
    }

    /// The shim's protocol version (0.0: a shim from before the handshake).
    pub fn proto_version(&self) -> ProtoVersion {
        self.inner.version
    }

    fn hello(&self) -> Hello {
        Hello::for_version(self.inner.version)
    }

    async fn call(&self, op: &'static str, req: Request) -> Result<Response, TaskError> {
        self.call_within(op, req, CONTROL_BOUND).await
    }

    async fn call_within(
        &self,
        op: &'static str,
        req: Request,
        bound: Duration,
    ) -> Result<Response, TaskError> {
        client::call(&self.inner.socket, op, &req, bound, self.hello()).await
    }

    async fn call_ok(&self, op: &'static str, req: Request) -> Result<(), TaskError> {
        match self.call(op, req).await? {
            Response::Ok => Ok(()),
            other => Err(client::unexpected(op, other)),
        }
    }

    /// Starts the created container; returns its pid.
    pub async fn start(&self) -> Result<i32, TaskError> {
        match self.call("start", Request::Start).await? {
            Response::Started { pid } => Ok(pid),
            other => Err(client::unexpected("start", other)),
        }
    }

    pub async fn kill(&self, signal: i32, all: bool) -> Result<(), TaskError> {
        self.call_ok("kill", Request::Kill { signal, all }).await
    }

    /// Long poll: returns at exit, at once if it already exited. The exit is in `exit.json`
    /// before this returns. Unbounded by design; ends with an error if the shim dies.
    pub async fn wait(&self) -> Result<ExitStatus, TaskError> {
        let socket = &self.inner.socket;
        let opened =
            client::open(socket, "wait", &Request::Wait, CONTROL_BOUND, self.hello()).await;
        let s = match opened {
            Ok(s) => s,
            Err(e) if e.is_gone() => {
                // A shim that finished and was deleted left its record behind.
                let path = self.inner.state_dir.join(proto::EXIT_FILE);
                return match tokio::fs::read(&path).await {
                    Ok(b) => serde_json::from_slice(&b).map_err(|_| e),
                    Err(_) => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        self.wait_reply(s).await
    }

    async fn wait_reply(&self, mut s: UnixStream) -> Result<ExitStatus, TaskError> {
        match client::recv(&mut s, &self.inner.socket).await? {
            Response::Exited(st) => Ok(st),
            Response::Error { kind, message } => Err(TaskError::from_reply(kind, message, "wait")),
            other => Err(client::unexpected("wait", other)),
        }
    }

    /// Status (created|running|paused|stopped), pid, and the exit once recorded.
    pub async fn state(&self) -> Result<TaskState, TaskError> {
        match self.call("state", Request::State).await? {
            Response::State(st) => Ok(st),
            other => Err(client::unexpected("state", other)),
        }
    }

    /// Runtime delete; the shim then exits and removes its socket. Refused while running.
    pub async fn delete(&self) -> Result<(), TaskError> {
        match self
            .call_within("delete", Request::Delete, DELETE_BOUND)
            .await?
        {
            Response::Ok => Ok(()),
            other => Err(client::unexpected("delete", other)),
        }
    }

    /// Opens an attach stream: stdcopy frames from the shim (stream 1 only with a tty), raw
    /// stdin bytes to it. A half-close of the returned stream does not close the container's
    /// stdin (see [`Task::close_stdin`]). The shim ends the stream after the exit is recorded.
    pub async fn attach(&self, opts: AttachOptions) -> Result<UnixStream, TaskError> {
        let req = Request::Attach {
            stdin: opts.stdin,
            stdout: opts.stdout,
            stderr: opts.stderr,
        };
        self.open_attach(req).await
    }

    async fn open_attach(&self, req: Request) -> Result<UnixStream, TaskError> {
        let socket = &self.inner.socket;
        let fut = async {
            let mut s = client::open(socket, "attach", &req, CONTROL_BOUND, self.hello()).await?;
            let reply = client::recv(&mut s, socket).await?;
            Ok::<_, TaskError>((s, reply))
        };
        let (s, reply) = tokio::time::timeout(CONTROL_BOUND, fut)
            .await
            .map_err(|_| TaskError::Timeout {
                op: "attach",
                after: CONTROL_BOUND,
            })??;
        match reply {
            Response::Attached => Ok(s),
            Response::Error { kind, message } => {
                Err(TaskError::from_reply(kind, message, "attach"))
            }
            other => Err(client::unexpected("attach", other)),
        }
    }

    pub async fn resize(&self, width: u16, height: u16) -> Result<(), TaskError> {
        self.call_ok("resize", Request::ResizePty { width, height })
            .await
    }

    /// Closes the container's stdin once what attached clients sent has been written.
    pub async fn close_stdin(&self) -> Result<(), TaskError> {
        self.call_ok("close_stdin", Request::CloseStdin).await
    }

    pub async fn pause(&self) -> Result<(), TaskError> {
        self.call_ok("pause", Request::Pause).await
    }

    pub async fn resume(&self) -> Result<(), TaskError> {
        self.call_ok("resume", Request::Resume).await
    }

    /// Host pids of the container's processes (the runtime's `ps --format json`).
    pub async fn pids(&self) -> Result<Vec<i32>, TaskError> {
        match self.call("pids", Request::Pids).await? {
            Response::Pids(p) => Ok(p),
            other => Err(client::unexpected("pids", other)),
        }
    }

    /// The runtime's `events --stats` JSON.
    pub async fn stats(&self) -> Result<serde_json::Value, TaskError> {
        match self.call("stats", Request::Stats).await? {
            Response::Stats(v) => Ok(v),
            other => Err(client::unexpected("stats", other)),
        }
    }

    /// Ends a shim whose container has exited, without a runtime delete.
    pub async fn shutdown(&self) -> Result<(), TaskError> {
        self.call_ok("shutdown", Request::Shutdown).await
    }

    /// Exec verbs need a shim with the process table.
    fn needs_exec(&self, op: &'static str) -> Result<(), TaskError> {
        if self.inner.version == PROTO_LEGACY {
            return Err(TaskError::Unsupported {
                op,
                needs: PROTO_VERSION,
                shim: self.inner.version,
            });
        }
        Ok(())
    }

    async fn exec_call(
        &self,
        op: &'static str,
        exec_id: &str,
        op_req: ProcessOp,
    ) -> Result<Response, TaskError> {
        self.needs_exec(op)?;
        let req = Request::Process {
            exec_id: Some(exec_id.to_string()),
            op: op_req,
        };
        self.call(op, req).await
    }

    async fn exec_ok(
        &self,
        op: &'static str,
        exec_id: &str,
        req: ProcessOp,
    ) -> Result<(), TaskError> {
        match self.exec_call(op, exec_id, req).await? {
            Response::Ok => Ok(()),
            other => Err(client::unexpected(op, other)),
        }
    }

    /// Registers an exec process in the running task; nothing runs until [`Task::exec_start`].
    /// Attach to it first (as `docker exec` does) to see all of its output.
    pub async fn exec_create(&self, cfg: &ExecConfig) -> Result<(), TaskError> {
        self.needs_exec("exec_create")?;
        let process = serde_json::to_value(&cfg.process)
            .map_err(|e| TaskError::Shim(format!("encoding the exec process: {e}")))?;
        let req = Request::ExecCreate {
            exec_id: cfg.exec_id.clone(),
            process,
            stdin: cfg.stdin,
            stdout: cfg.stdout,
            stderr: cfg.stderr,
        };
        match self.call("exec_create", req).await? {
            Response::Ok => Ok(()),
            other => Err(client::unexpected("exec_create", other)),
        }
    }

    /// Starts an exec process (the runtime's `exec --detach`); returns its host pid.
    pub async fn exec_start(&self, exec_id: &str) -> Result<i32, TaskError> {
        match self
            .exec_call("exec_start", exec_id, ProcessOp::Start)
            .await?
        {
            Response::Started { pid } => Ok(pid),
            other => Err(client::unexpected("exec_start", other)),
        }
    }

    /// Signals an exec process (not the container).
    pub async fn exec_kill(&self, exec_id: &str, signal: i32) -> Result<(), TaskError> {
        let op = ProcessOp::Kill { signal, all: false };
        self.exec_ok("exec_kill", exec_id, op).await
    }

    /// Long poll for an exec's exit; unbounded as [`Task::wait`].
    pub async fn exec_wait(&self, exec_id: &str) -> Result<ExitStatus, TaskError> {
        self.needs_exec("exec_wait")?;
        let req = Request::Process {
            exec_id: Some(exec_id.to_string()),
            op: ProcessOp::Wait,
        };
        let s = client::open(
            &self.inner.socket,
            "exec_wait",
            &req,
            CONTROL_BOUND,
            self.hello(),
        )
        .await?;
        self.wait_reply(s).await
    }

    /// An attach stream to an exec process, as [`Task::attach`] is to the init. Output from
    /// before the first attach (bounded) is replayed to the first attacher.
    pub async fn exec_attach(
        &self,
        exec_id: &str,
        opts: AttachOptions,
    ) -> Result<UnixStream, TaskError> {
        self.needs_exec("exec_attach")?;
        self.open_attach(Request::Process {
            exec_id: Some(exec_id.to_string()),
            op: ProcessOp::Attach {
                stdin: opts.stdin,
                stdout: opts.stdout,
                stderr: opts.stderr,
            },
        })
        .await
    }

    pub async fn exec_resize(
        &self,
        exec_id: &str,
        width: u16,
        height: u16,
    ) -> Result<(), TaskError> {
        let op = ProcessOp::ResizePty { width, height };
        self.exec_ok("exec_resize", exec_id, op).await
    }

    /// Closes an exec's stdin once what attached clients sent has been written.
    pub async fn exec_close_stdin(&self, exec_id: &str) -> Result<(), TaskError> {
        self.exec_ok("exec_close_stdin", exec_id, ProcessOp::CloseStdin)
            .await
    }

    /// An exec's status, pid and exit (its `id` is the exec id).
    pub async fn exec_state(&self, exec_id: &str) -> Result<TaskState, TaskError> {
        match self
            .exec_call("exec_state", exec_id, ProcessOp::State)
            .await?
        {
            Response::State(st) => Ok(st),
            other => Err(client::unexpected("exec_state", other)),
        }
    }

    /// Drops the record of an exec that has exited (or never started).
    pub async fn exec_delete(&self, exec_id: &str) -> Result<(), TaskError> {
        self.exec_ok("exec_delete", exec_id, ProcessOp::Delete)
            .await
    }
}
