//! Turns the OCI `linux.cgroupsPath` into a clean path relative to a hierarchy's root.

use std::path::PathBuf;

use super::error::CgroupError;

/// Parent of the default per-container cgroup (like dockerd's "/docker").
pub const DEFAULT_PARENT: &str = "berth";

/// Absolute and relative paths both resolve under the hierarchy root (we never nest under the
/// runtime's own cgroup: the shim's cgroup is not a place for containers). An empty path means
/// "/berth/<id>".
pub(crate) fn resolve(cgroups_path: &str, id: &str) -> Result<PathBuf, CgroupError> {
    if cgroups_path.is_empty() {
        if id.is_empty() || id.contains('/') || id == "." || id == ".." {
            return Err(CgroupError::InvalidPath {
                path: format!("/{DEFAULT_PARENT}/{id}"),
                reason: "the container id is not a single path component",
            });
        }
        return Ok(PathBuf::from(DEFAULT_PARENT).join(id));
    }
    if is_systemd_form(cgroups_path) {
        return Err(CgroupError::SystemdPath {
            path: cgroups_path.to_string(),
        });
    }
    let mut rel = PathBuf::new();
    for part in cgroups_path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(CgroupError::InvalidPath {
                    path: cgroups_path.to_string(),
                    reason: "\"..\" would leave the cgroup hierarchy",
                });
            }
            name => rel.push(name),
        }
    }
    if rel.as_os_str().is_empty() {
        return Err(CgroupError::InvalidPath {
            path: cgroups_path.to_string(),
            reason: "it names the root cgroup, which a container cannot own",
        });
    }
    Ok(rel)
}

/// runc's systemd driver takes "slice:prefix:name"; cgroupfs paths never look like that.
fn is_systemd_form(p: &str) -> bool {
    !p.contains('/') && p.split(':').count() == 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_path_is_berth_id() {
        assert_eq!(resolve("", "abc").unwrap(), PathBuf::from("berth/abc"));
        assert!(resolve("", "a/b").is_err());
        assert!(resolve("", "").is_err());
    }

    #[test]
    fn absolute_and_relative_resolve_the_same() {
        assert_eq!(
            resolve("/docker/x", "id").unwrap(),
            PathBuf::from("docker/x")
        );
        assert_eq!(
            resolve("docker/x", "id").unwrap(),
            PathBuf::from("docker/x")
        );
        assert_eq!(resolve("//a/./b/", "id").unwrap(), PathBuf::from("a/b"));
    }

    #[test]
    fn rejects_escape_root_and_systemd() {
        assert!(matches!(
            resolve("/a/../../etc", "id"),
            Err(CgroupError::InvalidPath { .. })
        ));
        assert!(matches!(
            resolve("/", "id"),
            Err(CgroupError::InvalidPath { .. })
        ));
        let e = resolve("system.slice:docker:abc", "id").unwrap_err();
        assert!(matches!(e, CgroupError::SystemdPath { .. }));
        assert!(e.to_string().contains("system.slice:docker:abc"), "{e}");
    }
}
