//! `--rm` removal is never lost: not when the container exits while the daemon is down, and
//! not when the daemon stopped before it removed an exited `--rm` container.

mod common;

use std::time::{Duration, Instant};

use common::Daemon;

/// Waits (bounded) until the container is gone, through the API's `condition=removed` wait.
fn wait_removed(d: &Daemon, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = d.http(
            "POST",
            &format!("/containers/{name}/wait?condition=removed"),
            None,
        );
        // 404: already gone; 200: gone now.
        if r.status == 404 || r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "wait: {} {}", r.status, r.text());
    }
    assert!(
        !d.ok(&["ps", "-a", "--format", "{{.Names}}"])
            .lines()
            .any(|n| n == name),
        "{name} is still listed"
    );
}

/// Blocks until process `pid` has exited (pidfd: no polling), at most `bound`.
fn wait_pid_gone(pid: i32, bound: Duration) {
    // SAFETY: pidfd_open takes a pid and flags, returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return; // already gone
    }
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; the descriptor is ours and closed right after.
    let n = unsafe { libc::poll(&mut pfd, 1, bound.as_millis() as i32) };
    unsafe { libc::close(fd) };
    assert_eq!(n, 1, "process {pid} did not exit within {bound:?}");
}

#[test]
fn an_rm_container_that_exits_while_the_daemon_is_down_is_removed_at_start() {
    let mut d = Daemon::start();
    d.load("busybox.tar");
    d.ok(&[
        "run", "-d", "--rm", "--name", "brief", "busybox", "sleep", "1",
    ]);
    let pid: i32 = d
        .ok(&["inspect", "-f", "{{.State.Pid}}", "brief"])
        .trim()
        .parse()
        .expect("pid");
    d.kill9();
    wait_pid_gone(pid, Duration::from_secs(20));
    d.spawn().expect("daemon restarts");
    wait_removed(&d, "brief");
}

#[test]
fn an_exited_rm_container_left_by_the_last_run_is_removed_at_start() {
    let mut d = Daemon::start();
    d.load("busybox.tar");
    // Never started, so never removed: what a crash between the exit and the removal leaves.
    d.ok(&["create", "--rm", "--name", "leftover", "busybox", "true"]);
    d.ok(&["create", "--name", "stays", "busybox", "true"]);
    d.kill9();
    d.spawn().expect("daemon restarts");
    wait_removed(&d, "leftover");
    assert_eq!(
        d.ok(&["ps", "-a", "--format", "{{.Names}}"]).trim(),
        "stays"
    );
}
