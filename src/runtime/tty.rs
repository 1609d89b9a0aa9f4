//! The container's terminal (runc's console-socket contract): the init (or exec'd process)
//! opens a pty from the container's own devpts instance, sends the master to the unix socket
//! given with `--console-socket` (SCM_RIGHTS, with the pty name as payload), and makes the slave
//! its controlling terminal and stdio.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::runtime::process::channel::send_fds;

#[derive(Debug, thiserror::Error)]
pub enum TtyError {
    #[error("cannot connect to console socket {path}: {source}")]
    Connect { path: PathBuf, source: io::Error },
    #[error("cannot open /dev/ptmx: {0}")]
    OpenPtmx(io::Error),
    #[error("cannot set up the pty: {what}: {source}")]
    Pty {
        what: &'static str,
        source: io::Error,
    },
    #[error("cannot send the pty master to the console socket: {0}")]
    Send(io::Error),
    #[error("cannot make the pty the controlling terminal: {0}")]
    Ctty(io::Error),
}

/// Connects to the caller's console socket (from the host, before any namespace change).
pub fn connect_console_socket(path: &Path) -> Result<OwnedFd, TtyError> {
    let s = std::os::unix::net::UnixStream::connect(path).map_err(|source| TtyError::Connect {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(OwnedFd::from(s))
}

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    pub slave_path: String,
}

fn pty_err(what: &'static str) -> impl FnOnce(io::Error) -> TtyError {
    move |source| TtyError::Pty { what, source }
}

fn check(rc: libc::c_int, what: &'static str) -> Result<(), TtyError> {
    if rc < 0 {
        return Err(pty_err(what)(io::Error::last_os_error()));
    }
    Ok(())
}

/// Opens a pty pair from /dev/ptmx as the calling process sees it (inside the container, so the
/// slave lives in the container's devpts).
pub fn open_pty(rows: u16, cols: u16) -> Result<Pty, TtyError> {
    // SAFETY: open with a C string path.
    let m = unsafe {
        libc::open(
            c"/dev/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if m < 0 {
        return Err(TtyError::OpenPtmx(io::Error::last_os_error()));
    }
    // SAFETY: fresh descriptor.
    let master = unsafe { OwnedFd::from_raw_fd(m) };
    let mut unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK takes a pointer to an int.
    check(
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &mut unlock) },
        "unlockpt",
    )?;
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes the pty number into an unsigned int.
    check(
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) },
        "ptsname",
    )?;
    let slave_path = format!("/dev/pts/{n}");
    let cpath = CString::new(slave_path.clone()).map_err(|e| TtyError::Pty {
        what: "slave path",
        source: io::Error::new(io::ErrorKind::InvalidInput, e),
    })?;
    // SAFETY: open with a C string path.
    let s = unsafe {
        libc::open(
            cpath.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if s < 0 {
        return Err(pty_err("open slave")(io::Error::last_os_error()));
    }
    // SAFETY: fresh descriptor.
    let slave = unsafe { OwnedFd::from_raw_fd(s) };
    if rows > 0 || cols > 0 {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize.
        check(
            unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) },
            "set window size",
        )?;
    }
    Ok(Pty {
        master,
        slave,
        slave_path,
    })
}

/// Sends the master over the console socket, then closes both.
pub fn send_master(socket: OwnedFd, pty: &Pty) -> Result<(), TtyError> {
    send_fds(
        socket.as_raw_fd(),
        pty.slave_path.as_bytes(),
        &[pty.master.as_raw_fd()],
    )
    .map_err(TtyError::Send)?;
    drop(socket);
    Ok(())
}

/// Makes `slave` stdin/stdout/stderr and the controlling terminal (the caller has called setsid).
pub fn become_console(slave: &OwnedFd) -> Result<(), TtyError> {
    for target in 0..3 {
        dup2(slave.as_raw_fd(), target).map_err(pty_err("dup2 onto stdio"))?;
    }
    // SAFETY: TIOCSCTTY with 0: take the terminal if it has no session.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
        return Err(TtyError::Ctty(io::Error::last_os_error()));
    }
    Ok(())
}

fn dup2(from: RawFd, to: RawFd) -> io::Result<()> {
    // SAFETY: dup2 between descriptors; `to` is replaced atomically.
    if unsafe { libc::dup2(from, to) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Receives a pty master the way a runc caller does (used by tests and `run` callers).
pub fn recv_master(sock: RawFd) -> io::Result<(String, File)> {
    let mut buf = [0u8; 4096];
    let (n, fds) = crate::runtime::process::channel::recv_fds(sock, &mut buf)?;
    let fd = fds
        .into_iter()
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no descriptor received"))?;
    Ok((
        String::from_utf8_lossy(&buf[..n]).into_owned(),
        File::from(fd),
    ))
}
