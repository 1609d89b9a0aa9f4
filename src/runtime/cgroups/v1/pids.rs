use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::runtime::cgroups::convert;
use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

pub(super) fn apply(dir: &Path, p: &LinuxPids) -> Result<(), CgroupError> {
    fsio::write(dir, "pids.max", &convert::pids_max(p.limit()))
}
