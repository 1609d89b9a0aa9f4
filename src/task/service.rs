//! The seam between the engine and whatever runs its tasks: the shim client ([`Tasks`], [`Task`])
//! in the daemon, an in-memory fake ([`super::fake`]) in tests that must run without root.
//! Object-safe (boxed futures) so the engine holds `Arc<dyn ...>` and needs no type parameter.

use std::path::Path;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{AttachOptions, ExecConfig, ExitStatus, Task, TaskConfig, TaskError, Tasks};

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

    // Exec processes, by the id given at create. A task that cannot run them (a fake, or a
    // shim of the first protocol) refuses.
    fn exec_create<'a>(&'a self, cfg: &'a ExecConfig) -> BoxFuture<'a, Result<(), TaskError>> {
        let _ = cfg;
        no_exec()
    }
    /// Starts it; returns its host pid.
    fn exec_start<'a>(&'a self, exec_id: &'a str) -> BoxFuture<'a, Result<i32, TaskError>> {
        let _ = exec_id;
        no_exec()
    }
    /// Returns at its exit.
    fn exec_wait<'a>(&'a self, exec_id: &'a str) -> BoxFuture<'a, Result<ExitStatus, TaskError>> {
        let _ = exec_id;
        no_exec()
    }
    fn exec_attach<'a>(
        &'a self,
        exec_id: &'a str,
        opts: AttachOptions,
    ) -> BoxFuture<'a, Result<AttachStream, TaskError>> {
        let _ = (exec_id, opts);
        no_exec()
    }
    fn exec_resize<'a>(
        &'a self,
        exec_id: &'a str,
        width: u16,
        height: u16,
    ) -> BoxFuture<'a, Result<(), TaskError>> {
        let _ = (exec_id, width, height);
        no_exec()
    }
    fn exec_close_stdin<'a>(&'a self, exec_id: &'a str) -> BoxFuture<'a, Result<(), TaskError>> {
        let _ = exec_id;
        no_exec()
    }
    /// Drops the shim's record of an exited exec.
    fn exec_delete<'a>(&'a self, exec_id: &'a str) -> BoxFuture<'a, Result<(), TaskError>> {
        let _ = exec_id;
        no_exec()
    }
}

fn no_exec<'a, T: 'a>() -> BoxFuture<'a, Result<T, TaskError>> {
    Box::pin(async {
        Err(TaskError::Shim(
            "this task cannot run exec processes".into(),
        ))
    })
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

    fn exec_create<'a>(&'a self, cfg: &'a ExecConfig) -> BoxFuture<'a, Result<(), TaskError>> {
        Box::pin(Task::exec_create(self, cfg))
    }

    fn exec_start<'a>(&'a self, exec_id: &'a str) -> BoxFuture<'a, Result<i32, TaskError>> {
        Box::pin(Task::exec_start(self, exec_id))
    }

    fn exec_wait<'a>(&'a self, exec_id: &'a str) -> BoxFuture<'a, Result<ExitStatus, TaskError>> {
        Box::pin(Task::exec_wait(self, exec_id))
    }

    fn exec_attach<'a>(
        &'a self,
        exec_id: &'a str,
        opts: AttachOptions,
    ) -> BoxFuture<'a, Result<AttachStream, TaskError>> {
        Box::pin(async move {
            Ok(Box::new(Task::exec_attach(self, exec_id, opts).await?) as AttachStream)
        })
    }

    fn exec_resize<'a>(
        &'a self,
        exec_id: &'a str,
        width: u16,
        height: u16,
    ) -> BoxFuture<'a, Result<(), TaskError>> {
        Box::pin(Task::exec_resize(self, exec_id, width, height))
    }

    fn exec_close_stdin<'a>(&'a self, exec_id: &'a str) -> BoxFuture<'a, Result<(), TaskError>> {
        Box::pin(Task::exec_close_stdin(self, exec_id))
    }

    fn exec_delete<'a>(&'a self, exec_id: &'a str) -> BoxFuture<'a, Result<(), TaskError>> {
        Box::pin(Task::exec_delete(self, exec_id))
    }
}
