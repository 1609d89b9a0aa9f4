//! Cgroups v1 and v2 behind one manager (STUB: the real implementation replaces this file).
//!
//! Contract used by the rest of `runtime`:
//! - `Manager::new(cgroup_root, cgroups_path, container_id)` picks v1 (legacy or hybrid) or v2
//!   (unified) from what is mounted at `cgroup_root` (normally /sys/fs/cgroup).
//! - `add_task(pid)`, `apply(&LinuxResources)`, `freeze()`, `thaw()`, `stats()`, `pids()`,
//!   `oom_kill_count()`, `destroy()`.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroups are not implemented yet")]
    Unimplemented,
}

pub struct Manager;

impl Manager {
    pub fn new(_root: &Path, _cgroups_path: &str, _id: &str) -> Result<Manager, CgroupError> {
        Err(CgroupError::Unimplemented)
    }
}
