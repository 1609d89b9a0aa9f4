//! cpu.shares, CFS quota/period/burst, cpu.idle, realtime runtime/period.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

pub(super) fn wants(c: &LinuxCpu) -> bool {
    c.shares().is_some_and(|v| v != 0)
        || c.quota().is_some_and(|v| v != 0)
        || c.period().is_some_and(|v| v != 0)
        || c.burst().is_some()
        || c.idle().is_some()
        || c.realtime_runtime().is_some_and(|v| v != 0)
        || c.realtime_period().is_some_and(|v| v != 0)
}

pub(super) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(shares) = c.shares().filter(|s| *s != 0) {
        fsio::write(dir, "cpu.shares", &shares.to_string())?;
        // The kernel clamps out-of-range shares silently; say so instead.
        let got = fsio::read_u64(dir, "cpu.shares")?;
        if got != shares {
            return Err(CgroupError::Resource {
                what: "cpu shares",
                reason: format!("{shares} is out of range, the kernel set {got}"),
            });
        }
    }
    let quota = c.quota().filter(|q| *q != 0);
    pair(
        dir,
        (
            "cpu.cfs_period_us",
            c.period().filter(|p| *p != 0).map(|p| p.to_string()),
        ),
        ("cpu.cfs_quota_us", quota.map(|q| q.to_string())),
    )?;
    if let Some(burst) = c.burst() {
        match fsio::write(dir, "cpu.cfs_burst_us", &burst.to_string()) {
            // Kernels before 5.14 have no burst knob.
            Err(e) if e.is_not_found() => {}
            other => other?,
        }
    }
    if let Some(idle) = c.idle() {
        fsio::write(dir, "cpu.idle", &idle.to_string())?;
    }
    pair(
        dir,
        (
            "cpu.rt_period_us",
            c.realtime_period()
                .filter(|p| *p != 0)
                .map(|p| p.to_string()),
        ),
        (
            "cpu.rt_runtime_us",
            c.realtime_runtime()
                .filter(|r| *r != 0)
                .map(|r| r.to_string()),
        ),
    )
}

/// Writes a period then its budget. The kernel checks each write against the other value
/// already in place, so a period it refuses (EINVAL) is retried once the budget is written.
fn pair(
    dir: &Path,
    (period_file, period): (&str, Option<String>),
    (budget_file, budget): (&str, Option<String>),
) -> Result<(), CgroupError> {
    let mut retry_period = None;
    if let Some(p) = period {
        match fsio::write(dir, period_file, &p) {
            Err(e) if e.errno() == Some(libc::EINVAL) && budget.is_some() => retry_period = Some(p),
            other => other?,
        }
    }
    if let Some(b) = budget {
        fsio::write(dir, budget_file, &b)?;
        if let Some(p) = retry_period {
            fsio::write(dir, period_file, &p)?;
        }
    }
    Ok(())
}
