//! Creating a v2 cgroup: each directory on the way down, with every controller its parent has
//! enabled for it in the parent's cgroup.subtree_control (a child only gets the controllers its
//! parent delegates).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

/// Makes `root/rel`, enabling all available controllers on each ancestor. Idempotent.
pub(crate) fn create(root: &Path, rel: &Path) -> Result<PathBuf, CgroupError> {
    let mut dir = root.to_path_buf();
    for part in rel.components() {
        enable_controllers(&dir, None)?;
        dir.push(part);
        fsio::mkdir(&dir)?;
    }
    Ok(dir)
}

/// Enables the named controllers (all available ones when `only` is None) for `dir`'s children.
/// A controller the kernel refuses (one a parent holding processes cannot delegate) is left
/// off; the knob write that needs it then fails with `ControllerMissing`.
pub(crate) fn enable_controllers(dir: &Path, only: Option<&[&str]>) -> Result<(), CgroupError> {
    let words = |file| -> Result<BTreeSet<String>, CgroupError> {
        Ok(fsio::read(dir, file)?
            .split_whitespace()
            .map(str::to_string)
            .collect())
    };
    let available = words("cgroup.controllers")?;
    let enabled = words("cgroup.subtree_control")?;
    let missing: Vec<&String> = available
        .iter()
        .filter(|c| !enabled.contains(*c))
        .filter(|c| only.is_none_or(|o| o.contains(&c.as_str())))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let all = missing
        .iter()
        .map(|c| format!("+{c}"))
        .collect::<Vec<_>>()
        .join(" ");
    if fsio::write(dir, "cgroup.subtree_control", &all).is_err() {
        for c in missing {
            let _ = fsio::write(dir, "cgroup.subtree_control", &format!("+{c}"));
        }
    }
    Ok(())
}

/// Enables `controllers` on every ancestor of `root/rel` (not on the leaf itself).
pub(crate) fn enable_on_ancestors(
    root: &Path,
    rel: &Path,
    controllers: &[&str],
) -> Result<(), CgroupError> {
    let mut dir = root.to_path_buf();
    for part in rel.components() {
        enable_controllers(&dir, Some(controllers))?;
        dir.push(part);
    }
    Ok(())
}
