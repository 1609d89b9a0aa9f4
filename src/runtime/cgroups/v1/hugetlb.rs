//! hugetlb.<size>.limit_in_bytes on the v1 hugetlb hierarchy; on hybrid hosts where hugetlb is
//! bound to the cgroup2 mount instead, the v2 knobs of the container's directory there.

use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;
use crate::runtime::cgroups::v2;

pub(super) fn apply(
    v1_dir: Option<std::path::PathBuf>,
    unified: Option<&Path>,
    rel: &Path,
    limits: &[LinuxHugepageLimit],
) -> Result<(), CgroupError> {
    if let Some(dir) = v1_dir {
        for l in limits {
            let size = l.page_size();
            let value = l.limit().to_string();
            fsio::write(&dir, &format!("hugetlb.{size}.limit_in_bytes"), &value)?;
            let rsvd = format!("hugetlb.{size}.rsvd.limit_in_bytes");
            if fsio::exists(&dir, &rsvd) {
                fsio::write(&dir, &rsvd, &value)?;
            }
        }
        return Ok(());
    }
    let on_v2 = unified.filter(|u| {
        fsio::read(u, "cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|w| w == "hugetlb"))
    });
    let Some(unified) = on_v2 else {
        return Err(CgroupError::ControllerMissing {
            controller: "hugetlb".into(),
            what: "hugepage limits".into(),
            path: rel.to_path_buf(),
        });
    };
    v2::create::enable_on_ancestors(unified, rel, &["hugetlb"])?;
    v2::hugetlb::apply(&unified.join(rel), limits)
}
