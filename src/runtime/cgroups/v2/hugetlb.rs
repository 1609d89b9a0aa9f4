//! hugetlb.<size>.max, and the reservation limit hugetlb.<size>.rsvd.max when the kernel has it.

use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use super::set;
use crate::runtime::cgroups::convert;
use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

pub(crate) fn apply(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for l in limits {
        let value = convert::v2_limit(l.limit());
        let size = l.page_size();
        set(dir, &format!("hugetlb.{size}.max"), &value)?;
        let rsvd = format!("hugetlb.{size}.rsvd.max");
        if fsio::exists(dir, &rsvd) {
            set(dir, &rsvd, &value)?;
        }
    }
    Ok(())
}
