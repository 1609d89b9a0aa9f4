use std::path::Path;

use oci_spec::runtime::LinuxPids;

use super::set;
use crate::runtime::cgroups::convert;
use crate::runtime::cgroups::error::CgroupError;

pub(super) fn apply(dir: &Path, p: &LinuxPids) -> Result<(), CgroupError> {
    set(dir, "pids.max", &convert::pids_max(p.limit()))
}
