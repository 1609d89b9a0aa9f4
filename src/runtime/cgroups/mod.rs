//! Cgroups v1 and v2 behind one manager, for the runtime (runc's libcontainer/cgroups role).
//!
//! - `Manager::new(root, cgroups_path, id)` picks v2 when `root` is a cgroup2 mount, else v1
//!   (legacy, or hybrid: v1 controllers under root/<controller> plus a cgroup2 mount beside).
//! - `add_task`, `apply(&LinuxResources)`, `freeze`/`thaw`/`is_frozen`, `stats`, `pids`,
//!   `oom_kill_count`, `destroy`.
//!
//! Resource values are converted as runc 1.1 converts them (see `convert`); device rules are
//! folded through the v1 state machine (`devices::state`) and, on v2, compiled to eBPF.
//! Synchronous on purpose: the runtime forks.

mod convert;
mod detect;
mod devices;
mod error;
mod fsio;
mod parents;
mod path;
mod procs;
mod remove;
mod stats;
mod v1;
mod v2;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

pub use error::CgroupError;
pub use path::DEFAULT_PARENT;
pub use stats::{
    BlkioEntry, BlkioStats, CgroupStats, CpuStats, MemoryStats, PidsStats, ThrottlingStats,
};

use detect::Layout;

/// One container's cgroup (a directory per v1 hierarchy, or one v2 directory). Creating the
/// manager touches nothing; `add_task` and `apply` create directories as needed.
#[derive(Debug, Clone)]
pub struct Manager {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    V1(v1::V1Manager),
    V2(v2::V2Manager),
}

impl Manager {
    /// `cgroups_path` is the OCI linux.cgroupsPath; absolute and relative paths both resolve
    /// under `root` (under each controller's mount on v1); empty means "/berth/<id>". The
    /// systemd form "slice:prefix:name" is rejected.
    pub fn new(root: &Path, cgroups_path: &str, id: &str) -> Result<Manager, CgroupError> {
        let rel = path::resolve(cgroups_path, id)?;
        Ok(Manager::with_layout(root, detect::detect(root)?, rel))
    }

    fn with_layout(root: &Path, layout: Layout, rel: PathBuf) -> Manager {
        let inner = match layout {
            Layout::Unified => Inner::V2(v2::V2Manager::new(root, rel)),
            Layout::Legacy {
                hierarchies,
                unified,
            } => Inner::V1(v1::V1Manager::new(hierarchies, unified, rel)),
        };
        Manager { inner }
    }

    /// 1 for v1 (legacy or hybrid), 2 for unified.
    pub fn version(&self) -> u8 {
        match &self.inner {
            Inner::V1(_) => 1,
            Inner::V2(_) => 2,
        }
    }

    /// The container's directories: one per v1 hierarchy (plus the hybrid cgroup2 one), or the
    /// single v2 directory.
    pub fn dirs(&self) -> Vec<PathBuf> {
        match &self.inner {
            Inner::V1(m) => m.dirs(),
            Inner::V2(m) => vec![m.dir().to_path_buf()],
        }
    }

    /// Moves `pid` (and, on v1, into every hierarchy) into the cgroup, creating it first.
    pub fn add_task(&self, pid: i32) -> Result<(), CgroupError> {
        match &self.inner {
            Inner::V1(m) => m.add_task(pid),
            Inner::V2(m) => m.add_task(pid),
        }
    }

    /// Creates the directories (idempotent). A parent removed under us by another container's
    /// delete (it was empty a moment ago) fails a mkdir with ENOENT: that is retried, bounded.
    pub fn create(&self) -> Result<(), CgroupError> {
        let mut tries = 0;
        loop {
            let r = match &self.inner {
                Inner::V1(m) => m.create(),
                Inner::V2(m) => m.create(),
            };
            match r {
                Err(CgroupError::Io { source, .. } | CgroupError::Write { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && tries < 3 =>
                {
                    tries += 1;
                }
                r => return r,
            }
        }
    }

    fn bases_and_rel(&self) -> (Vec<PathBuf>, &Path) {
        match &self.inner {
            Inner::V1(m) => (m.bases(), m.rel()),
            Inner::V2(m) => (vec![m.root().to_path_buf()], m.rel()),
        }
    }

    /// The parent directories `create` would make for this container (they do not exist yet),
    /// deepest first; recorded at create so that `remove_parents` takes only those.
    pub fn missing_parents(&self) -> Vec<PathBuf> {
        let (bases, rel) = self.bases_and_rel();
        parents::missing(&bases, rel)
    }

    /// After `destroy`: removes the recorded parents that are empty now (ones shared with
    /// another container stay); anything recorded that is not an ancestor is ignored.
    pub fn remove_parents(&self, recorded: &[PathBuf]) -> Result<(), CgroupError> {
        let (bases, rel) = self.bases_and_rel();
        parents::remove(&bases, rel, recorded)
    }

    /// The cgroup2 directory (v2's one, or the hybrid layout's cgroup2 one) that a child can be
    /// forked straight into with clone3's CLONE_INTO_CGROUP.
    pub fn cgroup2_dir(&self) -> Option<PathBuf> {
        match &self.inner {
            Inner::V1(m) => m.unified_dir(),
            Inner::V2(m) => Some(m.dir().to_path_buf()),
        }
    }

    /// Moves the calling process into every v1 hierarchy by writing "0" to each `tasks` file.
    /// The caller must be single-threaded: the kernel then moves just the current thread (the
    /// whole process) and skips the global lock that a `cgroup.procs` write takes, whose RCU
    /// grace period costs about 10 ms per container start. A no-op on v2.
    pub fn join_v1_self(&self) -> Result<(), CgroupError> {
        match &self.inner {
            Inner::V1(m) => m.join_self(),
            Inner::V2(_) => Ok(()),
        }
    }

    /// Moves the calling process into the cgroup2 directory (the slow path, for when clone3
    /// could not fork it there).
    pub fn join_cgroup2_self(&self) -> Result<(), CgroupError> {
        match self.cgroup2_dir() {
            Some(dir) => procs::add_self(&dir),
            None => Ok(()),
        }
    }

    /// Writes the limits; safe to call again with new values (`docker update`). Sections that
    /// are absent (or empty) are left alone. Device rules are applied as given: like runc, the
    /// caller appends the rules for the devices it creates (/dev/null, /dev/zero, ...) after
    /// Docker's deny-all; with no rules at all a container has every device on v2.
    pub fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        match &self.inner {
            Inner::V1(m) => m.apply(r),
            Inner::V2(m) => m.apply(r),
        }
    }

    /// Freezes every process and returns once the kernel reports the cgroup frozen (bounded;
    /// on timeout the cgroup is thawed again and an error returned).
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match &self.inner {
            Inner::V1(m) => m.freeze(),
            Inner::V2(m) => m.freeze(),
        }
    }

    pub fn thaw(&self) -> Result<(), CgroupError> {
        match &self.inner {
            Inner::V1(m) => m.thaw(),
            Inner::V2(m) => m.thaw(),
        }
    }

    /// Whether this cgroup itself was asked to freeze (an ancestor's freeze does not count).
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        match &self.inner {
            Inner::V1(m) => m.is_frozen(),
            Inner::V2(m) => m.is_frozen(),
        }
    }

    /// Current usage; an error if the cgroup does not exist.
    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        match &self.inner {
            Inner::V1(m) => m.stats(),
            Inner::V2(m) => m.stats(),
        }
    }

    /// Every process in the cgroup and its sub-cgroups, sorted; empty if the cgroup is gone.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        match &self.inner {
            Inner::V1(m) => m.pids(),
            Inner::V2(m) => m.pids(),
        }
    }

    /// How many processes the kernel OOM-killed in this cgroup (0 without a memory controller).
    pub fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        match &self.inner {
            Inner::V1(m) => m.oom_kill_count(),
            Inner::V2(m) => m.oom_kill_count(),
        }
    }

    /// Removes the container's directories (and any sub-cgroups), retrying a bounded time while
    /// exiting tasks drain. Parents such as /berth are left for other containers. Missing
    /// directories are fine.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        match &self.inner {
            Inner::V1(m) => m.destroy(),
            Inner::V2(m) => m.destroy(),
        }
    }
}
