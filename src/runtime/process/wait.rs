//! Waiting in the foreground for a container process (`run`, `exec` without --detach) while
//! passing on the signals the caller sends us, as runc's signal handler does. Signals arrive on
//! a signalfd, so the wait is a blocking read, not a poll loop.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use crate::runtime::process::fork;

/// Signals passed to the container process; SIGCHLD tells us to reap.
const FORWARDED: &[libc::c_int] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCONT,
    libc::SIGTSTP,
    libc::SIGTTIN,
    libc::SIGTTOU,
];

fn sigset(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise the set in place.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Reaps every exited child without blocking; returns the status of `pid` if it was among them.
/// (We are a subreaper, so orphans of the container may be ours to reap too.)
fn reap(pid: i32) -> Option<libc::c_int> {
    let mut found = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes into our integer.
        let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if r <= 0 {
            return found;
        }
        if r == pid {
            found = Some(status);
        }
    }
}

/// Waits for `pid` (our child) to exit, forwarding signals; returns its shell-style exit code.
pub fn wait_forwarding(pid: i32) -> io::Result<i32> {
    let mut all: Vec<libc::c_int> = FORWARDED.to_vec();
    all.push(libc::SIGCHLD);
    let set = sigset(&all);
    // SAFETY: blocking signals for this (single) thread; the old mask is not needed again.
    if unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: signalfd creates a new descriptor for the blocked set.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor.
    let sfd = unsafe { OwnedFd::from_raw_fd(fd) };
    loop {
        // The child may have exited before SIGCHLD was blocked: look before every wait.
        if let Some(status) = reap(pid) {
            return Ok(fork::exit_code(status));
        }
        // SAFETY: reading one siginfo record into a zeroed struct of the right size.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let n = unsafe {
            libc::read(
                std::os::fd::AsRawFd::as_raw_fd(&sfd),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                std::mem::size_of::<libc::signalfd_siginfo>(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let sig = info.ssi_signo as libc::c_int;
        if sig != libc::SIGCHLD {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, sig) };
        }
    }
}
