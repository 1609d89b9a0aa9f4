//! Defects real clients hit, each pinned by a test that failed before its fix.

mod common;

use common::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start();
    d.load("busybox.tar");
    d
}

/// `docker kill` (SIGKILL) returns once the container is down, so an `rm` right after works
/// (Testcontainers and compose do exactly this).
#[test]
fn rm_right_after_kill_finds_the_container_stopped() {
    let d = daemon();
    for i in 0..5 {
        let name = format!("k{i}");
        d.ok(&["run", "-d", "--name", &name, "busybox", "sleep", "600"]);
        d.ok(&["kill", &name]);
        d.ok(&["rm", &name]);
    }
    // A kill that races nothing: the container is already down.
    d.ok(&["create", "--name", "idle", "busybox", "true"]);
    let e = d.fails(&["kill", "idle"]);
    assert!(e.contains("is not running"), "{e}");
    let r = d.http("POST", "/containers/idle/kill", None);
    assert_eq!(r.status, 409, "{}", r.text());
}
