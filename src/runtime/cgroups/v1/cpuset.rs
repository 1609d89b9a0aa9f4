//! cpuset.cpus/mems. A new v1 cpuset starts empty and refuses tasks (ENOSPC) until both are
//! set, so every directory on the way down is filled from its parent before use.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use super::chain;
use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

pub(super) fn create(mount: &Path, rel: &Path) -> Result<(), CgroupError> {
    for (dir, parent) in chain(mount, rel) {
        fsio::mkdir(&dir)?;
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if fsio::read(&dir, file)?.trim().is_empty() {
                let from_parent = fsio::read(&parent, file)?;
                fsio::write(&dir, file, from_parent.trim())?;
            }
        }
    }
    Ok(())
}

pub(super) fn wants(c: &LinuxCpu) -> bool {
    c.cpus().as_deref().is_some_and(|s| !s.is_empty())
        || c.mems().as_deref().is_some_and(|s| !s.is_empty())
}

pub(super) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        fsio::write(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        fsio::write(dir, "cpuset.mems", mems)?;
    }
    Ok(())
}
