//! Switching the root: pivot_root(2) with the new root as both arguments (the old root ends up
//! stacked under the new one and is then detached), or, with `--no-pivot`, moving the rootfs
//! mount onto / and chroot'ing (for filesystems where pivot_root is refused, such as initramfs).

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::runtime::rootfs::mount;

#[derive(Debug, thiserror::Error)]
pub enum PivotError {
    #[error("pivot_root {path}: {what}: {source}")]
    Pivot {
        path: String,
        what: &'static str,
        source: io::Error,
    },
    #[error(transparent)]
    Mount(#[from] mount::MountError),
}

fn step<'a>(path: &'a Path, what: &'static str) -> impl Fn(io::Error) -> PivotError + 'a {
    move |source| PivotError::Pivot {
        path: path.display().to_string(),
        what,
        source,
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc != 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

pub fn pivot_root(rootfs: &Path) -> Result<(), PivotError> {
    let old = File::open("/").map_err(step(rootfs, "open /"))?;
    let new = File::open(rootfs).map_err(step(rootfs, "open new root"))?;
    // SAFETY: fchdir to a directory we hold open.
    check(unsafe { libc::fchdir(new.as_raw_fd()) }).map_err(step(rootfs, "chdir to new root"))?;
    // SAFETY: pivot_root(".", ".") with valid C strings.
    check(unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) as i32 })
        .map_err(step(rootfs, "pivot_root"))?;
    // Back to the old root (now stacked under the new one) to detach it.
    // SAFETY: fchdir to a directory we hold open.
    check(unsafe { libc::fchdir(old.as_raw_fd()) }).map_err(step(rootfs, "chdir to old root"))?;
    // Make sure the unmount below cannot propagate back to the host.
    mount::set_propagation(Path::new("."), libc::MS_SLAVE | libc::MS_REC)?;
    mount::umount_detach(Path::new("."))?;
    // SAFETY: chdir with a valid C string.
    check(unsafe { libc::chdir(c"/".as_ptr()) }).map_err(step(rootfs, "chdir /"))?;
    Ok(())
}

pub fn move_root(rootfs: &Path) -> Result<(), PivotError> {
    let c = CString::new(rootfs.as_os_str().as_bytes())
        .map_err(|e| step(rootfs, "path")(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    // SAFETY: chdir with a valid C string.
    check(unsafe { libc::chdir(c.as_ptr()) }).map_err(step(rootfs, "chdir to new root"))?;
    mount::mount(rootfs, Path::new("/"), "", libc::MS_MOVE, "")?;
    // SAFETY: chroot/chdir with valid C strings.
    check(unsafe { libc::chroot(c".".as_ptr()) }).map_err(step(rootfs, "chroot"))?;
    // SAFETY: as above.
    check(unsafe { libc::chdir(c"/".as_ptr()) }).map_err(step(rootfs, "chdir /"))?;
    Ok(())
}
