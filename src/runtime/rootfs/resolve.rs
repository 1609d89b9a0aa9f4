//! Resolving container paths on the host without ever leaving the rootfs: symlinks are followed
//! as the container would see them (an absolute target restarts at the rootfs, `..` stops at
//! it). Mount targets are created along the resolved path and then opened O_PATH|O_NOFOLLOW and
//! checked through /proc/self/fd before anything is mounted on them, so a symlink swapped in
//! between cannot redirect a mount onto the host.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed in one resolution before giving up (the kernel's limit is 40 per lookup).
const MAX_SYMLINKS: u32 = 255;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("too many levels of symbolic links resolving {path} in {root}")]
    Loop { root: PathBuf, path: PathBuf },
    #[error("cannot resolve {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} resolved to {actual}, outside the container root {root}")]
    Escaped {
        root: PathBuf,
        path: PathBuf,
        actual: PathBuf,
    },
}

fn components(p: &Path) -> Vec<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// The pure algorithm: `readlink(host_path)` returns the link target when the path is a symlink
/// and `None` when it is anything else or does not exist.
pub fn resolve_with(
    root: &Path,
    unsafe_path: &Path,
    readlink: impl Fn(&Path) -> io::Result<Option<PathBuf>>,
) -> Result<PathBuf, ResolveError> {
    let mut parts: VecDeque<OsString> = components(unsafe_path).into();
    let mut current = PathBuf::new();
    let mut hops = 0;
    while let Some(part) = parts.pop_front() {
        if part == ".." {
            current.pop();
            continue;
        }
        let candidate = current.join(&part);
        let host = root.join(&candidate);
        match readlink(&host).map_err(|source| ResolveError::Io {
            path: host.clone(),
            source,
        })? {
            Some(target) => {
                hops += 1;
                if hops > MAX_SYMLINKS {
                    return Err(ResolveError::Loop {
                        root: root.to_path_buf(),
                        path: unsafe_path.to_path_buf(),
                    });
                }
                if target.is_absolute() {
                    current = PathBuf::new();
                }
                for c in components(&target).into_iter().rev() {
                    parts.push_front(c);
                }
            }
            None => current = candidate,
        }
    }
    Ok(root.join(current))
}

fn fs_readlink(p: &Path) -> io::Result<Option<PathBuf>> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_symlink() => fs::read_link(p).map(Some),
        Ok(_) => Ok(None),
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Resolves `unsafe_path` inside `root` on the real filesystem.
pub fn secure_join(root: &Path, unsafe_path: &Path) -> Result<PathBuf, ResolveError> {
    resolve_with(root, unsafe_path, fs_readlink)
}

/// Resolves the parent of `unsafe_path` inside `root` and appends the last component as is, for
/// creating a symlink or device node at that exact name (never through a link already there).
pub fn secure_join_parent(root: &Path, unsafe_path: &Path) -> Result<PathBuf, ResolveError> {
    let mut parts = components(unsafe_path);
    let Some(last) = parts.pop().filter(|l| l != "..") else {
        return secure_join(root, unsafe_path);
    };
    let parent: PathBuf = parts.iter().collect();
    Ok(secure_join(root, &parent)?.join(last))
}

/// What a mount target must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Dir,
    File,
}

/// Creates the target (and its parents) inside `root` and returns it opened O_PATH, verified to
/// still lie inside `root`.
pub fn create_target(
    root: &Path,
    unsafe_path: &Path,
    kind: TargetKind,
) -> Result<(PathBuf, OwnedFd), ResolveError> {
    let host = secure_join(root, unsafe_path)?;
    let io_err = |source| ResolveError::Io {
        path: host.clone(),
        source,
    };
    match kind {
        TargetKind::Dir => fs::create_dir_all(&host).map_err(io_err)?,
        TargetKind::File => {
            if let Some(parent) = host.parent() {
                fs::create_dir_all(parent).map_err(io_err)?;
            }
            if fs::symlink_metadata(&host).is_err() {
                fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&host)
                    .map_err(io_err)?;
            }
        }
    }
    let fd = open_verified(root, &host)?;
    Ok((host, fd))
}

/// Opens `host` O_PATH|O_NOFOLLOW and checks, through /proc/self/fd, that it is inside `root`.
pub fn open_verified(root: &Path, host: &Path) -> Result<OwnedFd, ResolveError> {
    let io_err = |source| ResolveError::Io {
        path: host.to_path_buf(),
        source,
    };
    let c = std::ffi::CString::new(host.as_os_str().as_bytes())
        .map_err(|e| io_err(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    // SAFETY: open with a C string path.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io_err(io::Error::last_os_error()));
    }
    // SAFETY: fresh descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let actual = fs::read_link(proc_fd_path(&fd)).map_err(io_err)?;
    if !actual.starts_with(root) {
        return Err(ResolveError::Escaped {
            root: root.to_path_buf(),
            path: host.to_path_buf(),
            actual,
        });
    }
    Ok(fd)
}

/// The /proc/self/fd path of a descriptor, usable as a mount target or source.
pub fn proc_fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::symlink;

    fn fake(links: &[(&str, &str)]) -> impl Fn(&Path) -> io::Result<Option<PathBuf>> {
        let map: HashMap<PathBuf, PathBuf> = links
            .iter()
            .map(|(a, b)| (PathBuf::from(a), PathBuf::from(b)))
            .collect();
        move |p: &Path| Ok(map.get(p).cloned())
    }

    #[test]
    fn plain_paths_stay_put() {
        let r = resolve_with(Path::new("/r"), Path::new("/a/b/./c"), fake(&[])).unwrap();
        assert_eq!(r, PathBuf::from("/r/a/b/c"));
    }

    #[test]
    fn dotdot_never_leaves_the_root() {
        let r = resolve_with(Path::new("/r"), Path::new("/../../etc/x"), fake(&[])).unwrap();
        assert_eq!(r, PathBuf::from("/r/etc/x"));
        let r = resolve_with(Path::new("/r"), Path::new("a/../../b"), fake(&[])).unwrap();
        assert_eq!(r, PathBuf::from("/r/b"));
    }

    #[test]
    fn absolute_links_restart_at_the_root() {
        let links = fake(&[
            ("/r/etc", "/host-etc"),
            ("/r/host-etc/passwd", "../../shadow"),
        ]);
        let r = resolve_with(Path::new("/r"), Path::new("/etc/passwd"), links).unwrap();
        assert_eq!(r, PathBuf::from("/r/shadow"));
    }

    #[test]
    fn relative_links_resolve_from_their_directory() {
        let links = fake(&[("/r/a/l", "../b/c")]);
        let r = resolve_with(Path::new("/r"), Path::new("/a/l/d"), links).unwrap();
        assert_eq!(r, PathBuf::from("/r/b/c/d"));
    }

    #[test]
    fn loops_are_detected() {
        let links = fake(&[("/r/a", "/b"), ("/r/b", "/a")]);
        assert!(matches!(
            resolve_with(Path::new("/r"), Path::new("/a"), links),
            Err(ResolveError::Loop { .. })
        ));
    }

    #[test]
    fn real_symlink_to_host_path_is_contained() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("x")).unwrap();
        symlink("/etc", root.join("x/evil")).unwrap();
        symlink("../../../../../tmp", root.join("up")).unwrap();
        assert_eq!(
            secure_join(&root, Path::new("/x/evil/passwd")).unwrap(),
            root.join("etc/passwd")
        );
        assert_eq!(
            secure_join(&root, Path::new("/up/f")).unwrap(),
            root.join("tmp/f")
        );
        let (host, fd) = create_target(&root, Path::new("/x/evil/sub"), TargetKind::Dir).unwrap();
        assert_eq!(host, root.join("etc/sub"));
        assert!(root.join("etc/sub").is_dir());
        assert_eq!(fs::read_link(proc_fd_path(&fd)).unwrap(), host);
        let (host, _) = create_target(&root, Path::new("/up/file"), TargetKind::File).unwrap();
        assert!(host.is_file());
        assert!(!Path::new("/tmp/file").exists() || host != Path::new("/tmp/file"));
    }

    #[test]
    fn parent_resolution_keeps_the_last_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("dev")).unwrap();
        symlink("/proc/self/fd", root.join("dev/fd")).unwrap();
        assert_eq!(
            secure_join_parent(root, Path::new("/dev/fd")).unwrap(),
            root.join("dev/fd")
        );
        assert_eq!(
            secure_join(root, Path::new("/dev/fd")).unwrap(),
            root.join("proc/self/fd")
        );
    }

    #[test]
    fn open_verified_refuses_paths_outside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(&root).unwrap();
        assert!(matches!(
            open_verified(&root, dir.path()),
            Err(ResolveError::Escaped { .. })
        ));
    }
}
