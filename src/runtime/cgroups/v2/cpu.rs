//! cpu.weight (from shares), cpu.max (quota/period), cpu.max.burst, cpu.idle.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use super::set;
use crate::runtime::cgroups::convert;
use crate::runtime::cgroups::error::CgroupError;

pub(super) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if c.realtime_runtime().is_some_and(|v| v != 0) || c.realtime_period().is_some_and(|v| v != 0) {
        return Err(CgroupError::Resource {
            what: "cpu realtime runtime/period",
            reason: "cgroup v2 has no realtime bandwidth knobs".into(),
        });
    }
    if let Some(idle) = c.idle() {
        set(dir, "cpu.idle", &idle.to_string())?;
    }
    if let Some(shares) = c.shares().filter(|s| *s != 0) {
        set(
            dir,
            "cpu.weight",
            &convert::cpu_shares_to_weight(shares).to_string(),
        )?;
    }
    // A burst above the old quota is refused until the new quota is in; retry it after.
    let mut burst_pending = None;
    if let Some(burst) = c.burst() {
        let value = burst.to_string();
        match set(dir, "cpu.max.burst", &value) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(libc::EINVAL) => burst_pending = Some(value),
            Err(e) => return Err(e),
        }
    }
    if let Some(max) = convert::cpu_max(c.quota(), c.period()) {
        set(dir, "cpu.max", &max)?;
    }
    if let Some(value) = burst_pending {
        set(dir, "cpu.max.burst", &value)?;
    }
    Ok(())
}
