//! An exclusive lock on a data root, so two daemons never share one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Held for the daemon's lifetime; the kernel drops the lock when the process dies, however.
pub struct DataRootLock {
    _file: File,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another berthd is using data root {root} (lock {path} held by pid {pid}); stop it or use another --data-root"
    )]
    Held {
        root: PathBuf,
        path: PathBuf,
        pid: String,
    },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl DataRootLock {
    pub fn acquire(root: &Path) -> Result<DataRootLock, LockError> {
        let path = root.join("berthd.lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                return Err(LockError::Held {
                    root: root.to_path_buf(),
                    path,
                    pid: pid.trim().to_string(),
                });
            }
            return Err(io(err));
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DataRootLock { _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataRootLock::acquire(dir.path()).unwrap();
        let e = DataRootLock::acquire(dir.path()).err().unwrap().to_string();
        assert!(e.contains("another berthd"), "{e}");
        assert!(e.contains(&std::process::id().to_string()), "{e}");
        drop(first);
        DataRootLock::acquire(dir.path()).unwrap();
    }
}
