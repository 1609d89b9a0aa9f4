//! The runtime's error, gathering each module's own. Messages that callers match on are runc's
//! words ("container does not exist", "container not running", ...).

use std::io;
use std::path::PathBuf;

use crate::runtime::capabilities::CapError;
use crate::runtime::cgroups::CgroupError;
use crate::runtime::cli::CliError;
use crate::runtime::container::ContainerError;
use crate::runtime::hooks::HookError;
use crate::runtime::log::LogError;
use crate::runtime::namespaces::NamespaceError;
use crate::runtime::process::launch::LaunchError;
use crate::runtime::process::sealed_exe::SealError;
use crate::runtime::process::setup::PlanError;
use crate::runtime::spec::SpecError;
use crate::runtime::sysctl::SysctlError;
use crate::runtime::tty::TtyError;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Cli(#[from] CliError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    #[error(transparent)]
    Caps(#[from] CapError),
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
    #[error("unable to start container process: {0}")]
    Launch(#[from] LaunchError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error(transparent)]
    Tty(#[from] TtyError),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{what}: {source}")]
    Sys { what: String, source: io::Error },
    #[error("container not running")]
    NotRunning,
    #[error("container not paused")]
    NotPaused,
    #[error("{0}")]
    CannotStart(&'static str),
    #[error("cannot delete container {id} that is not stopped: {status}")]
    NotStopped { id: String, status: &'static str },
    #[error("{0}")]
    CannotExec(&'static str),
    #[error("container {id} has no cgroup of its own (linux.cgroupsPath was not set)")]
    NoCgroup { id: String },
    #[error("container with id {0} is not running")]
    EventsNotRunning(String),
    #[error(
        "the systemd cgroup driver is not supported: there is no systemd here; run without --systemd-cgroup (cgroupfs paths)"
    )]
    SystemdCgroup,
    #[error("{0}")]
    Console(&'static str),
    #[error("invalid --user {0:?}: expected uid[:gid] (numbers)")]
    BadUser(String),
    #[error("invalid resources document {path}: {source}")]
    Resources {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{0}")]
    Ps(String),
    #[error("File {0} exists. Remove it first")]
    SpecExists(PathBuf),
}

pub fn io_err(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> RuntimeError {
    let path = path.into();
    move |source| RuntimeError::Io {
        action,
        path,
        source,
    }
}
