//! Reaping: the shim is a child subreaper, so the container's init (whose runtime parent exits
//! after `create`) and every orphan below it become our children. SIGCHLD arrives on a signalfd;
//! each one drains `waitpid(-1, WNOHANG)`.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

pub struct Reaper {
    sfd: SignalFd,
}

impl Reaper {
    /// Becomes a subreaper and routes SIGCHLD to a descriptor. Call before spawning anything, so
    /// no exit can be missed. Children get an empty signal mask back from `Command`.
    pub fn new() -> io::Result<Reaper> {
        nix::sys::prctl::set_child_subreaper(true)?;
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGCHLD);
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)?;
        let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(Reaper { sfd })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.sfd.as_fd()
    }

    /// Consumes pending SIGCHLDs and reaps every dead child, reporting each as (pid, exit code
    /// or 128+signal): the init, exec processes, runtime calls and orphans alike; the caller
    /// tells them apart.
    pub fn reap(&self, mut exited: impl FnMut(i32, i32)) {
        while let Ok(Some(_)) = self.sfd.read_signal() {}
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
                Err(Errno::EINTR) => continue,
                Err(_) => break,
                Ok(st) => {
                    if let (Some(pid), Some(code)) = (st.pid(), exit_code(st)) {
                        exited(pid.as_raw(), code);
                    }
                }
            }
        }
    }
}

/// A wait status as a shell reports it: the code, or 128+signal.
pub fn exit_code(st: WaitStatus) -> Option<i32> {
    match st {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_like_a_shell() {
        let p = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(p, 3)), Some(3));
        assert_eq!(
            exit_code(WaitStatus::Signaled(p, Signal::SIGKILL, false)),
            Some(137)
        );
        assert_eq!(exit_code(WaitStatus::StillAlive), None);
    }
}
