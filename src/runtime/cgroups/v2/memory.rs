//! memory.max, memory.swap.max (OCI's memory+swap minus memory), memory.low (reservation).
//! Kernel memory, swappiness and the OOM-killer switch have no v2 knob and are ignored, as runc
//! does.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use super::set;
use crate::runtime::cgroups::convert;
use crate::runtime::cgroups::error::CgroupError;

pub(super) fn apply(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    let limit = m.limit().unwrap_or(0);
    let swap = m.swap().unwrap_or(0);
    let swap_max = convert::swap_v2(limit, swap).map_err(|reason| CgroupError::Resource {
        what: "memory swap limit",
        reason,
    })?;
    if let Some(s) = swap_max {
        let value = convert::v2_limit(s);
        if let Err(e) = set(dir, "memory.swap.max", &value) {
            // Without swap accounting there is no file; "max" and "0" then already hold.
            let harmless = matches!(e, CgroupError::ControllerMissing { .. })
                && (value == "max" || value == "0")
                && dir.join("memory.max").exists();
            if !harmless {
                return Err(e);
            }
        }
    }
    if limit != 0 {
        set(dir, "memory.max", &convert::v2_limit(limit))?;
    }
    if let Some(low) = m.reservation().filter(|r| *r != 0) {
        set(dir, "memory.low", &convert::v2_limit(low))?;
    }
    Ok(())
}
