//! cgroup.freeze, confirmed by "frozen 1" in cgroup.events.

use std::path::Path;
use std::time::Duration;

use super::{events, set};
use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

pub(super) const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn freeze(dir: &Path, timeout: Duration) -> Result<(), CgroupError> {
    set(dir, "cgroup.freeze", "1")?;
    if events::wait_for(dir, "frozen", 1, timeout)? {
        return Ok(());
    }
    // Half-frozen is worse than running: undo before reporting.
    let _ = set(dir, "cgroup.freeze", "0");
    Err(CgroupError::Timeout {
        path: dir.to_path_buf(),
        what: "cgroup.events \"frozen 1\"",
        waited: timeout,
    })
}

pub(super) fn thaw(dir: &Path) -> Result<(), CgroupError> {
    set(dir, "cgroup.freeze", "0")
}

/// Whether this cgroup asked to be frozen (not merely frozen by an ancestor).
pub(super) fn is_frozen(dir: &Path) -> Result<bool, CgroupError> {
    Ok(fsio::read_opt(dir, "cgroup.freeze")?.is_some_and(|s| s.trim() == "1"))
}
