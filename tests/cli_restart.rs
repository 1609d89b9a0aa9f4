//! `docker restart` through the stock CLI: a stop (signal, timeout) then a start, dockerd's
//! events in its order, and an `--rm` container that survives its own restart.

mod common;

use common::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start();
    d.load("busybox.tar");
    d
}

fn now() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// The replayed events of one container between `since` and now: `Action` and `exitCode`.
fn events_since(d: &Daemon, since: &str, name: &str) -> Vec<String> {
    d.ok(&[
        "events",
        "--since",
        since,
        "--until",
        &now(),
        "--filter",
        &format!("container={name}"),
        "--format",
        "{{.Action}}{{with .Actor.Attributes.exitCode}}={{.}}{{end}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// A process that dies of TERM with code 3 (as pid 1, `sleep` alone would ignore it).
const TERM_EXITS_3: &[&str] = &["sh", "-c", "trap 'exit 3' TERM; sleep 600 & wait"];

fn run_detached(d: &Daemon, flags: &[&str]) {
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(flags);
    args.push("busybox");
    args.extend_from_slice(TERM_EXITS_3);
    d.ok(&args);
}

fn inspect(d: &Daemon, name: &str, format: &str) -> String {
    d.ok(&["inspect", "--format", format, name])
        .trim()
        .to_string()
}

#[test]
fn restart_stops_then_starts_with_dockerds_events() {
    let d = daemon();
    run_detached(&d, &["--name", "rs"]);
    let pid = inspect(&d, "rs", "{{.State.Pid}}");
    let started = inspect(&d, "rs", "{{.State.StartedAt}}");
    let since = now();
    d.ok(&["restart", "-t", "5", "rs"]);
    assert_eq!(inspect(&d, "rs", "{{.State.Running}}"), "true");
    assert_ne!(inspect(&d, "rs", "{{.State.Pid}}"), pid, "a new process");
    assert_ne!(inspect(&d, "rs", "{{.State.StartedAt}}"), started);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(
        events_since(&d, &since, "rs"),
        ["kill", "die=3", "stop", "start", "restart"]
    );

    // The signal is the caller's (-s), and a stopped container is just started.
    let since = now();
    d.ok(&["restart", "-s", "KILL", "rs"]);
    d.ok(&["stop", "rs"]);
    d.ok(&["restart", "rs"]);
    assert_eq!(inspect(&d, "rs", "{{.State.Running}}"), "true");
    assert_eq!(
        events_since(&d, &since, "rs"),
        [
            "kill", "die=137", "stop", "start", "restart", // restart -s KILL
            "kill", "die=3", "stop", // stop
            "start", "restart", // restart of a stopped container
        ]
    );

    let err = d.fails(&["restart", "nope"]);
    assert!(err.contains("No such container: nope"), "{err}");
    d.ok(&["rm", "-f", "rs"]);
}

#[test]
fn an_rm_container_survives_its_restart_and_goes_at_its_stop() {
    let d = daemon();
    run_detached(&d, &["--rm", "--name", "rr"]);
    let id = inspect(&d, "rr", "{{.Id}}");
    d.ok(&["restart", "-t", "1", "rr"]);
    assert_eq!(inspect(&d, "rr", "{{.State.Running}}"), "true");
    assert_eq!(inspect(&d, "rr", "{{.Id}}"), id);
    // An ordinary stop afterwards still honours --rm.
    d.ok(&["stop", "rr"]);
    let (status, _) = d.http_json("POST", "/containers/rr/wait?condition=removed");
    assert!(status == 200 || status == 404, "{status}");
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty());
}
