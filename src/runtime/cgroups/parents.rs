//! The parent cgroups made for one container (a `--cgroup-parent` such as /a/b that did not
//! exist), so they can go with it: only those, never one that existed before (the hierarchy
//! root, an admin's own parent), and only when empty (a parent shared with another container
//! fails rmdir with EBUSY and stays).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::CgroupError;

/// The directories strictly between `base` and `base/rel`, deepest first.
pub(crate) fn ancestors(base: &Path, rel: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dir = base.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        dir.push(part);
        out.push(dir.clone());
    }
    out.reverse();
    out
}

/// The ancestors (under every base) that do not exist yet.
pub(crate) fn missing(bases: &[PathBuf], rel: &Path) -> Vec<PathBuf> {
    bases
        .iter()
        .flat_map(|b| ancestors(b, rel))
        .filter(
            |d| matches!(fs::symlink_metadata(d), Err(e) if e.kind() == io::ErrorKind::NotFound),
        )
        .collect()
}

/// Removes the `recorded` directories that are ancestors of this container's cgroup (anything
/// else in the record is ignored), deepest first. Gone, busy or non-empty ones are fine; the
/// first other failure is reported after trying all.
pub(crate) fn remove(
    bases: &[PathBuf],
    rel: &Path,
    recorded: &[PathBuf],
) -> Result<(), CgroupError> {
    let mut first_err = None;
    for base in bases {
        for dir in ancestors(base, rel) {
            if !recorded.contains(&dir) {
                continue;
            }
            match fs::remove_dir(&dir) {
                Ok(()) => {}
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        || matches!(e.raw_os_error(), Some(libc::EBUSY | libc::ENOTEMPTY)) => {}
                Err(source) => {
                    first_err.get_or_insert(CgroupError::Io {
                        op: "rmdir",
                        path: dir,
                        source,
                    });
                }
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_are_strict_and_deepest_first() {
        let a = ancestors(Path::new("/cg/cpu"), Path::new("x/y/id"));
        assert_eq!(
            a,
            vec![PathBuf::from("/cg/cpu/x/y"), PathBuf::from("/cg/cpu/x")]
        );
        assert!(ancestors(Path::new("/cg"), Path::new("id")).is_empty());
        assert!(ancestors(Path::new("/cg"), Path::new("")).is_empty());
    }

    #[test]
    fn only_missing_recorded_and_empty_parents_go() {
        let t = tempfile::tempdir().unwrap();
        let (h1, h2) = (t.path().join("h1"), t.path().join("h2"));
        fs::create_dir_all(h1.join("admin")).unwrap();
        fs::create_dir_all(&h2).unwrap();
        let bases = vec![h1.clone(), h2.clone()];
        let rel = Path::new("admin/new/id");
        let rec = missing(&bases, rel);
        assert_eq!(
            rec,
            vec![h1.join("admin/new"), h2.join("admin/new"), h2.join("admin")]
        );
        for b in &bases {
            fs::create_dir_all(b.join(rel)).unwrap();
        }
        // A sibling keeps h1's new parent busy (a plain directory: ENOTEMPTY, as EBUSY on a cgroup).
        fs::create_dir(h1.join("admin/new/other")).unwrap();
        for b in &bases {
            fs::remove_dir(b.join(rel)).unwrap();
        }
        // A path outside the container's ancestry is never touched, even if recorded.
        let mut forged = rec.clone();
        forged.push(t.path().to_path_buf());
        forged.push(h1.join("admin/new/other"));
        remove(&bases, rel, &forged).unwrap();
        assert!(h1.join("admin/new/other").exists());
        assert!(h1.join("admin").exists(), "the admin's parent stays");
        assert!(!h2.join("admin").exists());
        assert!(h2.exists(), "the hierarchy root stays");
        // Once the sibling is gone, a second pass finishes the job; gone ones are fine.
        fs::remove_dir(h1.join("admin/new/other")).unwrap();
        remove(&bases, rel, &rec).unwrap();
        assert!(!h1.join("admin/new").exists());
        assert!(h1.join("admin").exists());
    }

    fn dirs_only(m: &crate::runtime::cgroups::Manager, rel: &Path) {
        let rec = m.missing_parents();
        for d in m.dirs() {
            fs::create_dir_all(&d).unwrap();
        }
        assert!(m.missing_parents().is_empty());
        for d in m.dirs() {
            fs::remove_dir(&d).unwrap();
        }
        m.remove_parents(&rec).unwrap();
        for d in &rec {
            assert!(!d.exists(), "{} made for the container", d.display());
        }
        assert!(!rec.is_empty() && rel.components().count() > 1);
    }

    #[test]
    fn both_layouts_record_and_remove_their_parents() {
        use crate::runtime::cgroups::Manager;
        use crate::runtime::cgroups::detect::{Hierarchy, Layout};
        let rel = Path::new("p/q/id");

        let t = tempfile::tempdir().unwrap();
        let m = Manager::with_layout(t.path(), Layout::Unified, rel.to_path_buf());
        assert_eq!(
            m.missing_parents(),
            vec![t.path().join("p/q"), t.path().join("p")]
        );
        dirs_only(&m, rel);
        assert!(t.path().exists());

        let t = tempfile::tempdir().unwrap();
        let h = |name: &str| {
            fs::create_dir(t.path().join(name)).unwrap();
            Hierarchy {
                mount: t.path().join(name),
                controllers: vec![name.to_string()],
            }
        };
        let layout = Layout::Legacy {
            hierarchies: vec![h("memory"), h("pids")],
            unified: Some(h("unified").mount),
        };
        let m = Manager::with_layout(t.path(), layout, rel.to_path_buf());
        assert_eq!(m.missing_parents().len(), 6);
        dirs_only(&m, rel);
        for name in ["memory", "pids", "unified"] {
            assert!(t.path().join(name).exists());
        }
    }
}
