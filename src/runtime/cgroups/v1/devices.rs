//! devices.allow / devices.deny, one rule a write, in the spec's order (the kernel's state
//! machine then reaches what `DeviceState` computes). Re-applying the same policy to a running
//! container writes nothing, so it never passes through "deny all".

use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::runtime::cgroups::devices::{self, DeviceState};
use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

pub(super) fn apply(dir: &Path, oci: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let rules = devices::rules_from_oci(oci)?;
    let target = DeviceState::from_rules(&rules);
    // devices.list shows a default-deny state exactly (allow-all hides its deny exceptions).
    if !target.default_allow {
        let current =
            fsio::read_opt(dir, "devices.list")?.and_then(|text| DeviceState::from_v1_list(&text));
        if current.is_some_and(|c| c.same_as(&target)) {
            return Ok(());
        }
    }
    for rule in &rules {
        let file = if rule.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        fsio::write(dir, file, &rule.v1_line())?;
    }
    Ok(())
}
