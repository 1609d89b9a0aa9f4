//! Glue between containers and `runtime::cgroups::Manager`: which cgroup a container has, and
//! the resources it is created with.

use std::path::Path;

use oci_spec::runtime::{LinuxResources, Spec};

use crate::runtime::cgroups::{CgroupError, Manager};
use crate::runtime::container::ContainerState;
use crate::runtime::rootfs::device;

pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// `linux.cgroupsPath`, when set. A container without one gets no cgroup of its own (the
/// runtime-spec leaves the default to the runtime); pause, update and events need one.
pub fn cgroups_path(spec: &Spec) -> Option<String> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.display().to_string())
        .filter(|p| !p.is_empty())
}

pub fn open(id: &str, cgroups_path: &str) -> Result<Manager, CgroupError> {
    Manager::new(Path::new(CGROUP_ROOT), cgroups_path, id)
}

/// The manager of an existing container, if it has a cgroup.
pub fn for_container(st: &ContainerState) -> Result<Option<Manager>, CgroupError> {
    st.cgroups_path
        .as_deref()
        .map(|p| open(&st.id, p))
        .transpose()
}

/// The config's resources with the default device rules appended (runc does the same, so a
/// deny-all device rule never locks out /dev/null and friends).
pub fn creation_resources(spec: &Spec) -> LinuxResources {
    let mut r = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let mut devices = r.devices().clone().unwrap_or_default();
    devices.extend(device::default_allow_rules());
    r.set_devices(Some(devices));
    r
}
