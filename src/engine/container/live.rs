//! What the daemon knows about containers beyond the store: their tasks (shim connections), a
//! lifecycle signal per container that waiters subscribe to, attach requests waiting for a start,
//! and a per-container operation lock that serializes start, stop, exit handling and removal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, watch};

use crate::engine::Error;
use crate::task::{AttachOptions, AttachStream, TaskRef};

/// Observed by `wait`, `logs -f` and `stop`: changes on every start, exit and removal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub running: bool,
    /// How many exits have been seen since the daemon started (next-exit waits for a change).
    pub exits: u64,
    pub exit_code: i64,
    pub removed: bool,
}

/// An attach made before the container started: fulfilled with a shim stream at start.
pub struct PendingAttach {
    pub opts: AttachOptions,
    pub reply: oneshot::Sender<Result<AttachStream, Error>>,
}

struct Entry {
    task: Option<TaskRef>,
    lifecycle: watch::Sender<Lifecycle>,
    pending: Vec<PendingAttach>,
    op: Arc<tokio::sync::Mutex<()>>,
    /// A removal is under way (dockerd's RemovalInProgress): starts are refused.
    removing: bool,
    /// A `docker restart` is stopping it: its exit does not trigger `--rm`.
    manual_restart: bool,
}

impl Entry {
    fn new() -> Entry {
        Entry {
            task: None,
            lifecycle: watch::channel(Lifecycle::default()).0,
            pending: Vec::new(),
            op: Arc::new(tokio::sync::Mutex::new(())),
            removing: false,
            manual_restart: false,
        }
    }
}

#[derive(Default)]
pub struct Live {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Live {
    fn with<T>(&self, id: &str, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(id.to_string()).or_insert_with(Entry::new))
    }

    /// The operation lock of one container.
    pub fn op_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.with(id, |e| e.op.clone())
    }

    pub fn task(&self, id: &str) -> Option<TaskRef> {
        self.with(id, |e| e.task.clone())
    }

    pub fn set_task(&self, id: &str, task: Option<TaskRef>) {
        self.with(id, |e| e.task = task);
    }

    pub fn subscribe(&self, id: &str) -> watch::Receiver<Lifecycle> {
        self.with(id, |e| e.lifecycle.subscribe())
    }

    pub fn update(&self, id: &str, f: impl FnOnce(&mut Lifecycle)) {
        self.with(id, |e| e.lifecycle.send_modify(f));
    }

    /// Marks a removal as under way; false if one already is (dockerd: "removal of container
    /// is already in progress").
    pub fn begin_removal(&self, id: &str) -> bool {
        self.with(id, |e| !std::mem::replace(&mut e.removing, true))
    }

    /// Ends a removal that did not happen (the container stays).
    pub fn end_removal(&self, id: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get_mut(id) {
            e.removing = false;
        }
    }

    pub fn removing(&self, id: &str) -> bool {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).is_some_and(|e| e.removing)
    }

    pub fn set_manual_restart(&self, id: &str, on: bool) {
        self.with(id, |e| e.manual_restart = on);
    }

    pub fn manual_restart(&self, id: &str) -> bool {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).is_some_and(|e| e.manual_restart)
    }

    /// Tells the watchers what a state change means to them: running or not, and an exit.
    pub fn observe(
        &self,
        id: &str,
        old: &super::state::ContainerState,
        new: &super::state::ContainerState,
    ) {
        let (was_running, running, code) = (old.is_running(), new.is_running(), new.exit_code);
        self.update(id, |l| {
            l.running = running;
            if was_running && !running {
                l.exits += 1;
                l.exit_code = code;
            }
        });
    }

    pub fn add_pending(&self, id: &str, p: PendingAttach) {
        self.with(id, |e| e.pending.push(p));
    }

    pub fn take_pending(&self, id: &str) -> Vec<PendingAttach> {
        self.with(id, |e| std::mem::take(&mut e.pending))
    }

    /// Forgets a removed container, after telling its waiters.
    pub fn remove(&self, id: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.remove(id) {
            e.lifecycle.send_modify(|l| {
                l.removed = true;
                l.running = false;
            });
            for p in e.pending {
                let _ = p
                    .reply
                    .send(Err(Error::not_found(format!("No such container: {id}"))));
            }
        }
    }
}
