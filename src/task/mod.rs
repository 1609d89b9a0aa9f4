//! The daemon side of the shim protocol (containerd's role). STUB: the real implementation
//! replaces this file, keeping these signatures.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("shim error: {0}")]
    Shim(String),
    #[error("no such task")]
    NotFound,
}

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
    pub tty: bool,
    pub stdin: bool,
    /// Docker json-file log the shim writes; rotation as `--log-opt max-size/max-file`.
    pub log_path: PathBuf,
    pub log_max_size: Option<u64>,
    pub log_max_files: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExitStatus {
    /// 128+signal when killed by a signal.
    pub code: i32,
    /// Unix nanos.
    pub exited_at: i64,
    pub oom_killed: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

pub struct Tasks {
    _shim: PathBuf,
}

impl Tasks {
    pub fn new(shim_binary: PathBuf) -> Tasks {
        Tasks { _shim: shim_binary }
    }

    pub async fn create(&self, _cfg: &TaskConfig) -> Result<Task, TaskError> {
        Err(TaskError::Shim("not implemented".into()))
    }

    pub async fn connect(&self, _state_dir: &Path) -> Result<Task, TaskError> {
        Err(TaskError::NotFound)
    }

    pub fn exit_status(_state_dir: &Path) -> Option<ExitStatus> {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub status: String,
    pub pid: i32,
    pub exit: Option<ExitStatus>,
}

#[derive(Clone)]
pub struct Task;

fn unimplemented<T>() -> Result<T, TaskError> {
    Err(TaskError::Shim("not implemented".into()))
}

impl Task {
    pub fn id(&self) -> &str {
        ""
    }
    pub fn pid(&self) -> i32 {
        0
    }
    pub async fn start(&self) -> Result<i32, TaskError> {
        unimplemented()
    }
    pub async fn kill(&self, _signal: i32, _all: bool) -> Result<(), TaskError> {
        unimplemented()
    }
    pub async fn wait(&self) -> Result<ExitStatus, TaskError> {
        unimplemented()
    }
    pub async fn state(&self) -> Result<TaskState, TaskError> {
        unimplemented()
    }
    pub async fn delete(&self) -> Result<(), TaskError> {
        unimplemented()
    }
    pub async fn attach(&self, _opts: AttachOptions) -> Result<tokio::net::UnixStream, TaskError> {
        unimplemented()
    }
    pub async fn resize(&self, _w: u16, _h: u16) -> Result<(), TaskError> {
        unimplemented()
    }
    pub async fn close_stdin(&self) -> Result<(), TaskError> {
        unimplemented()
    }
    pub async fn pause(&self) -> Result<(), TaskError> {
        unimplemented()
    }
    pub async fn resume(&self) -> Result<(), TaskError> {
        unimplemented()
    }
    pub async fn pids(&self) -> Result<Vec<i32>, TaskError> {
        unimplemented()
    }
}
