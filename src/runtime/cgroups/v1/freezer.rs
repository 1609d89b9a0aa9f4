//! freezer.state. v1 has no notification for FREEZING -> FROZEN, so the state is re-requested
//! and re-read a bounded number of times; new tasks forking in can keep a cgroup FREEZING, and
//! a short thaw now and then lets it settle (the same empirical approach as runc).

use std::path::Path;
use std::thread;
use std::time::Duration;

use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

const ATTEMPTS: u32 = 1000;

pub(super) fn freeze(dir: &Path) -> Result<(), CgroupError> {
    for i in 0..ATTEMPTS {
        if i % 50 == 49 {
            fsio::write(dir, "freezer.state", "THAWED")?;
            thread::sleep(Duration::from_millis(10));
        }
        fsio::write(dir, "freezer.state", "FROZEN")?;
        if i % 25 == 24 {
            thread::sleep(Duration::from_micros(100));
        }
        let state = fsio::read(dir, "freezer.state")?;
        match state.trim() {
            "FROZEN" => return Ok(()),
            "FREEZING" => continue,
            other => {
                let _ = fsio::write(dir, "freezer.state", "THAWED");
                return Err(CgroupError::Parse {
                    path: dir.join("freezer.state"),
                    reason: format!("unexpected state {other:?} while freezing"),
                });
            }
        }
    }
    // Stuck in FREEZING: leave it running rather than half-frozen.
    let _ = fsio::write(dir, "freezer.state", "THAWED");
    Err(CgroupError::Timeout {
        path: dir.join("freezer.state"),
        what: "FROZEN",
        waited: Duration::from_millis(10) * (ATTEMPTS / 50),
    })
}

pub(super) fn thaw(dir: &Path) -> Result<(), CgroupError> {
    fsio::write(dir, "freezer.state", "THAWED")
}

/// freezer.self_freezing says whether this cgroup asked to be frozen (not merely an ancestor);
/// without it, the state is the answer.
pub(super) fn is_frozen(dir: &Path) -> Result<bool, CgroupError> {
    if let Some(s) = fsio::read_opt(dir, "freezer.self_freezing")? {
        return Ok(s.trim() == "1");
    }
    Ok(fsio::read_opt(dir, "freezer.state")?.is_some_and(|s| s.trim() != "THAWED"))
}
