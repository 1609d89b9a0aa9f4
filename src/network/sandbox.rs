//! A network namespace for a container, made by the daemon (as libnetwork does) so every runtime
//! gets the same thing: a namespace pinned by a bind mount at a path, with loopback up.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    // The path (under the exec root) stays out of the message clients see; Debug has it.
    #[error("network namespace: {op}: {source}")]
    Sys {
        path: PathBuf,
        op: &'static str,
        source: nix::Error,
    },
    #[error("network namespace: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("network namespace setup thread failed")]
    Thread,
}

/// Creates a namespace pinned at `path`, with `lo` up. Runs on its own short-lived thread:
/// unshare(CLONE_NEWNET) changes only the calling thread, which then exits.
pub fn create(path: &Path) -> Result<(), SandboxError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| SandboxError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    std::fs::File::create(path).map_err(|source| SandboxError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let target = path.to_path_buf();
    let result = std::thread::spawn(move || -> Result<(), SandboxError> {
        let sys = |op, source| SandboxError::Sys {
            path: target.clone(),
            op,
            source,
        };
        nix::sched::unshare(CloneFlags::CLONE_NEWNET).map_err(|e| sys("unshare", e))?;
        let tid = nix::unistd::gettid();
        let own = format!("/proc/self/task/{tid}/ns/net");
        nix::mount::mount(
            Some(own.as_str()),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| sys("bind mount", e))?;
        loopback_up().map_err(|e| sys("bring lo up", e))
    })
    .join()
    .map_err(|_| SandboxError::Thread)?;
    if result.is_err() {
        let _ = remove(path);
    }
    result
}

/// Unmounts and deletes a namespace file; a missing one is fine.
pub fn remove(path: &Path) -> Result<(), SandboxError> {
    match nix::mount::umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => {
            return Err(SandboxError::Sys {
                path: path.to_path_buf(),
                op: "unmount",
                source: e,
            });
        }
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(SandboxError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// SIOCSIFFLAGS IFF_UP on "lo" in the calling thread's namespace.
fn loopback_up() -> Result<(), nix::Error> {
    use std::os::fd::AsRawFd;
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: the ioctls read and write the ifreq we own, on a socket we own.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(nix::Error::last());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(nix::Error::last());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interface names and whether lo is up, seen from inside the namespace at `ns`.
    fn look_inside(ns: &Path) -> (Vec<String>, bool) {
        let ns = ns.to_path_buf();
        std::thread::spawn(move || {
            let f = std::fs::File::open(&ns).unwrap();
            nix::sched::setns(f, CloneFlags::CLONE_NEWNET).unwrap();
            let names = nix::net::if_::if_nameindex()
                .unwrap()
                .iter()
                .map(|i| i.name().to_string_lossy().into_owned())
                .collect();
            use std::os::fd::AsRawFd;
            let sock = nix::sys::socket::socket(
                nix::sys::socket::AddressFamily::Inet,
                nix::sys::socket::SockType::Datagram,
                nix::sys::socket::SockFlag::SOCK_CLOEXEC,
                None,
            )
            .unwrap();
            let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
            for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
                *dst = *src as libc::c_char;
            }
            let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) };
            assert_eq!(rc, 0);
            let up = unsafe { req.ifr_ifru.ifru_flags } & libc::IFF_UP as libc::c_short != 0;
            (names, up)
        })
        .join()
        .unwrap()
    }

    #[test]
    fn namespace_with_loopback_up_and_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        let ns = dir.path().join("ns");
        create(&ns).unwrap();
        let (names, up) = look_inside(&ns);
        assert_eq!(names, vec!["lo".to_string()]);
        assert!(up, "lo is down");
        remove(&ns).unwrap();
        assert!(!ns.exists());
        // Removing twice is fine.
        remove(&ns).unwrap();
    }
}
