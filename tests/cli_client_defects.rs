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

/// Bodies as Go decodes them: keys match fields case-insensitively at any depth (docker-py
/// sends `CPURealtimePeriod`), the last of two keys for one field wins, unknown keys are ignored.
#[test]
fn create_bodies_match_keys_as_go_does() {
    let d = daemon();
    let body = br#"{"image":"busybox","cmd":["true"],"labels":{"Tier":"x"},
        "HostConfig":{"CPURealtimePeriod":1000,"memory":16777216,"Memory":33554432,"bogus":1}}"#;
    let r = d.http(
        "POST",
        "/containers/create?name=go",
        Some(("application/json", body)),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let (_, c) = d.http_json("GET", "/containers/go/json");
    assert_eq!(c["Config"]["Image"], "busybox");
    assert_eq!(c["Config"]["Cmd"], serde_json::json!(["true"]));
    assert_eq!(c["Config"]["Labels"]["Tier"], "x");
    assert_eq!(c["HostConfig"]["CpuRealtimePeriod"], 1000);
    assert_eq!(c["HostConfig"]["Memory"], 33554432);
}

/// An unknown path or method answers only once the request's body is read, so the client reads
/// the daemon's message rather than failing to write (`write: broken pipe`).
#[test]
fn unknown_paths_answer_after_reading_the_body() {
    let d = daemon();
    let big = vec![b' '; 4 << 20];
    for path in [
        "/no/such/path",
        "/v1.45/containers/x/nope",
        "/v9.99/containers/create",
    ] {
        let r = d.http("POST", path, Some(("application/json", &big)));
        assert!(
            matches!(r.status, 404 | 400),
            "{path}: {} {}",
            r.status,
            r.text()
        );
        assert!(r.json()["message"].is_string(), "{path}: {}", r.text());
    }
}

/// `POST /images/load` of a bad archive answers 200 with the error as the stream's record, as
/// dockerd does (docker-py raises ImageLoadError from it); the CLI still fails with it.
#[test]
fn a_bad_archive_load_is_an_error_record_in_a_200_stream() {
    let d = Daemon::start();
    let r = d.http(
        "POST",
        "/images/load?quiet=1",
        Some((
            "application/x-tar",
            b"this is not a tar archive at all, just text",
        )),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let last: serde_json::Value =
        serde_json::from_str(r.text().lines().last().unwrap_or("{}")).unwrap();
    assert!(last["error"].is_string(), "{}", r.text());
    assert_eq!(last["errorDetail"]["message"], last["error"]);
    let out = d.docker_stdin(&["load"], Some(b"garbage"));
    assert!(!out.status.success());
    assert_eq!(d.ok(&["images", "-q"]).trim(), "");
}
