//! Crash-safe file operations: a reader never sees a half-written file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Writes `data` to `path` through a temporary sibling, fsync and rename, then syncs the directory.
pub fn atomic_write(path: &Path, data: &[u8]) -> io::Result<()> {
    write_via_sibling(path, data, true)
}

/// Writes `data` to `path` through a temporary sibling and a rename, without fsync: readers, and
/// a process killed midway, never see a half-written file. For runtime state under the exec root
/// (bundles, pid and exit files, the runtime's state.json), which lives no longer than the boot
/// (it is a tmpfs in a normal install), so a power loss leaves nothing that needed keeping.
pub fn replace_file(path: &Path, data: &[u8]) -> io::Result<()> {
    write_via_sibling(path, data, false)
}

fn write_via_sibling(path: &Path, data: &[u8], durable: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        if durable {
            f.sync_all()?;
        }
    }
    fs::rename(&tmp, path)?;
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}

/// fsyncs a directory so a rename or create inside it survives a power loss.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes a file or directory tree; a missing path is not an error.
pub fn remove_all(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn remove_all_tolerates_missing() {
        let dir = tempfile::tempdir().unwrap();
        remove_all(&dir.path().join("missing")).unwrap();
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        remove_all(&dir.path().join("a")).unwrap();
        assert!(!dir.path().join("a").exists());
    }
}
