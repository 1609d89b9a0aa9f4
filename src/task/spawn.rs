//! Launching a shim: run `berth-shim start ...`, which prints one report line and exits once the
//! container is created (or creating it failed). The shim's server lives on, detached.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::TaskConfig;
use super::error::TaskError;
use crate::shim::proto::{
    self, ErrorKind, LaunchArgs, PROTO_LEGACY, PROTO_VERSION, ProtoVersion, StartReport,
};

/// The shim bounds `runtime create` at 60 s; this leaves it room to report.
const CREATE_BOUND: Duration = Duration::from_secs(75);

pub(super) struct Ready {
    pub pid: i32,
    pub shim_pid: i32,
    pub version: ProtoVersion,
}

pub(super) async fn start_shim(shim: &Path, cfg: &TaskConfig) -> Result<Ready, TaskError> {
    let args = LaunchArgs {
        id: cfg.id.clone(),
        bundle: cfg.bundle.clone(),
        state_dir: cfg.state_dir.clone(),
        runtime: cfg.runtime.clone(),
        runtime_root: cfg.runtime_root.clone(),
        runtime_args: cfg.runtime_args.clone(),
        log: cfg.log_path.clone(),
        log_max_size: cfg.log_max_size,
        log_max_file: cfg.log_max_files.max(1),
        tty: cfg.tty,
        stdin: cfg.stdin,
    };
    let child = tokio::process::Command::new(shim)
        .arg("start")
        .args(args.to_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // On timeout the launcher dies with the future; the server is handled below.
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| TaskError::Spawn {
            binary: shim.to_path_buf(),
            source,
        })?;
    let out = match tokio::time::timeout(CREATE_BOUND, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Err(TaskError::Shim(format!(
                "waiting for the shim launcher: {e}"
            )));
        }
        Err(_) => {
            kill_server(&cfg.state_dir).await;
            return Err(TaskError::Timeout {
                op: "create",
                after: CREATE_BOUND,
            });
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<StartReport>(l.trim()).ok());
    match report {
        Some(StartReport::Ready {
            pid,
            shim_pid,
            version,
            ..
        }) => {
            // An older shim binary reports no version: it is driven as protocol 0.
            let version = version.unwrap_or(PROTO_LEGACY);
            if version != PROTO_LEGACY && !PROTO_VERSION.speaks(version) {
                // A shim we cannot talk to must not live on holding a container.
                kill_server(&cfg.state_dir).await;
                return Err(TaskError::version(version));
            }
            Ok(Ready {
                pid,
                shim_pid,
                version,
            })
        }
        Some(StartReport::Failed { kind, message }) => Err(match kind {
            ErrorKind::Runtime => TaskError::runtime(message),
            ErrorKind::Timeout => TaskError::Timeout {
                op: "create",
                after: Duration::from_secs(60),
            },
            _ => TaskError::Shim(message),
        }),
        None => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            Err(TaskError::Shim(format!(
                "shim launcher exited with {} and no report: {}",
                out.status,
                stderr.trim()
            )))
        }
    }
}

/// A shim that overran its own create bound is stuck; it must not live on unseen.
async fn kill_server(state_dir: &Path) {
    let pid = tokio::fs::read_to_string(state_dir.join(proto::PID_FILE))
        .await
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok());
    if let Some(pid) = pid.filter(|p| *p > 1) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
