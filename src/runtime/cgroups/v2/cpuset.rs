use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use super::set;
use crate::runtime::cgroups::error::CgroupError;

pub(super) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        set(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        set(dir, "cpuset.mems", mems)?;
    }
    Ok(())
}
