//! CVE-2019-5736 protection: before any process of ours enters a container, the runtime re-execs
//! itself from a copy of its own binary that cannot be written. Every process that can then be
//! seen from inside a container (the intermediate, the init before it execs the user's program,
//! an exec'd process before its execve) has that copy as /proc/<pid>/exe, not the binary on
//! disk, so a container that opens /proc/<pid>/exe (or runs `#!/proc/self/exe`) can at worst
//! reach something read-only, and the host binary is never written.
//!
//! The copy, in order of preference:
//! 1. the binary seen through a private, read-only overlayfs that is never attached to any mount
//!    table (fsopen/fsmount; runc 1.2 does the same): no bytes are copied and the page cache is
//!    shared with the binary on disk, so it costs well under a millisecond. overlayfs refuses
//!    writes outright when it has no upper layer, and the mount cannot be reached or remounted
//!    from a container because no mount namespace holds it.
//! 2. a memfd copy sealed against writes (F_SEAL_WRITE and friends), where overlayfs or the new
//!    mount API is missing. Only the part of the file the kernel and the dynamic loader read
//!    (up to the end of the last segment named by the program headers) is copied.
//!
//! The children are also made non-dumpable until they exec the user's program, so a container
//! process without CAP_SYS_PTRACE cannot open /proc/<pid>/exe of our processes at all.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// Set in the environment of the re-exec'd runtime, so a failure to detect the seals cannot
/// turn into an exec loop.
const MARKER: &str = "_BERTH_RUNTIME_SEALED";

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
/// MFD_EXEC (Linux 6.3): says explicitly that the memfd will be executed, so the
/// vm.memfd_noexec sysctl default does not apply and the kernel does not warn.
const MFD_EXEC: libc::c_uint = 0x0010;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("cannot open /proc/self/exe: {0}")]
    OpenSelf(io::Error),
    #[error("memfd_create failed: {0}")]
    Memfd(io::Error),
    #[error("cannot copy the runtime binary into a memfd: {0}")]
    Copy(io::Error),
    #[error("cannot seal the memfd copy of the runtime: {0}")]
    Seal(io::Error),
    #[error("cannot re-exec the runtime from its sealed copy: {0}")]
    Exec(io::Error),
    #[error("the runtime was re-executed but /proc/self/exe is not a sealed copy")]
    NotSealed,
}

/// A sealed memfd, or a file on a read-only overlayfs.
pub fn is_protected(f: &File) -> bool {
    is_sealed(f) || on_read_only_overlay(f)
}

const OVERLAYFS_SUPER_MAGIC: libc::c_long = 0x794c_7630;

fn on_read_only_overlay(f: &File) -> bool {
    // SAFETY: fstatfs and fstatvfs fill zeroed structs for a descriptor we own.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    let ok = unsafe {
        libc::fstatfs(f.as_raw_fd(), &mut fs) == 0 && libc::fstatvfs(f.as_raw_fd(), &mut vfs) == 0
    };
    ok && fs.f_type as libc::c_long == OVERLAYFS_SUPER_MAGIC && vfs.f_flag & libc::ST_RDONLY != 0
}

fn is_sealed(f: &File) -> bool {
    // SAFETY: fcntl query on a descriptor we own.
    let seals = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & SEALS == SEALS
}

/// Returns when the process runs from a protected copy; otherwise makes one and execs it with
/// the same arguments and environment (so this call does not return on success). `scratch` is
/// an existing directory the overlay may use as its (unused) second lower layer.
pub fn ensure_sealed(scratch: &Path) -> Result<(), SealError> {
    let exe = File::open("/proc/self/exe").map_err(SealError::OpenSelf)?;
    if is_protected(&exe) {
        return Ok(());
    }
    if std::env::var_os(MARKER).is_some() {
        return Err(SealError::NotSealed);
    }
    let copy = match read_only_overlay_view(scratch) {
        Ok(fd) => fd,
        Err(_) => sealed_copy(&exe)?,
    };
    drop(exe);
    exec_fd(&copy)
}

/// overlayfs escapes in a lowerdir list: `\` and `:`.
fn escape_lowerdir(p: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in p.as_os_str().as_bytes() {
        if b == b'\\' || b == b':' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// An O_PATH descriptor of our binary seen through a detached read-only overlayfs whose top
/// layer is the binary's directory. overlayfs needs two lower layers to run without an upper
/// one; `scratch` is the second, below, so nothing in it can hide the binary.
fn read_only_overlay_view(scratch: &Path) -> io::Result<OwnedFd> {
    use crate::util::newmount::{
        FsContext, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY,
    };
    let exe = std::fs::read_link("/proc/self/exe")?;
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no binary path",
        ));
    };
    let mut lower = escape_lowerdir(dir);
    lower.push(b':');
    lower.extend(escape_lowerdir(scratch));
    let invalid = |e| io::Error::new(io::ErrorKind::InvalidInput, e);
    let lower = CString::new(lower).map_err(invalid)?;
    let name = CString::new(name.as_bytes()).map_err(invalid)?;
    let ctx = FsContext::open(c"overlay")?;
    ctx.set(c"lowerdir", &lower)?;
    // Inode numbers do not matter here; xino would only log noise when layers differ in fs.
    let _ = ctx.set(c"xino", c"off");
    let mnt = ctx.mount(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)?;
    // SAFETY: openat relative to the mount's root with a valid C string.
    let fd = unsafe {
        libc::openat(
            mnt.as_raw_fd(),
            name.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor from openat.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn memfd_create(flags: libc::c_uint) -> io::Result<OwnedFd> {
    let name = c"berth-runtime";
    // SAFETY: memfd_create with a valid C string; returns a new descriptor or -1.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn sealed_copy(exe: &File) -> Result<OwnedFd, SealError> {
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    let memfd = match memfd_create(base | MFD_EXEC) {
        Ok(fd) => fd,
        // Kernels before 6.3 do not know MFD_EXEC.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            memfd_create(base).map_err(SealError::Memfd)?
        }
        Err(e) => return Err(SealError::Memfd(e)),
    };
    let file_size = exe.metadata().map_err(SealError::Copy)?.len();
    let size = loaded_size(exe)
        .filter(|&n| n <= file_size)
        .unwrap_or(file_size);
    let mut left = size;
    while left > 0 {
        // SAFETY: sendfile between two descriptors we own, from the current file offset.
        let n = unsafe {
            libc::sendfile(
                memfd.as_raw_fd(),
                exe.as_raw_fd(),
                std::ptr::null_mut(),
                left.min(1 << 30) as usize,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(SealError::Copy(e));
        }
        if n == 0 {
            return Err(SealError::Copy(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "binary shrank while being copied",
            )));
        }
        left -= n as u64;
    }
    // SAFETY: fcntl on our memfd.
    add_seals(&memfd)?;
    Ok(memfd)
}

/// Seals the copy. The kernel answers EBUSY while any page of the memfd still holds an extra
/// reference (pages just written can sit in another CPU's LRU batch for a moment), so a few
/// retries with a short pause are part of the protocol, not a workaround for our own bug.
fn add_seals(memfd: &OwnedFd) -> Result<(), SealError> {
    let mut tries = 0;
    loop {
        // SAFETY: fcntl on our memfd.
        if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        tries += 1;
        if e.raw_os_error() != Some(libc::EBUSY) || tries >= 5 {
            return Err(SealError::Seal(e));
        }
        std::thread::sleep(std::time::Duration::from_millis(2 << tries));
    }
}

/// The number of leading bytes of an ELF64 little-endian file that its program headers cover
/// (everything the kernel maps and the dynamic loader reads). `None` for anything else, which
/// is then copied whole.
fn loaded_size(f: &File) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut ehdr = [0u8; 64];
    f.read_exact_at(&mut ehdr, 0).ok()?;
    // ELF magic, ELFCLASS64, ELFDATA2LSB.
    if &ehdr[..4] != b"\x7fELF" || ehdr[4] != 2 || ehdr[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
    let phoff = u64_at(&ehdr, 32);
    let phentsize = u16_at(&ehdr, 54) as u64;
    let phnum = u16_at(&ehdr, 56) as u64;
    if phentsize < 56 || phnum == 0 {
        return None;
    }
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    f.read_exact_at(&mut table, phoff).ok()?;
    let mut end = phoff + phentsize * phnum;
    for i in 0..phnum as usize {
        let ph = &table[i * phentsize as usize..];
        // p_offset at 8, p_filesz at 32 in an Elf64_Phdr.
        end = end.max(u64_at(ph, 8).checked_add(u64_at(ph, 32))?);
    }
    Some(end)
}

fn cstrings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>, SealError> {
    items
        .map(|s| {
            CString::new(s.into_vec()).map_err(|e| {
                SealError::Exec(io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
            })
        })
        .collect()
}

fn exec_fd(copy: &OwnedFd) -> Result<(), SealError> {
    let argv = cstrings(std::env::args_os())?;
    let mut envs: Vec<OsString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut s = k;
            s.push("=");
            s.push(v);
            s
        })
        .collect();
    envs.push(OsString::from(format!("{MARKER}=1")));
    let envp = cstrings(envs.into_iter())?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of valid C strings that outlive the call. A close-on-exec
    // descriptor can be exec'd for an ELF binary (the kernel holds the file while mapping it).
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            copy.as_raw_fd(),
            c"".as_ptr(),
            argv_ptrs.as_ptr(),
            envp_ptrs.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
    }
    Err(SealError::Exec(io::Error::last_os_error()))
}

/// Drops the marker so it does not leak into hooks run by this process.
pub fn clear_marker() {
    if std::env::var_os(MARKER).is_some() {
        // SAFETY: the runtime is single-threaded; nothing reads the environment concurrently.
        unsafe { std::env::remove_var(MARKER) };
    }
}

/// Makes the calling process non-dumpable (undone by the kernel at execve of a normal binary).
pub fn set_non_dumpable() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_elf_files_are_copied_whole() {
        let mut t = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut t, b"#!/bin/sh\necho hi\n").unwrap();
        assert_eq!(loaded_size(&t), None);
    }

    #[test]
    fn overlay_view_is_read_only_and_runs() {
        let scratch = tempfile::tempdir().unwrap();
        let fd = read_only_overlay_view(scratch.path()).expect("overlayfs (needs root)");
        let via = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let f = File::open(&via).unwrap();
        assert!(is_protected(&f));
        assert!(!is_sealed(&f));
        // The same bytes as the binary on disk, and no way to write them.
        assert_eq!(
            std::fs::read(&via).unwrap(),
            std::fs::read("/proc/self/exe").unwrap()
        );
        let w = std::fs::OpenOptions::new().append(true).open(&via);
        assert_eq!(w.unwrap_err().raw_os_error(), Some(libc::EROFS));
        let out = std::process::Command::new(&via)
            .arg("--list")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("overlay_view_is_read_only_and_runs")
        );
    }

    #[test]
    fn lowerdir_escapes() {
        assert_eq!(
            escape_lowerdir(Path::new("/a:b\\c")),
            b"/a\\:b\\\\c".to_vec()
        );
    }

    #[test]
    fn copy_is_sealed_and_runs() {
        let exe = File::open("/proc/self/exe").unwrap();
        assert!(!is_sealed(&exe));
        let fd = sealed_copy(&exe).unwrap();
        let f = File::from(fd);
        assert!(is_sealed(&f));
        let copied = f.metadata().unwrap().len();
        assert_eq!(Some(copied), loaded_size(&exe));
        assert!(copied <= exe.metadata().unwrap().len());
        // Writing through the sealed copy fails.
        // SAFETY: pwrite from a live one-byte buffer.
        let w = unsafe { libc::pwrite(f.as_raw_fd(), b"x".as_ptr().cast(), 1, 0) };
        assert_eq!(w, -1);
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EPERM));
        // The (possibly truncated) copy is a working program: this test binary, listing tests.
        let out = std::process::Command::new(format!("/proc/self/fd/{}", f.as_raw_fd()))
            .arg("--list")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("copy_is_sealed_and_runs"));
    }
}
