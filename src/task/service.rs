//! The seam between the engine and whatever runs its tasks: the shim client ([`Tasks`], [`Task`])
//! in the daemon, an in-memory fake ([`super::fake`]) in tests that must run without root.
//! Object-safe (boxed futures) so the engine holds `Arc<dyn ...>` and needs no type parameter.

use std::path::Path;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{AttachOptions, ExitStatus, Task, TaskConfig, TaskError, Tasks};

/// An attach stream: stdcopy frames out, raw stdin in (a shim socket, or in-memory for a fake).
pub trait AttachIo: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> AttachIo for T {}

pub type AttachStream = Box<dyn AttachIo>;

/// A task as the engine stores it.
pub type TaskRef = Arc<dyn TaskHandle>;

/// Creates tasks and finds those left running by an earlier daemon.
pub trait TaskService: Send + Sync {
    /// Creates the task (its init exists, not started yet).
    fn create<'a>(&'a self, cfg: &'a TaskConfig) -> BoxFuture<'a, Result<TaskRef, TaskError>>;
    /// Reconnects to a task through its state directory.
    fn connect<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, Result<TaskRef, TaskError>>;
    /// The recorded exit of a task that is gone.
    fn exit_status(&self, state_dir: &Path) -> Option<ExitStatus>;
}

/// The per-task verbs the engine uses.
pub trait TaskHandle: Send + Sync + std::fmt::Debug {
    /// The init's host pid.
    fn pid(&self) -> i32;
    /// Starts the created init; returns its pid.
    fn start(&self) -> BoxFuture<'_, Result<i32, TaskError>>;
    fn kill(&self, signal: i32, all: bool) -> BoxFuture<'_, Result<(), TaskError>>;
    /// Returns at the init's exit (at once if it already exited).
    fn wait(&self) -> BoxFuture<'_, Result<ExitStatus, TaskError>>;
    /// Deletes the task; refused while it runs.
    fn delete(&self) -> BoxFuture<'_, Result<(), TaskError>>;
    fn attach(&self, opts: AttachOptions) -> BoxFuture<'_, Result<AttachStream, TaskError>>;
    fn resize(&self, width: u16, height: u16) -> BoxFuture<'_, Result<(), TaskError>>;
    fn close_stdin(&self) -> BoxFuture<'_, Result<(), TaskError>>;
}

impl TaskService for Tasks {
    fn create<'a>(&'a self, cfg: &'a TaskConfig) -> BoxFuture<'a, Result<TaskRef, TaskError>> {
        Box::pin(async move { Ok(Arc::new(Tasks::create(self, cfg).await?) as TaskRef) })
    }

    fn connect<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, Result<TaskRef, TaskError>> {
        Box::pin(async move { Ok(Arc::new(Tasks::connect(self, state_dir).await?) as TaskRef) })
    }

    fn exit_status(&self, state_dir: &Path) -> Option<ExitStatus> {
        Tasks::exit_status(state_dir)
    }
}

impl TaskHandle for Task {
    fn pid(&self) -> i32 {
        Task::pid(self)
    }

    fn start(&self) -> BoxFuture<'_, Result<i32, TaskError>> {
        Box::pin(Task::start(self))
    }

    fn kill(&self, signal: i32, all: bool) -> BoxFuture<'_, Result<(), TaskError>> {
        Box::pin(Task::kill(self, signal, all))
    }

    fn wait(&self) -> BoxFuture<'_, Result<ExitStatus, TaskError>> {
        Box::pin(Task::wait(self))
    }

    fn delete(&self) -> BoxFuture<'_, Result<(), TaskError>> {
        Box::pin(Task::delete(self))
    }

    fn attach(&self, opts: AttachOptions) -> BoxFuture<'_, Result<AttachStream, TaskError>> {
        Box::pin(async move { Ok(Box::new(Task::attach(self, opts).await?) as AttachStream) })
    }

    fn resize(&self, width: u16, height: u16) -> BoxFuture<'_, Result<(), TaskError>> {
        Box::pin(Task::resize(self, width, height))
    }

    fn close_stdin(&self) -> BoxFuture<'_, Result<(), TaskError>> {
        Box::pin(Task::close_stdin(self))
    }
}
