//! `docker events`: what happens to containers and images, in dockerd's shape, live and
//! replayed with `--since`/`--until`, filtered.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{DOCKER, Daemon};

/// `docker events` running in the background; its lines arrive on a channel.
struct Follower {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Follower {
    fn start(d: &Daemon, args: &[&str]) -> Follower {
        let mut child = Command::new(DOCKER)
            .arg("events")
            .args(["--format", "{{json .}}"])
            .args(args)
            .env("DOCKER_HOST", d.host())
            .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker events");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follower { child, lines }
    }

    /// The next event, within `bound`.
    fn next(&self, bound: Duration) -> Option<serde_json::Value> {
        let line = self.lines.recv_timeout(bound).ok()?;
        serde_json::from_str(&line).ok()
    }

    /// Events until one with `action` (inclusive), within `bound` in all.
    fn until_action(&self, action: &str, bound: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + bound;
        let mut seen = Vec::new();
        while let Some(ev) = self.next(deadline.saturating_duration_since(Instant::now())) {
            let done = ev["Action"] == action;
            seen.push(ev);
            if done {
                break;
            }
        }
        seen
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn actions(evs: &[serde_json::Value]) -> Vec<String> {
    evs.iter()
        .map(|e| e["Action"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Now, in Unix seconds, as `--since` takes it. Followers start with `--since` a moment before
/// the actions they watch: the replay covers whatever happens before the CLI's subscription is
/// in place, and the bus guarantees nothing falls between replay and live.
fn now() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

#[test]
fn a_container_lifecycle_is_reported_in_order_with_dockerds_attributes() {
    let d = Daemon::start();
    d.load("busybox.tar");
    let f = Follower::start(&d, &["--since", &now(), "--filter", "type=container"]);
    let run = d.docker(&[
        "run",
        "--name",
        "ev1",
        "-l",
        "tier=front",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(run.status.code(), Some(3));
    d.ok(&["rm", "ev1"]);
    let evs = f.until_action("destroy", Duration::from_secs(30));
    assert_eq!(
        actions(&evs),
        ["create", "attach", "start", "die", "destroy"],
        "{evs:#?}"
    );
    let die = &evs[3];
    assert_eq!(die["Type"], "container");
    assert_eq!(die["Actor"]["Attributes"]["exitCode"], "3");
    assert_eq!(die["Actor"]["Attributes"]["name"], "ev1");
    assert_eq!(die["Actor"]["Attributes"]["image"], "busybox");
    assert_eq!(die["Actor"]["Attributes"]["tier"], "front");
    assert_eq!(die["scope"], "local");
    let id = die["Actor"]["ID"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    assert!(die["timeNano"].as_i64().unwrap() / 1_000_000_000 == die["time"].as_i64().unwrap());

    // Legacy fields for old clients, and none for new ones.
    let until = now();
    let old = d.http(
        "GET",
        &format!("/v1.41/events?since=1&until={until}&filters=%7B%22event%22%3A%5B%22die%22%5D%7D"),
        None,
    );
    let line = old.text().lines().next().unwrap_or_default().to_string();
    let old: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (
            old["status"].as_str(),
            old["id"].as_str(),
            old["from"].as_str()
        ),
        (Some("die"), Some(id.as_str()), Some("busybox"))
    );
    let new = d.http(
        "GET",
        &format!("/v1.53/events?since=1&until={until}&filters=%7B%22event%22%3A%5B%22die%22%5D%7D"),
        None,
    );
    let new: serde_json::Value = serde_json::from_str(new.text().lines().next().unwrap()).unwrap();
    assert!(new.get("status").is_none(), "{new}");
}

#[test]
fn kill_stop_and_image_events_and_filters() {
    let d = Daemon::start();
    d.load("busybox.tar");
    let t0 = now();
    let all = Follower::start(&d, &["--since", &t0]);
    let only_b = Follower::start(
        &d,
        &[
            "--since",
            &t0,
            "--filter",
            "container=evb",
            "--filter",
            "event=die",
        ],
    );
    // PID 1 ignores SIGTERM unless it handles it, as under dockerd.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "evb",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 7' TERM; while true; do sleep 0.1; done",
    ]);
    d.ok(&["kill", "-s", "TERM", "evb"]);
    let evs = all.until_action("die", Duration::from_secs(30));
    let kill = evs
        .iter()
        .find(|e| e["Action"] == "kill")
        .expect("kill event");
    assert_eq!(kill["Actor"]["Attributes"]["signal"], "15");
    d.ok(&["run", "-d", "--name", "evs", "busybox", "sleep", "600"]);
    d.ok(&["stop", "-t", "0", "evs"]);
    let evs = all.until_action("stop", Duration::from_secs(30));
    assert_eq!(
        actions(&evs),
        ["create", "start", "kill", "kill", "die", "stop"],
        "{evs:#?}"
    );
    // The filtered stream saw exactly evb's die.
    let mine = only_b.next(Duration::from_secs(10)).expect("evb's die");
    assert_eq!(
        (
            mine["Action"].as_str(),
            mine["Actor"]["Attributes"]["name"].as_str()
        ),
        (Some("die"), Some("evb"))
    );
    assert!(only_b.next(Duration::from_millis(500)).is_none());

    d.ok(&["tag", "busybox", "berth-test/evimg:2"]);
    d.ok(&["rmi", "berth-test/evimg:2"]);
    let evs = all.until_action("untag", Duration::from_secs(30));
    let untag = evs.last().unwrap();
    assert_eq!(untag["Type"], "image");
    assert_eq!(untag["Actor"]["Attributes"]["name"], "berth-test/evimg:2");
    let tag = evs
        .iter()
        .find(|e| e["Action"] == "tag")
        .expect("tag event");
    assert_eq!(tag["Actor"]["Attributes"]["name"], "berth-test/evimg:2");
}

#[test]
fn since_replays_until_ends_and_bad_input_is_refused() {
    let d = Daemon::start();
    d.load("busybox.tar");
    let t0 = now();
    d.ok(&["create", "--name", "past", "busybox", "true"]);
    d.ok(&["rm", "past"]);
    // Past events only: `until` is a moment from now (the CLI's "0s" is whole seconds).
    let t1 = now();
    let out = d.ok(&[
        "events",
        "--since",
        &t0,
        "--until",
        &t1,
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
        "--filter",
        "type=container",
    ]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["create past", "destroy past"],
        "{out}"
    );
    // A label filter that matches nothing, and one that does.
    let out = d.ok(&[
        "events",
        "--since",
        &t0,
        "--until",
        &t1,
        "--filter",
        "label=nope",
    ]);
    assert_eq!(out.trim(), "");
    let r = d.http(
        "GET",
        "/events?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D",
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("invalid filter 'colour'"), "{}", r.text());
    let r = d.http("GET", "/events?since=20&until=10", None);
    assert_eq!(r.status, 400, "{}", r.text());
    for bad in ["yesterday", "99999999999999999999", "9999999999999"] {
        let r = d.http("GET", &format!("/events?since=1&until={bad}"), None);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    // The daemon survived all of it.
    d.ok(&["version"]);
}
