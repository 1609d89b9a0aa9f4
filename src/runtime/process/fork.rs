//! Forking the intermediate and init processes. The runtime is single-threaded (no tokio, no
//! helper threads), so the child may allocate and run ordinary Rust code after fork. glibc's
//! fork() is used where no clone flag is needed, so glibc's own view of the child is exact.
//! The intermediate is forked with a raw clone3 (CLONE_INTO_CGROUP) where the kernel allows:
//! the one thing glibc would cache wrongly there is the thread id, and the glibc we link
//! statically (2.36) asks the kernel for it in raise() and abort().
//!
//! A child never returns into the caller's code: it runs its closure and `_exit`s, so no
//! destructor or buffered output of the parent runs twice.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

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

/// clone3's argument block (linux/sched.h, CLONE_ARGS_SIZE_VER2: 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Like `fork_child`, but the child is born in the cgroup2 directory open as `cgroup` (clone3
/// with CLONE_INTO_CGROUP, Linux 5.7), so nobody has to move it there: moving a process through
/// `cgroup.procs` waits for an RCU grace period in the kernel. Falls back to fork() when the
/// kernel refuses; `child` is told whether it was born in the cgroup.
pub fn fork_child_into(
    cgroup: Option<BorrowedFd>,
    child: impl FnOnce(bool) -> i32,
) -> Result<i32, ForkError> {
    let Some(cg) = cgroup else {
        return fork_child(|| child(false));
    };
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cg.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM is a fork: the child gets a copy of this single-threaded
    // process and returns 0 here on its copy of the stack. It never returns into the caller.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match rc {
        0 => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child(true)))
                .unwrap_or(70);
            // SAFETY: as in fork_child.
            unsafe { libc::_exit(code) }
        }
        pid if pid > 0 => Ok(pid as i32),
        // No clone3 (ENOSYS), no CLONE_INTO_CGROUP (E2BIG/EINVAL), or the directory cannot take
        // the process (EOPNOTSUPP, EBUSY, EACCES...): the child joins the slow way.
        _ => fork_child(|| child(false)),
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
    use std::os::fd::AsFd;

    #[test]
    fn child_exit_code_reaches_the_parent() {
        let pid = fork_child(|| 7).unwrap();
        let st = wait_child(pid).unwrap();
        assert_eq!(exit_code(st), 7);
    }

    #[test]
    fn fork_into_without_a_cgroup_is_a_plain_fork() {
        let pid = fork_child_into(None, |placed| if placed { 1 } else { 9 }).unwrap();
        assert_eq!(exit_code(wait_child(pid).unwrap()), 9);
    }

    #[test]
    fn fork_into_a_non_cgroup_falls_back() {
        // A plain directory is no cgroup2 directory: the kernel says EBADF and we fork anyway.
        let dir = std::fs::File::open("/").unwrap();
        let fd = dir.as_fd();
        let pid = fork_child_into(Some(fd), |placed| if placed { 1 } else { 9 }).unwrap();
        assert_eq!(exit_code(wait_child(pid).unwrap()), 9);
    }

    #[test]
    fn fork_into_a_cgroup2_directory_places_the_child_at_birth() {
        // This host's cgroup2 mount (hybrid) or the unified root; skipped where there is none.
        let Some(mount) = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .map(std::path::Path::new)
            .find(|m| m.join("cgroup.procs").exists() && m.join("cgroup.subtree_control").exists())
        else {
            return;
        };
        let name = format!("berth-fork-test-{}", std::process::id());
        let dir = mount.join(&name);
        std::fs::create_dir(&dir).unwrap();
        let f = std::fs::File::open(&dir).unwrap();
        let want = format!("0::/{name}\n").into_bytes();
        // The test harness is multi-threaded: the child allocates nothing (a raw clone3 does
        // not run glibc's fork handlers) and reads its cgroup file into a stack buffer.
        let pid = fork_child_into(Some(f.as_fd()), move |placed| {
            let mut buf = [0u8; 4096];
            // SAFETY: open/read/close into a stack buffer.
            let n = unsafe {
                let fd = libc::open(c"/proc/self/cgroup".as_ptr(), libc::O_RDONLY);
                let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
                libc::close(fd);
                n.max(0) as usize
            };
            let found = buf[..n].windows(want.len()).any(|w| w == want.as_slice());
            match (placed, found) {
                (true, true) => 0,
                (false, _) => 2,
                (true, false) => 3,
            }
        })
        .unwrap();
        let code = exit_code(wait_child(pid).unwrap());
        std::fs::remove_dir(&dir).unwrap();
        assert_eq!(code, 0, "2: clone3 refused, 3: born elsewhere");
    }

    #[test]
    fn exit_codes_like_a_shell() {
        // Encoded as the kernel does: exit code in bits 8..16, signal in the low 7 bits.
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(9), 137);
    }
}
