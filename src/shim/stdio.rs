//! The container's standard streams: pipes the runtime hands to the init, or a pty whose master
//! the runtime sends us over a unix socket (`--console-socket`, SCM_RIGHTS).

use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use nix::fcntl::OFlag;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

use super::oci::set_nonblocking;

#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    #[error("creating pipes: {0}")]
    Pipe(#[source] io::Error),
    #[error("console socket {path}: {source}")]
    Console { path: PathBuf, source: io::Error },
    #[error("the runtime sent no terminal on {0}")]
    NoTerminal(PathBuf),
}

/// The shim's ends: what it reads output from and writes input to.
#[derive(Default)]
pub struct ShimEnds {
    /// The pty master: output, input and window size all go through it.
    pub tty: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Write end of the container's stdin pipe.
    pub stdin: Option<OwnedFd>,
}

/// The container's ends, handed to `runtime create` as its stdio (runc passes them on to the
/// init when there is no terminal).
pub struct ContainerEnds {
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
}

/// Pipes for a container without a terminal; its stdin is /dev/null unless `stdin`.
pub fn pipes(stdin: bool) -> Result<(ShimEnds, ContainerEnds), StdioError> {
    let pipe = || nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| StdioError::Pipe(e.into()));
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (in_w, in_stdio) = if stdin {
        let (r, w) = pipe()?;
        (Some(w), Stdio::from(r))
    } else {
        (None, Stdio::null())
    };
    for fd in [Some(&out_r), Some(&err_r), in_w.as_ref()]
        .into_iter()
        .flatten()
    {
        set_nonblocking(fd.as_fd()).map_err(StdioError::Pipe)?;
    }
    Ok((
        ShimEnds {
            tty: None,
            stdout: Some(out_r),
            stderr: Some(err_r),
            stdin: in_w,
        },
        ContainerEnds {
            stdin: in_stdio,
            stdout: Stdio::from(out_w),
            stderr: Stdio::from(err_w),
        },
    ))
}

/// Listens where the runtime will connect to hand over the pty master.
pub fn console_listener(path: &Path) -> Result<UnixListener, StdioError> {
    let err = |source| StdioError::Console {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    // By bare name in the current directory (the state dir): a deep state dir must not hit the
    // 108-byte sun_path limit.
    let name = path.file_name().unwrap_or(path.as_os_str());
    let l = UnixListener::bind(name).map_err(err)?;
    l.set_nonblocking(true).map_err(err)?;
    Ok(l)
}

/// Takes the master the runtime sent. Called after `create` returned, so the connection and its
/// message are already queued: nothing here waits.
pub fn receive_master(listener: &UnixListener, path: &Path) -> Result<OwnedFd, StdioError> {
    let err = |source| StdioError::Console {
        path: path.to_path_buf(),
        source,
    };
    let (conn, _) = listener.accept().map_err(|e| {
        if e.kind() == io::ErrorKind::WouldBlock {
            StdioError::NoTerminal(path.to_path_buf())
        } else {
            err(e)
        }
    })?;
    conn.set_nonblocking(true).map_err(err)?;
    // runc sends the pty's name as the payload; we only need the descriptor.
    let mut name = [0u8; 512];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| err(e.into()))?;
    let mut master = None;
    for cmsg in msg.cmsgs().map_err(|e| err(e.into()))? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                // SAFETY: SCM_RIGHTS installed these descriptors in our table; we own them now.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                if master.is_none() {
                    master = Some(owned);
                }
            }
        }
    }
    let master = master.ok_or_else(|| StdioError::NoTerminal(path.to_path_buf()))?;
    set_nonblocking(master.as_fd()).map_err(err)?;
    Ok(master)
}

/// Sets the terminal's window size (TIOCSWINSZ on the master).
pub fn resize(master: BorrowedFd<'_>, width: u16, height: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which lives across the call.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
