//! `docker exec`: processes started in a running container, one verb per file (create, start,
//! inspect, resize). As in dockerd, exec records live in memory only: they belong to one run of
//! the container and are dropped when it exits or is removed (an exec never outlives its
//! container: the runtime starts it in the container's namespaces and cgroup).

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

use crate::engine::Error;

pub mod create;
pub mod inspect;
pub mod resize;
pub mod start;

/// How many exited execs a running container keeps for inspection; older ones are dropped
/// (dockerd keeps them all until the container stops, which a health check every second makes
/// an unbounded list).
const EXITED_KEPT: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecPhase {
    Created,
    /// `start` was called; the runtime has not answered yet.
    Starting,
    Running {
        pid: i32,
    },
    Exited {
        pid: i32,
        code: i64,
    },
}

/// What `exec create` asked for, resolved against the container (user, directory defaults).
#[derive(Debug, Clone)]
pub struct ExecRecord {
    pub id: String,
    pub container_id: String,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub tty: bool,
    pub privileged: bool,
    /// As given, else the container's (dockerd reports the container's user).
    pub user: String,
    pub working_dir: String,
    pub open_stdin: bool,
    pub open_stdout: bool,
    pub open_stderr: bool,
    pub detach_keys: String,
    /// `[height, width]` of the terminal at start.
    pub console_size: Option<[u16; 2]>,
    pub phase: ExecPhase,
}

struct Entry {
    record: ExecRecord,
    /// Creation order, for ExecIDs and for dropping the oldest.
    seq: u64,
    /// True once the exit is recorded.
    exited: watch::Sender<bool>,
}

/// The daemon's exec records.
#[derive(Default)]
pub struct Execs {
    inner: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    entries: HashMap<String, Entry>,
    next: u64,
}

/// Why a start was refused.
pub enum StartRefusal {
    NotFound,
    Running,
    Ran,
}

impl Execs {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn insert(&self, record: ExecRecord) {
        let mut r = self.lock();
        let mut exited: Vec<(u64, String)> = r
            .entries
            .values()
            .filter(|e| {
                e.record.container_id == record.container_id
                    && matches!(e.record.phase, ExecPhase::Exited { .. })
            })
            .map(|e| (e.seq, e.record.id.clone()))
            .collect();
        if exited.len() >= EXITED_KEPT {
            exited.sort();
            for (_, id) in exited.iter().take(exited.len() + 1 - EXITED_KEPT) {
                r.entries.remove(id);
            }
        }
        let seq = r.next;
        r.next += 1;
        r.entries.insert(
            record.id.clone(),
            Entry {
                record,
                seq,
                exited: watch::channel(false).0,
            },
        );
    }

    pub fn get(&self, id: &str) -> Option<ExecRecord> {
        self.lock().entries.get(id).map(|e| e.record.clone())
    }

    /// Created -> Starting, once: a second start is refused as dockerd refuses it.
    pub fn begin_start(&self, id: &str) -> Result<ExecRecord, StartRefusal> {
        let mut r = self.lock();
        let e = r.entries.get_mut(id).ok_or(StartRefusal::NotFound)?;
        match e.record.phase {
            ExecPhase::Created => {
                e.record.phase = ExecPhase::Starting;
                Ok(e.record.clone())
            }
            ExecPhase::Starting | ExecPhase::Running { .. } => Err(StartRefusal::Running),
            ExecPhase::Exited { .. } => Err(StartRefusal::Ran),
        }
    }

    pub fn set_phase(&self, id: &str, phase: ExecPhase) {
        let mut r = self.lock();
        if let Some(e) = r.entries.get_mut(id) {
            e.record.phase = phase;
            if matches!(phase, ExecPhase::Exited { .. }) {
                e.exited.send_replace(true);
            }
        }
    }

    /// Resolves once the exec's exit is recorded (or its record is gone).
    pub fn exited(&self, id: &str) -> Option<watch::Receiver<bool>> {
        self.lock().entries.get(id).map(|e| e.exited.subscribe())
    }

    /// The container's execs, oldest first.
    pub fn of_container(&self, container_id: &str) -> Vec<String> {
        let r = self.lock();
        let mut ids: Vec<(u64, String)> = r
            .entries
            .values()
            .filter(|e| e.record.container_id == container_id)
            .map(|e| (e.seq, e.record.id.clone()))
            .collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| id).collect()
    }

    /// At the container's exit or removal (dockerd's Cleanup unregisters its execs).
    pub fn drop_container(&self, container_id: &str) {
        let mut r = self.lock();
        r.entries
            .retain(|_, e| e.record.container_id != container_id);
    }
}

/// A terminal size as the API gives it (`[height, width]`, or nothing).
pub(crate) fn console_size(given: Option<&[usize]>) -> crate::engine::Result<Option<[u16; 2]>> {
    let clamp = |v: usize| {
        u16::try_from(v).map_err(|_| Error::invalid(format!("console size {v} is out of range")))
    };
    match given {
        None | Some([]) => Ok(None),
        Some([h, w]) => Ok(Some([clamp(*h)?, clamp(*w)?])),
        Some(other) => Err(Error::invalid(format!(
            "ConsoleSize must be [height, width], got {} values",
            other.len()
        ))),
    }
}
