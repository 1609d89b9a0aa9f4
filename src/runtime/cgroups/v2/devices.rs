//! v2 has no devices files: access is enforced by an eBPF program attached to the directory.

use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::runtime::cgroups::devices::{self, DeviceState};
use crate::runtime::cgroups::error::CgroupError;

/// An empty list leaves the current policy alone, as on v1 (where it writes nothing).
pub(super) fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    if rules.is_empty() {
        return Ok(());
    }
    let state = DeviceState::from_rules(&devices::rules_from_oci(rules)?);
    let program = devices::program::compile(&state);
    devices::bpf::replace_device_program(dir, &program)
}
