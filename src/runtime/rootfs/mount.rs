//! Mount options (fstab words -> mount(2) flags, propagation changes and filesystem data) and
//! the mount calls themselves.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error(
        "mount {source_path} to {target} (type {fstype}, flags {flags:#x}, data {data:?}): {source}"
    )]
    Mount {
        source_path: String,
        target: String,
        fstype: String,
        flags: u64,
        data: String,
        source: io::Error,
    },
    #[error("unmount {target}: {source}")]
    Unmount { target: String, source: io::Error },
    #[error("path contains a NUL byte: {0}")]
    Nul(String),
}

/// Parsed mount options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags to set (MS_*).
    pub flags: u64,
    /// Propagation changes, applied one by one after the mount (MS_SHARED|MS_REC, ...).
    pub propagation: Vec<u64>,
    /// Everything else, for the filesystem (`mode=755,size=65536k`).
    pub data: Vec<String>,
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags & libc::MS_BIND != 0
    }

    pub fn data_string(&self) -> String {
        self.data.join(",")
    }

    /// Flags that need a remount after a bind (a bind ignores them on the first call).
    pub fn remount_flags(&self) -> u64 {
        self.flags & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT)
    }
}

enum Effect {
    Set(u64),
    Clear(u64),
    Propagate(u64),
}

fn effect(word: &str) -> Option<Effect> {
    use Effect::*;
    Some(match word {
        "defaults" => Set(0),
        "ro" => Set(libc::MS_RDONLY),
        "rw" => Clear(libc::MS_RDONLY),
        "suid" => Clear(libc::MS_NOSUID),
        "nosuid" => Set(libc::MS_NOSUID),
        "dev" => Clear(libc::MS_NODEV),
        "nodev" => Set(libc::MS_NODEV),
        "exec" => Clear(libc::MS_NOEXEC),
        "noexec" => Set(libc::MS_NOEXEC),
        "sync" => Set(libc::MS_SYNCHRONOUS),
        "async" => Clear(libc::MS_SYNCHRONOUS),
        "dirsync" => Set(libc::MS_DIRSYNC),
        "remount" => Set(libc::MS_REMOUNT),
        "mand" => Set(libc::MS_MANDLOCK),
        "nomand" => Clear(libc::MS_MANDLOCK),
        "atime" => Clear(libc::MS_NOATIME),
        "noatime" => Set(libc::MS_NOATIME),
        "diratime" => Clear(libc::MS_NODIRATIME),
        "nodiratime" => Set(libc::MS_NODIRATIME),
        "bind" => Set(libc::MS_BIND),
        "rbind" => Set(libc::MS_BIND | libc::MS_REC),
        "relatime" => Set(libc::MS_RELATIME),
        "norelatime" => Clear(libc::MS_RELATIME),
        "strictatime" => Set(libc::MS_STRICTATIME),
        "nostrictatime" => Clear(libc::MS_STRICTATIME),
        "lazytime" => Set(libc::MS_LAZYTIME),
        "nolazytime" => Clear(libc::MS_LAZYTIME),
        "silent" => Set(libc::MS_SILENT),
        "loud" => Clear(libc::MS_SILENT),
        "iversion" => Set(libc::MS_I_VERSION),
        "noiversion" => Clear(libc::MS_I_VERSION),
        "private" => Propagate(libc::MS_PRIVATE),
        "rprivate" => Propagate(libc::MS_PRIVATE | libc::MS_REC),
        "shared" => Propagate(libc::MS_SHARED),
        "rshared" => Propagate(libc::MS_SHARED | libc::MS_REC),
        "slave" => Propagate(libc::MS_SLAVE),
        "rslave" => Propagate(libc::MS_SLAVE | libc::MS_REC),
        "unbindable" => Propagate(libc::MS_UNBINDABLE),
        "runbindable" => Propagate(libc::MS_UNBINDABLE | libc::MS_REC),
        _ => return None,
    })
}

/// runc extensions we accept and do not implement (they are hints, not requirements).
const IGNORED: &[&str] = &["tmpcopyup", "idmap", "ridmap"];

pub fn parse_options(options: &[String]) -> MountOptions {
    let mut out = MountOptions::default();
    for word in options {
        match effect(word) {
            Some(Effect::Set(f)) => out.flags |= f,
            Some(Effect::Clear(f)) => out.flags &= !f,
            Some(Effect::Propagate(f)) => out.propagation.push(f),
            None if IGNORED.contains(&word.as_str()) => {}
            None => out.data.push(word.clone()),
        }
    }
    out
}

/// The propagation named by `linux.rootfsPropagation`.
pub fn propagation_flags(name: &str) -> Option<u64> {
    match effect(name) {
        Some(Effect::Propagate(f)) => Some(f),
        _ => None,
    }
}

fn cstr(s: &[u8]) -> Result<CString, MountError> {
    CString::new(s).map_err(|_| MountError::Nul(String::from_utf8_lossy(s).into_owned()))
}

/// mount(2) with readable errors. `source`/`fstype`/`data` may be empty (passed as NULL).
pub fn mount(
    source: &Path,
    target: &Path,
    fstype: &str,
    flags: u64,
    data: &str,
) -> Result<(), MountError> {
    let src = cstr(source.as_os_str().as_bytes())?;
    let tgt = cstr(target.as_os_str().as_bytes())?;
    let ty = cstr(fstype.as_bytes())?;
    let dat = cstr(data.as_bytes())?;
    let opt = |c: &CString, empty: bool| {
        if empty { std::ptr::null() } else { c.as_ptr() }
    };
    // SAFETY: all pointers are NULL or valid C strings for the duration of the call.
    let rc = unsafe {
        libc::mount(
            opt(&src, source.as_os_str().is_empty()),
            tgt.as_ptr(),
            opt(&ty, fstype.is_empty()),
            flags as libc::c_ulong,
            opt(&dat, data.is_empty()).cast(),
        )
    };
    if rc != 0 {
        return Err(MountError::Mount {
            source_path: source.display().to_string(),
            target: target.display().to_string(),
            fstype: fstype.to_string(),
            flags,
            data: data.to_string(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Changes propagation of the mount at `target`.
pub fn set_propagation(target: &Path, flags: u64) -> Result<(), MountError> {
    mount(Path::new(""), target, "", flags, "")
}

pub fn umount_detach(target: &Path) -> Result<(), MountError> {
    let tgt = cstr(target.as_os_str().as_bytes())?;
    // SAFETY: umount2 with a valid C string.
    if unsafe { libc::umount2(tgt.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(MountError::Unmount {
            target: target.display().to_string(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// The flags a mount already has that a bind remount must keep: in a user namespace the kernel
/// refuses to clear "locked" ones (nosuid, nodev, noexec, ro, atime flags) with EPERM.
pub fn locked_flags(path: &Path) -> u64 {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs fills a plain struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and a writable struct.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return 0;
    }
    let f = st.f_flag;
    let mut out = 0;
    for (st_flag, ms_flag) in [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if f & st_flag != 0 {
            out |= ms_flag;
        }
    }
    out
}

/// Remounts a bind mount with `flags` (MS_REMOUNT|MS_BIND added); on EPERM retries keeping the
/// flags the mount is locked with.
pub fn bind_remount(target: &Path, flags: u64) -> Result<(), MountError> {
    let base = libc::MS_REMOUNT | libc::MS_BIND;
    match mount(Path::new(""), target, "", base | flags, "") {
        Err(MountError::Mount { ref source, .. }) if source.raw_os_error() == Some(libc::EPERM) => {
            let locked = locked_flags(target);
            mount(Path::new(""), target, "", base | flags | locked, "")
        }
        other => other,
    }
}

/// Host paths from a mount's `source`, relative sources being relative to the bundle.
pub fn host_source(bundle: &Path, source: Option<&Path>) -> PathBuf {
    match source {
        None => PathBuf::new(),
        Some(s) if s.is_absolute() => s.to_path_buf(),
        Some(s) => bundle.join(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(s: &str) -> MountOptions {
        parse_options(&s.split(',').map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn flags_set_and_clear_in_order() {
        let o = opts("nosuid,noexec,nodev,ro");
        assert_eq!(
            o.flags,
            libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV | libc::MS_RDONLY
        );
        assert!(o.data.is_empty());
        assert_eq!(opts("ro,rw").flags, 0);
        assert_eq!(opts("rw,ro").flags, libc::MS_RDONLY);
    }

    #[test]
    fn data_and_propagation_are_separated() {
        let o = opts("nosuid,strictatime,mode=755,size=65536k");
        assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_STRICTATIME);
        assert_eq!(o.data_string(), "mode=755,size=65536k");
        let o = opts("rbind,rprivate,ro");
        assert!(o.is_bind());
        assert_eq!(o.propagation, vec![libc::MS_PRIVATE | libc::MS_REC]);
        assert_eq!(o.remount_flags(), libc::MS_RDONLY);
        let o = opts("newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec");
        assert_eq!(o.data_string(), "newinstance,ptmxmode=0666,mode=0620,gid=5");
        assert_eq!(opts("tmpcopyup,mode=1777").data_string(), "mode=1777");
    }

    #[test]
    fn rootfs_propagation_names() {
        assert_eq!(
            propagation_flags("rslave"),
            Some(libc::MS_SLAVE | libc::MS_REC)
        );
        assert_eq!(propagation_flags("shared"), Some(libc::MS_SHARED));
        assert_eq!(propagation_flags("ro"), None);
        assert_eq!(propagation_flags("bogus"), None);
    }

    #[test]
    fn sources_relative_to_the_bundle() {
        assert_eq!(
            host_source(Path::new("/b"), Some(Path::new("data"))),
            PathBuf::from("/b/data")
        );
        assert_eq!(
            host_source(Path::new("/b"), Some(Path::new("/abs"))),
            PathBuf::from("/abs")
        );
        assert_eq!(host_source(Path::new("/b"), None), PathBuf::new());
    }
}
