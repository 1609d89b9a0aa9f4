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

/// Statistics as `events --stats` prints them (runc's shape); filled by the real module.
#[derive(Debug, Default, serde::Serialize)]
pub struct CgroupStats {}

impl Manager {
    pub fn new(_root: &Path, _cgroups_path: &str, _id: &str) -> Result<Manager, CgroupError> {
        Err(CgroupError::Unimplemented)
    }

    pub fn add_task(&self, _pid: i32) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }

    pub fn apply(&self, _resources: &oci_spec::runtime::LinuxResources) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }

    pub fn freeze(&self) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }

    pub fn thaw(&self) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }

    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        Err(CgroupError::Unimplemented)
    }

    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        Err(CgroupError::Unimplemented)
    }

    pub fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        Err(CgroupError::Unimplemented)
    }

    pub fn destroy(&self) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }
}
