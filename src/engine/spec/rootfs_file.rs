//! Reading a file of the container's filesystem from the host, following its symlinks as they
//! would resolve inside the container: an absolute link or `..` never leaves the rootfs. This is
//! the spec builder's only I/O into the container.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Linux gives up after 40 links; a container's /etc/passwd needs nowhere near that.
const MAX_SYMLINKS: usize = 40;

/// `path` (absolute, as seen inside the container) resolved under `rootfs`, or `None` on a
/// symlink loop. Missing components are kept as they are.
pub(crate) fn resolve_in_root(rootfs: &Path, path: &Path) -> Option<PathBuf> {
    let mut resolved: Vec<OsString> = Vec::new();
    // Components still to walk, last one first (so new link targets are pushed on top).
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, path);
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = join(rootfs, &resolved).join(&part);
        let is_link = candidate
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            resolved.push(part);
            continue;
        }
        links += 1;
        if links > MAX_SYMLINKS {
            return None;
        }
        let target = std::fs::read_link(&candidate).ok()?;
        if target.is_absolute() {
            resolved.clear();
        }
        push_components(&mut pending, &target);
    }
    Some(join(rootfs, &resolved))
}

fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    pending.extend(parts.into_iter().rev());
}

fn join(rootfs: &Path, parts: &[OsString]) -> PathBuf {
    let mut p = rootfs.to_path_buf();
    p.extend(parts);
    p
}

/// The file's text, or `None` if it cannot be read for any reason: dockerd treats an unreadable
/// /etc/passwd or /etc/group exactly like a missing one.
pub(crate) fn read(rootfs: &Path, path: &str) -> Option<String> {
    let host_path = resolve_in_root(rootfs, Path::new(path))?;
    let bytes = std::fs::read(host_path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root() -> tempfile::TempDir {
        match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        }
    }

    fn write(p: &Path, s: &str) {
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(p, s).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn plain_file() {
        let d = root();
        write(&d.path().join("etc/passwd"), "x");
        assert_eq!(read(d.path(), "/etc/passwd").as_deref(), Some("x"));
    }

    #[test]
    fn missing_file_is_none() {
        let d = root();
        assert_eq!(read(d.path(), "/etc/passwd"), None);
    }

    #[test]
    fn absolute_symlink_stays_inside_the_rootfs() {
        let d = root();
        write(&d.path().join("real/passwd"), "inside");
        std::fs::create_dir_all(d.path().join("etc")).unwrap_or_else(|e| panic!("{e}"));
        symlink("/real/passwd", d.path().join("etc/passwd")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(d.path(), "/etc/passwd").as_deref(), Some("inside"));
    }

    #[test]
    fn dotdot_cannot_climb_out() {
        let d = root();
        write(&d.path().join("passwd"), "top of rootfs");
        std::fs::create_dir_all(d.path().join("etc")).unwrap_or_else(|e| panic!("{e}"));
        symlink("../../../../../passwd", d.path().join("etc/passwd"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            read(d.path(), "/etc/passwd").as_deref(),
            Some("top of rootfs")
        );
    }

    #[test]
    fn symlinked_directory() {
        let d = root();
        write(&d.path().join("usr/etc/group"), "g");
        symlink("usr/etc", d.path().join("etc")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(d.path(), "/etc/group").as_deref(), Some("g"));
    }

    #[test]
    fn symlink_loop_is_none() {
        let d = root();
        std::fs::create_dir_all(d.path().join("etc")).unwrap_or_else(|e| panic!("{e}"));
        symlink("/etc/b", d.path().join("etc/a")).unwrap_or_else(|e| panic!("{e}"));
        symlink("/etc/a", d.path().join("etc/b")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resolve_in_root(d.path(), Path::new("/etc/a")), None);
    }

    #[test]
    fn directory_instead_of_file_is_none() {
        let d = root();
        std::fs::create_dir_all(d.path().join("etc/passwd")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(d.path(), "/etc/passwd"), None);
    }
}
