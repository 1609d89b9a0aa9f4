//! Removing a cgroup directory tree, leaves first.

use std::fs;
use std::io;
use std::path::Path;
use std::thread;
use std::time::Duration;

use super::error::CgroupError;

/// Removes `dir` and any sub-cgroups. rmdir fails with EBUSY while exiting tasks are still
/// being accounted; cgroup v1 has no event for "now empty", so that case is retried with a
/// doubling delay, about 1s in total.
pub(crate) fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Io {
                op: "read directory",
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path())?;
        }
    }
    rmdir_retrying(dir)
}

fn rmdir_retrying(dir: &Path) -> Result<(), CgroupError> {
    let mut delay = Duration::from_millis(1);
    let mut tries = 0;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 10 => {
                thread::sleep(delay);
                delay *= 2;
                tries += 1;
            }
            Err(source) => {
                return Err(CgroupError::Io {
                    op: "rmdir",
                    path: dir.to_path_buf(),
                    source,
                });
            }
        }
    }
}
