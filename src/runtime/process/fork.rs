//! Forking the intermediate and init processes. The runtime is single-threaded (no tokio, no
//! helper threads), so the child may allocate and run ordinary Rust code after fork. glibc's
//! fork() is used rather than a raw clone so its cached thread id is right in the child (abort()
//! and raise() use it; a stale one would signal the parent).
//!
//! A child never returns into the caller's code: it runs its closure and `_exit`s, so no
//! destructor or buffered output of the parent runs twice.

use std::io;

use nix::unistd::{ForkResult, fork};

#[derive(Debug, thiserror::Error)]
pub enum ForkError {
    #[error("fork failed: {0}")]
    Fork(io::Error),
}

/// Forks; the child runs `child` and exits with its return value. Returns the child's pid.
pub fn fork_child(child: impl FnOnce() -> i32) -> Result<i32, ForkError> {
    // SAFETY: the process is single-threaded (see the module comment), so the child is a full
    // copy with no lock held by a vanished thread.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => Ok(child.as_raw()),
        Ok(ForkResult::Child) => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(70);
            // SAFETY: _exit ends the process without running the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        Err(e) => Err(ForkError::Fork(io::Error::from(e))),
    }
}

/// Makes this process the reaper of its orphaned descendants, so the container's init (whose
/// parent, the intermediate, exits early) becomes our child and `run`/`exec` can wait for it.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// How a waited-for process ended, as a shell exit code (128 + signal for a signal death).
pub fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// Blocking waitpid for a child, retrying on EINTR.
pub fn wait_child(pid: i32) -> io::Result<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status into our integer.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return Ok(status);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_exit_code_reaches_the_parent() {
        let pid = fork_child(|| 7).unwrap();
        let st = wait_child(pid).unwrap();
        assert_eq!(exit_code(st), 7);
    }

    #[test]
    fn exit_codes_like_a_shell() {
        // Encoded as the kernel does: exit code in bits 8..16, signal in the low 7 bits.
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(9), 137);
    }
}
