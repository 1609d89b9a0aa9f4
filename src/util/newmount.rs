//! Linux's mount API (fsopen, fsconfig, fsmount, move_mount; Linux 5.2), called by syscall
//! number: the libc crate has the numbers but no wrappers. Used where mount(2) falls short: a
//! mount that no mount table ever holds (the runtime's protected re-exec) and overlay layer lists
//! longer than mount(2)'s one-page option string (`lowerdir+`, Linux 6.8).

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

pub const MOUNT_ATTR_RDONLY: libc::c_uint = 0x1;
pub const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
pub const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;

fn fd_result(ret: libc::c_long) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) })
}

fn unit_result(ret: libc::c_long) -> io::Result<()> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn cstring(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// A filesystem being configured (fsopen).
pub struct FsContext(OwnedFd);

impl FsContext {
    pub fn open(fstype: &CStr) -> io::Result<FsContext> {
        // SAFETY: fsopen with a valid C string; returns a new descriptor or -1.
        fd_result(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) })
            .map(FsContext)
    }

    pub fn set(&self, key: &CStr, value: &CStr) -> io::Result<()> {
        // SAFETY: fsconfig on our context with two valid C strings.
        unit_result(unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.0.as_raw_fd(),
                FSCONFIG_SET_STRING,
                key.as_ptr(),
                value.as_ptr(),
                0,
            )
        })
    }

    /// Creates the superblock and returns a detached mount of it with `attrs` (MOUNT_ATTR_*).
    pub fn mount(self, attrs: libc::c_uint) -> io::Result<OwnedFd> {
        // SAFETY: fsconfig command on our context, without key or value.
        unit_result(unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.0.as_raw_fd(),
                FSCONFIG_CMD_CREATE,
                std::ptr::null::<libc::c_char>(),
                std::ptr::null::<libc::c_void>(),
                0,
            )
        })?;
        // SAFETY: fsmount of our configured context; returns the detached mount's descriptor.
        fd_result(unsafe {
            libc::syscall(
                libc::SYS_fsmount,
                self.0.as_raw_fd(),
                FSMOUNT_CLOEXEC,
                attrs,
            )
        })
    }
}

/// Attaches a detached mount at `target`.
pub fn move_mount_to(mnt: &OwnedFd, target: &Path) -> io::Result<()> {
    let to = cstring(target)?;
    // SAFETY: move_mount from our mount descriptor (empty path) to a valid C path.
    unit_result(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
}
