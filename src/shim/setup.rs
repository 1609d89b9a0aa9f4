//! Bringing a shim server up: subreaper, control socket, pid file, log, then `runtime create`
//! with the container's stdio. Whatever fails is reported to the launcher with its kind.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::jsonlog::{JsonLog, LogError};
use super::oci::{CallStdio, OciError, Runtime};
use super::oom::OomCounter;
use super::proto::{self, ErrorKind, LaunchArgs};
use super::reaper::Reaper;
use super::server::Server;
use super::stdio::{self, StdioError};
use crate::util::fsutil::replace_file;

/// `runtime create` may pull in hooks and mounts; the daemon waits a little longer than this.
pub const CREATE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("becoming a subreaper: {0}")]
    Reaper(#[source] io::Error),
    #[error("entering the state dir {path}: {source}")]
    StateDir { path: PathBuf, source: io::Error },
    #[error("control socket {path}: {source}")]
    Socket { path: PathBuf, source: io::Error },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Stdio(#[from] StdioError),
    #[error(transparent)]
    Runtime(#[from] OciError),
    #[error("reading the init pid from {path}: {detail}")]
    InitPid { path: PathBuf, detail: String },
}

impl SetupError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SetupError::Runtime(OciError::Failed(_)) => ErrorKind::Runtime,
            SetupError::Runtime(OciError::Timeout { .. }) => ErrorKind::Timeout,
            _ => ErrorKind::Internal,
        }
    }
}

/// Creates the container and returns the server that will hold it. The socket exists (and
/// accepts into its backlog) before the report goes out, so the daemon can connect at once.
pub fn create(args: LaunchArgs) -> Result<Server, SetupError> {
    let reaper = Reaper::new().map_err(SetupError::Reaper)?;
    let dir = args.state_dir.clone();
    std::env::set_current_dir(&dir).map_err(|source| SetupError::StateDir {
        path: dir.clone(),
        source,
    })?;
    let sock_path = dir.join(proto::SOCKET_NAME);
    let listener = bind(&sock_path)?;
    let pid_path = dir.join(proto::PID_FILE);
    replace_file(&pid_path, std::process::id().to_string().as_bytes()).map_err(|source| {
        SetupError::Write {
            path: pid_path.clone(),
            source,
        }
    })?;
    let result = create_container(&args, &dir);
    match result {
        Ok((ends, pid, rt)) => {
            let log = JsonLog::open(&args.log, args.log_max_size, args.log_max_file);
            let log = match log {
                Ok(log) => log,
                Err(e) => {
                    let _ = rt.call(
                        "delete",
                        &["--force", &args.id],
                        CallStdio::default(),
                        Duration::from_secs(10),
                    );
                    cleanup(&dir);
                    return Err(e.into());
                }
            };
            let oom = OomCounter::for_pid(pid);
            Ok(Server::new(args, rt, reaper, listener, ends, log, pid, oom))
        }
        Err(e) => {
            cleanup(&dir);
            Err(e)
        }
    }
}

fn create_container(
    args: &LaunchArgs,
    dir: &Path,
) -> Result<(stdio::ShimEnds, i32, Runtime), SetupError> {
    let rt = Runtime {
        binary: args.runtime.clone(),
        args: args.runtime_args.clone(),
        root: args.runtime_root.clone(),
        log: dir.join(proto::RUNTIME_LOG),
    };
    let pid_file = dir.join(proto::INIT_PID_FILE);
    let _ = std::fs::remove_file(&pid_file);
    let bundle = args.bundle.to_string_lossy().into_owned();
    let pid_arg = pid_file.to_string_lossy().into_owned();
    let mut cargs: Vec<String> = vec!["--bundle".into(), bundle, "--pid-file".into(), pid_arg];
    let console_path = dir.join(proto::CONSOLE_SOCKET);
    let (pending, container) = if args.tty {
        let listener = stdio::console_listener(&console_path)?;
        cargs.push("--console-socket".into());
        cargs.push(short_socket_path(&console_path));
        // The init gets the pty; the runtime's own streams are captured for its errors.
        (Pending::Console(listener), None)
    } else {
        let (shim, container) = stdio::pipes(args.stdin)?;
        (Pending::Pipes(shim), Some(container))
    };
    let call_stdio = match (container, &pending) {
        // The runtime's streams are the container's pipes: read on our ends while it runs.
        (Some(container), Pending::Pipes(shim)) => CallStdio {
            stdin: container.stdin,
            stdout: Some(container.stdout),
            stderr: Some(container.stderr),
            drain_stdout: shim.stdout.as_ref().map(|fd| fd.as_fd()),
            drain_stderr: shim.stderr.as_ref().map(|fd| fd.as_fd()),
        },
        _ => CallStdio::default(),
    };
    cargs.push(args.id.clone());
    let refs: Vec<&str> = cargs.iter().map(String::as_str).collect();
    let created = rt
        .call("create", &refs, call_stdio, CREATE_TIMEOUT)
        .map_err(SetupError::from)
        .and_then(|_| {
            let pid = read_pid(&pid_file)?;
            let ends = match pending {
                Pending::Pipes(ends) => ends,
                Pending::Console(listener) => stdio::ShimEnds {
                    tty: Some(stdio::receive_master(&listener, &console_path)?),
                    stdout: None,
                    stderr: None,
                    stdin: None,
                },
            };
            Ok((ends, pid))
        });
    let _ = std::fs::remove_file(&console_path);
    match created {
        Ok((ends, pid)) => Ok((ends, pid, rt)),
        Err(e) => {
            // A half-made container (state dir, cgroup) must not outlive a failed create.
            let _ = rt.call(
                "delete",
                &["--force", &args.id],
                CallStdio::default(),
                Duration::from_secs(10),
            );
            Err(e)
        }
    }
}

/// The shim's ends of the container's stdio before `create` ran.
enum Pending {
    Pipes(stdio::ShimEnds),
    /// The pty master arrives on this socket during `create`.
    Console(UnixListener),
}

fn read_pid(path: &Path) -> Result<i32, SetupError> {
    let text = std::fs::read_to_string(path).map_err(|e| SetupError::InitPid {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    text.trim().parse().map_err(|_| SetupError::InitPid {
        path: path.to_path_buf(),
        detail: format!("not a pid: {text:?}"),
    })
}

/// A path the runtime can connect to: the absolute one, or, past the 108-byte sun_path limit,
/// the same file through this process's cwd (the state dir), `/proc/<pid>/cwd/<name>`.
pub(super) fn short_socket_path(path: &Path) -> String {
    let full = path.to_string_lossy().into_owned();
    if full.len() < 100 {
        return full;
    }
    match path.file_name() {
        Some(name) => format!(
            "/proc/{}/cwd/{}",
            std::process::id(),
            name.to_string_lossy()
        ),
        None => full,
    }
}

/// Binds the control socket by its bare name in the current directory (the state dir), so a deep
/// state dir cannot hit the 108-byte sun_path limit.
fn bind(path: &Path) -> Result<UnixListener, SetupError> {
    let err = |source| SetupError::Socket {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let l = UnixListener::bind(proto::SOCKET_NAME).map_err(err)?;
    l.set_nonblocking(true).map_err(err)?;
    Ok(l)
}

/// Removes what this shim put in its state dir for clients (socket, pid file), keeping the
/// runtime log and the exit file for the daemon.
pub fn cleanup(dir: &Path) {
    for name in [proto::SOCKET_NAME, proto::PID_FILE, proto::CONSOLE_SOCKET] {
        let _ = std::fs::remove_file(dir.join(name));
    }
}
