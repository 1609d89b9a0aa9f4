//! The symlinks a container's /dev is expected to have: fd, stdin, stdout, stderr (into
//! /proc/self), core when the host has /proc/kcore, and ptmx pointing into the container's own
//! devpts instance.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::runtime::rootfs::resolve;

#[derive(Debug, thiserror::Error)]
pub enum SymlinkError {
    #[error("cannot create symlink {link} -> {target}: {source}")]
    Create {
        link: PathBuf,
        target: String,
        source: io::Error,
    },
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
}

/// (link inside the container, target) for the standard /dev links.
pub fn dev_links(host_has_kcore: bool) -> Vec<(&'static str, &'static str)> {
    let mut links = vec![
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ];
    if host_has_kcore {
        links.push(("/dev/core", "/proc/kcore"));
    }
    links
}

fn make_link(rootfs: &Path, link: &str, target: &str, replace: bool) -> Result<(), SymlinkError> {
    let host = resolve::secure_join_parent(rootfs, Path::new(link))?;
    let err = |source| SymlinkError::Create {
        link: PathBuf::from(link),
        target: target.to_string(),
        source,
    };
    if replace {
        match fs::remove_file(&host) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
    }
    match symlink(target, &host) {
        Ok(()) => Ok(()),
        // An image may ship these already; runc keeps what is there.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err(e)),
    }
}

pub fn create_dev_links(rootfs: &Path) -> Result<(), SymlinkError> {
    let kcore = Path::new("/proc/kcore").exists();
    for (link, target) in dev_links(kcore) {
        make_link(rootfs, link, target, false)?;
    }
    Ok(())
}

/// /dev/ptmx -> pts/ptmx, so ptys come from the container's devpts instance.
pub fn link_ptmx(rootfs: &Path) -> Result<(), SymlinkError> {
    make_link(rootfs, "/dev/ptmx", "pts/ptmx", true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_created_once() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("dev")).unwrap();
        create_dev_links(dir.path()).unwrap();
        create_dev_links(dir.path()).unwrap();
        assert_eq!(
            fs::read_link(dir.path().join("dev/stdout")).unwrap(),
            PathBuf::from("/proc/self/fd/1")
        );
        fs::write(dir.path().join("dev/ptmx"), "").unwrap();
        link_ptmx(dir.path()).unwrap();
        assert_eq!(
            fs::read_link(dir.path().join("dev/ptmx")).unwrap(),
            PathBuf::from("pts/ptmx")
        );
        assert_eq!(dev_links(true).len(), 5);
    }
}
