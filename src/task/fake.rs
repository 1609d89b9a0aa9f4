//! An in-memory task service for tests that run the engine without root or shims: each task
//! "runs" a scripted process that exits when signalled (code 128 + signal) or after a scripted
//! time, prints scripted output to attachers, and every call is recorded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::{
    AttachOptions, AttachStream, ExitStatus, TaskConfig, TaskError, TaskHandle, TaskRef,
    TaskService,
};

/// What a fake task's process does.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Written to each attacher once the task runs: (stream 1 stdout | 2 stderr, bytes).
    pub output: Vec<(u8, Vec<u8>)>,
    /// Exits on its own after this long, with `exit_code`.
    pub exit_after: Option<Duration>,
    pub exit_code: i32,
    /// How long it takes to die of a signal (a real process is not gone when kill returns).
    pub dies_after: Option<Duration>,
    /// Signals it ignores (SIGKILL is never ignored).
    pub ignores: Vec<i32>,
    /// Create fails with this runtime error.
    pub fail_create: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Created,
    Running,
    Exited(ExitStatus),
}

#[derive(Default)]
struct Shared {
    script: Mutex<Script>,
    /// Tasks not deleted yet, by state directory.
    tasks: Mutex<HashMap<PathBuf, Arc<FakeTask>>>,
    /// Exits of deleted tasks (the shim's exit.json), by state directory.
    exits: Mutex<HashMap<PathBuf, ExitStatus>>,
    calls: Mutex<Vec<String>>,
    next_pid: AtomicI32,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn record(&self, call: String) {
        lock(&self.calls).push(call);
    }
}

/// The fake service; cheap to clone (clones share their tasks).
#[derive(Clone, Default)]
pub struct FakeTasks {
    shared: Arc<Shared>,
}

impl FakeTasks {
    pub fn new() -> FakeTasks {
        FakeTasks::default()
    }

    /// The script of tasks created from now on.
    pub fn set_script(&self, script: Script) {
        *lock(&self.shared.script) = script;
    }

    /// Calls so far, as "verb id [args]" ("create c1", "kill c1 9 all", ...).
    pub fn calls(&self) -> Vec<String> {
        lock(&self.shared.calls).clone()
    }

    /// Tasks created and not deleted.
    pub fn live_tasks(&self) -> usize {
        lock(&self.shared.tasks).len()
    }

    /// Tasks whose process runs.
    pub fn running_tasks(&self) -> Vec<String> {
        lock(&self.shared.tasks)
            .values()
            .filter(|t| *t.phase.borrow() == Phase::Running)
            .map(|t| t.id.clone())
            .collect()
    }

    /// Ends a running task's process as if it exited by itself.
    pub fn exit(&self, id: &str, code: i32) -> bool {
        let task = lock(&self.shared.tasks)
            .values()
            .find(|t| t.id == id)
            .cloned();
        task.is_some_and(|t| t.exit(code))
    }
}

impl TaskService for FakeTasks {
    fn create<'a>(&'a self, cfg: &'a TaskConfig) -> BoxFuture<'a, Result<TaskRef, TaskError>> {
        Box::pin(async move {
            self.shared.record(format!("create {}", cfg.id));
            let script = lock(&self.shared.script).clone();
            if let Some(msg) = &script.fail_create {
                return Err(TaskError::runtime(msg.clone()));
            }
            let pid = 10_000 + self.shared.next_pid.fetch_add(1, Ordering::Relaxed);
            let task = Arc::new(FakeTask {
                id: cfg.id.clone(),
                pid,
                state_dir: cfg.state_dir.clone(),
                script,
                phase: Arc::new(watch::channel(Phase::Created).0),
                shared: Arc::downgrade(&self.shared),
            });
            lock(&self.shared.tasks).insert(cfg.state_dir.clone(), task.clone());
            lock(&self.shared.exits).remove(&cfg.state_dir);
            Ok(task as TaskRef)
        })
    }

    fn connect<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, Result<TaskRef, TaskError>> {
        Box::pin(async move {
            let task = lock(&self.shared.tasks).get(state_dir).cloned();
            task.map(|t| t as TaskRef).ok_or(TaskError::NotFound)
        })
    }

    fn exit_status(&self, state_dir: &Path) -> Option<ExitStatus> {
        lock(&self.shared.exits).get(state_dir).copied()
    }
}

/// One fake task.
pub struct FakeTask {
    id: String,
    pid: i32,
    state_dir: PathBuf,
    script: Script,
    phase: Arc<watch::Sender<Phase>>,
    /// Weak: the service owns its tasks.
    shared: std::sync::Weak<Shared>,
}

impl std::fmt::Debug for FakeTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTask")
            .field("id", &self.id)
            .field("pid", &self.pid)
            .finish()
    }
}

/// Running -> exited with `code`; false if it was not running.
fn exit_phase(phase: &watch::Sender<Phase>, code: i32) -> bool {
    phase.send_if_modified(|p| {
        if *p != Phase::Running {
            return false;
        }
        *p = Phase::Exited(ExitStatus {
            code,
            exited_at: crate::util::time::now_nanos(),
            oom_killed: false,
        });
        true
    })
}

fn not_running() -> TaskError {
    TaskError::Precondition("process not running".into())
}

impl FakeTask {
    fn record(&self, call: String) {
        if let Some(s) = self.shared.upgrade() {
            s.record(call);
        }
    }

    fn exit(&self, code: i32) -> bool {
        exit_phase(&self.phase, code)
    }

    async fn exited(&self) -> ExitStatus {
        let mut rx = self.phase.subscribe();
        loop {
            if let Phase::Exited(st) = *rx.borrow_and_update() {
                return st;
            }
            // The sender lives as long as `self`.
            if rx.changed().await.is_err() {
                return ExitStatus {
                    code: 255,
                    exited_at: crate::util::time::now_nanos(),
                    oom_killed: false,
                };
            }
        }
    }
}

impl TaskHandle for FakeTask {
    fn pid(&self) -> i32 {
        self.pid
    }

    fn start(&self) -> BoxFuture<'_, Result<i32, TaskError>> {
        Box::pin(async move {
            self.record(format!("start {}", self.id));
            let started = self.phase.send_if_modified(|p| {
                let created = *p == Phase::Created;
                if created {
                    *p = Phase::Running;
                }
                created
            });
            if !started {
                return Err(TaskError::Precondition("task already started".into()));
            }
            if let Some(after) = self.script.exit_after {
                let mut rx = self.phase.subscribe();
                let tx = self.phase.clone();
                let code = self.script.exit_code;
                tokio::spawn(async move {
                    // Ends early once the task exits some other way (or is dropped).
                    let _ =
                        tokio::time::timeout(after, rx.wait_for(|p| *p != Phase::Running)).await;
                    exit_phase(&tx, code);
                });
            }
            Ok(self.pid)
        })
    }

    fn kill(&self, signal: i32, all: bool) -> BoxFuture<'_, Result<(), TaskError>> {
        Box::pin(async move {
            let all = if all { " all" } else { "" };
            self.record(format!("kill {} {signal}{all}", self.id));
            if *self.phase.borrow() != Phase::Running {
                return Err(not_running());
            }
            if signal == libc::SIGKILL || !self.script.ignores.contains(&signal) {
                match self.script.dies_after {
                    Some(after) => {
                        let tx = self.phase.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(after).await;
                            exit_phase(&tx, 128 + signal);
                        });
                    }
                    None => {
                        self.exit(128 + signal);
                    }
                }
            }
            Ok(())
        })
    }

    fn wait(&self) -> BoxFuture<'_, Result<ExitStatus, TaskError>> {
        Box::pin(async move { Ok(self.exited().await) })
    }

    fn delete(&self) -> BoxFuture<'_, Result<(), TaskError>> {
        Box::pin(async move {
            self.record(format!("delete {}", self.id));
            let exit = match *self.phase.borrow() {
                Phase::Running => {
                    return Err(TaskError::Precondition(
                        "cannot delete a running task".into(),
                    ));
                }
                Phase::Created => ExitStatus {
                    code: 137,
                    exited_at: crate::util::time::now_nanos(),
                    oom_killed: false,
                },
                Phase::Exited(st) => st,
            };
            // A created task dies with its delete; its waiters hear of it.
            self.phase.send_replace(Phase::Exited(exit));
            let Some(shared) = self.shared.upgrade() else {
                return Ok(());
            };
            let gone = lock(&shared.tasks).remove(&self.state_dir).is_some();
            if !gone {
                return Err(TaskError::NotFound);
            }
            lock(&shared.exits).insert(self.state_dir.clone(), exit);
            Ok(())
        })
    }

    fn attach(&self, opts: AttachOptions) -> BoxFuture<'_, Result<AttachStream, TaskError>> {
        Box::pin(async move {
            self.record(format!("attach {}", self.id));
            if matches!(*self.phase.borrow(), Phase::Exited(_)) {
                return Err(not_running());
            }
            let (ours, theirs) = tokio::io::duplex(64 * 1024);
            let (mut input, mut output) = tokio::io::split(ours);
            let mut rx = self.phase.subscribe();
            let script = self.script.clone();
            tokio::spawn(async move {
                // Output once the process runs, then the stream ends at its exit, as a shim's.
                if rx.wait_for(|p| *p != Phase::Created).await.is_err() {
                    return;
                }
                for (stream, bytes) in &script.output {
                    let wanted = (*stream == 1 && opts.stdout) || (*stream == 2 && opts.stderr);
                    if wanted && output.write_all(&frame(*stream, bytes)).await.is_err() {
                        return;
                    }
                }
                let _ = rx.wait_for(|p| matches!(p, Phase::Exited(_))).await;
                let _ = output.shutdown().await;
            });
            // Stdin goes nowhere; read so that writers are not stuck on a full pipe.
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(input.read(&mut buf).await, Ok(n) if n > 0) {}
            });
            Ok(Box::new(theirs) as AttachStream)
        })
    }

    fn resize(&self, width: u16, height: u16) -> BoxFuture<'_, Result<(), TaskError>> {
        Box::pin(async move {
            self.record(format!("resize {} {width}x{height}", self.id));
            Ok(())
        })
    }

    fn close_stdin(&self) -> BoxFuture<'_, Result<(), TaskError>> {
        Box::pin(async move {
            self.record(format!("close_stdin {}", self.id));
            Ok(())
        })
    }
}

/// A stdcopy frame: stream byte, three zeros, big-endian length, payload.
fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + payload.len());
    f.extend_from_slice(&[stream, 0, 0, 0]);
    f.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    f.extend_from_slice(payload);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(id: &str) -> TaskConfig {
        TaskConfig {
            id: id.into(),
            bundle: PathBuf::from("/nonexistent").join(id),
            state_dir: PathBuf::from("/nonexistent").join(id),
            runtime: PathBuf::new(),
            runtime_root: PathBuf::new(),
            runtime_args: vec![],
            tty: false,
            stdin: false,
            log_path: PathBuf::new(),
            log_max_size: None,
            log_max_files: 1,
        }
    }

    #[tokio::test]
    async fn lifecycle_of_a_fake_task() {
        let fake = FakeTasks::new();
        let t = fake.create(&cfg("a")).await.unwrap();
        assert_eq!(fake.live_tasks(), 1);
        assert!(matches!(
            t.kill(9, false).await,
            Err(TaskError::Precondition(_))
        ));
        assert_eq!(t.start().await.unwrap(), t.pid());
        assert!(t.start().await.is_err());
        assert!(matches!(t.delete().await, Err(TaskError::Precondition(_))));
        t.kill(libc::SIGKILL, true).await.unwrap();
        assert_eq!(t.wait().await.unwrap().code, 137);
        t.delete().await.unwrap();
        assert_eq!(fake.live_tasks(), 0);
        let dir = PathBuf::from("/nonexistent/a");
        assert_eq!(fake.exit_status(&dir).map(|e| e.code), Some(137));
        assert!(matches!(fake.connect(&dir).await, Err(TaskError::NotFound)));
        assert_eq!(
            fake.calls(),
            [
                "create a",
                "kill a 9",
                "start a",
                "start a",
                "delete a",
                "kill a 9 all",
                "delete a"
            ]
        );
    }

    #[tokio::test]
    async fn scripted_output_and_exit() {
        let fake = FakeTasks::new();
        fake.set_script(Script {
            output: vec![(1, b"out".to_vec()), (2, b"err".to_vec())],
            exit_after: Some(Duration::from_millis(20)),
            exit_code: 3,
            ..Script::default()
        });
        let t = fake.create(&cfg("b")).await.unwrap();
        let opts = AttachOptions {
            stdin: false,
            stdout: true,
            stderr: false,
        };
        let mut s = t.attach(opts).await.unwrap();
        t.start().await.unwrap();
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
        assert!(read.is_ok(), "the stream ends at the exit");
        assert_eq!(got, frame(1, b"out"));
        assert_eq!(t.wait().await.unwrap().code, 3);
    }
}
