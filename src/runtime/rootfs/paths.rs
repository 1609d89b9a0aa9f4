//! `linux.maskedPaths` and `linux.readonlyPaths`, applied after pivot_root (paths are the
//! container's own). Masking binds /dev/null over a file and mounts an empty read-only tmpfs
//! over a directory; read-only paths are bound onto themselves and remounted read-only. Paths
//! that do not exist are skipped, as runc does.

use std::fs;
use std::io;
use std::path::Path;

use crate::runtime::rootfs::mount::{self, MountError};

fn exists(path: &Path) -> io::Result<Option<fs::Metadata>> {
    match fs::metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn io_as_mount(path: &Path, source: io::Error) -> MountError {
    MountError::Mount {
        source_path: String::new(),
        target: path.display().to_string(),
        fstype: String::new(),
        flags: 0,
        data: String::new(),
        source,
    }
}

pub fn mask(path: &Path) -> Result<(), MountError> {
    let Some(meta) = exists(path).map_err(|e| io_as_mount(path, e))? else {
        return Ok(());
    };
    if meta.is_dir() {
        mount::mount(Path::new("tmpfs"), path, "tmpfs", libc::MS_RDONLY, "")
    } else {
        mount::mount(Path::new("/dev/null"), path, "", libc::MS_BIND, "")
    }
}

pub fn readonly(path: &Path) -> Result<(), MountError> {
    if exists(path).map_err(|e| io_as_mount(path, e))?.is_none() {
        return Ok(());
    }
    mount::mount(path, path, "", libc::MS_BIND | libc::MS_REC, "")?;
    mount::bind_remount(path, libc::MS_RDONLY | libc::MS_REC)
}

/// Makes the whole root read-only (`root.readonly`).
pub fn readonly_root() -> Result<(), MountError> {
    mount::bind_remount(Path::new("/"), libc::MS_RDONLY)
}
