//! memory.limit_in_bytes, memory.memsw.limit_in_bytes (memory+swap), soft limit, OOM killer
//! switch, swappiness. Kernel memory limits are ignored (the kernel dropped them).

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

pub(super) fn wants(m: &LinuxMemory) -> bool {
    m.limit().is_some_and(|v| v != 0)
        || m.swap().is_some_and(|v| v != 0)
        || m.reservation().is_some_and(|v| v != 0)
        || m.disable_oom_killer() == Some(true)
        || m.swappiness().is_some_and(|v| v as i64 != -1)
}

pub(super) fn apply(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    set_memory_and_swap(dir, m.limit().unwrap_or(0), m.swap().unwrap_or(0))?;
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        fsio::write(dir, "memory.soft_limit_in_bytes", &r.to_string())?;
    }
    if m.disable_oom_killer() == Some(true) {
        fsio::write(dir, "memory.oom_control", "1")?;
    }
    // -1 (as u64) is how some callers say "unset".
    if let Some(s) = m.swappiness().filter(|s| *s as i64 != -1) {
        if s > 100 {
            return Err(CgroupError::Resource {
                what: "memory swappiness",
                reason: format!("{s} is outside 0-100"),
            });
        }
        fsio::write(dir, "memory.swappiness", &s.to_string())?;
    }
    Ok(())
}

/// The kernel requires memsw >= memory at every moment, so the order of the two writes depends
/// on whether the limits grow or shrink.
fn set_memory_and_swap(dir: &Path, limit: i64, mut swap: i64) -> Result<(), CgroupError> {
    // Unlimited memory with swap unset means unlimited swap as well.
    if limit == -1 && swap == 0 && fsio::exists(dir, MEMSW) {
        swap = -1;
    }
    if limit != 0 && swap != 0 {
        let current = fsio::read_u64(dir, LIMIT)?;
        if swap == -1 || current < swap as u64 {
            set_swap(dir, swap)?;
            return set_limit(dir, limit);
        }
    }
    set_limit(dir, limit)?;
    set_swap(dir, swap)
}

fn set_limit(dir: &Path, limit: i64) -> Result<(), CgroupError> {
    if limit == 0 {
        return Ok(());
    }
    match fsio::write(dir, LIMIT, &limit.to_string()) {
        // EBUSY: the kernel could not reclaim down to the new limit.
        Err(e) if e.errno() == Some(libc::EBUSY) => Err(CgroupError::MemoryBelowUsage {
            path: dir.to_path_buf(),
            limit,
            usage: fsio::read_u64(dir, "memory.usage_in_bytes")?,
            peak: fsio::read_u64(dir, "memory.max_usage_in_bytes")?,
        }),
        other => other,
    }
}

fn set_swap(dir: &Path, swap: i64) -> Result<(), CgroupError> {
    if swap == 0 {
        return Ok(());
    }
    fsio::write(dir, MEMSW, &swap.to_string())
}
