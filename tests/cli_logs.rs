//! `docker logs` over a rotated json-file log, through the stock CLI: `--tail` across rotated
//! files, and `-f` through a burst of rotations, receiving every line once, in order, and ending
//! when the container exits.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{DOCKER, Daemon};

fn daemon() -> Daemon {
    let d = Daemon::start();
    d.load("busybox.tar");
    d
}

/// A CLI process killed if the test ends before it does.
struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

fn cli(d: &Daemon, args: &[&str], stdin: Stdio, stdout: Stdio) -> Proc {
    Proc(
        Command::new(DOCKER)
            .args(args)
            .env("DOCKER_HOST", d.host())
            .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
            .env_remove("DOCKER_CONTEXT")
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .expect("run docker CLI"),
    )
}

fn numbered(range: std::ops::Range<usize>) -> String {
    range.map(|i| format!("line {i}\n")).collect()
}

#[test]
fn tail_reads_across_rotated_files() {
    let d = daemon();
    let id = d
        .ok(&[
            "run",
            "-d",
            "--name",
            "many",
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=3",
            "busybox",
            "sh",
            "-c",
            "i=0; while [ $i -lt 500 ]; do echo \"line $i\"; i=$((i+1)); done",
        ])
        .trim()
        .to_string();
    assert_eq!(d.ok(&["wait", "many"]).trim(), "0");
    let dir = d.data_root().join("containers").join(&id);
    let log = |suffix: &str| dir.join(format!("{id}-json.log{suffix}"));
    assert!(log(".1").exists() && log(".2").exists(), "the log rotated");
    assert!(!log(".3").exists(), "max-file=3 keeps three files");

    assert_eq!(d.ok(&["logs", "--tail", "5", "many"]), numbered(495..500));
    assert_eq!(d.ok(&["logs", "-n", "1", "many"]), numbered(499..500));
    assert_eq!(d.ok(&["logs", "--tail", "0", "many"]), "");
    // More lines than the current file holds (about 14 to a 1k file): older files too.
    assert_eq!(d.ok(&["logs", "--tail", "30", "many"]), numbered(470..500));
    // Everything kept: consecutive lines ending with the last, as many as --tail all gives.
    let all = d.ok(&["logs", "many"]);
    let first: usize = all
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("line "))
        .and_then(|n| n.parse().ok())
        .expect("a first line");
    assert!(first > 0 && first < 470, "{first}");
    assert_eq!(all, numbered(first..500));
    assert_eq!(d.ok(&["logs", "--tail", "all", "many"]), all);
    assert_eq!(d.ok(&["logs", "--tail", "100000", "many"]), all);
}

#[test]
fn follow_receives_every_line_across_rotations_and_ends_with_the_container() {
    let d = daemon();
    const LINES: usize = 3000;
    // The burst waits for a line on stdin, so that `logs -f` is following before it starts.
    // It comes in gusts of 300 lines (files of 20k hold ~240), each rotating the log once or
    // twice at full speed, with a short pause between gusts: the shim keeps only max-file
    // files, so a reader that falls three whole files behind loses lines (dockerd's too); the
    // pauses keep this test about rotation, not about this host's scheduler.
    let script = format!(
        "echo ready; read go; i=0; while [ $i -lt {LINES} ]; do echo \"line $i\"; \
         i=$((i+1)); [ $((i % 300)) -eq 0 ] && sleep 0.05; done; echo done"
    );
    let mut run = cli(
        &d,
        &[
            "run",
            "-i",
            "--name",
            "burst",
            "--log-opt",
            "max-size=20k",
            "--log-opt",
            "max-file=3",
            "busybox",
            "sh",
            "-c",
            &script,
        ],
        Stdio::piped(),
        Stdio::null(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !d.docker(&["logs", "burst"]).stdout.starts_with(b"ready\n") {
        assert!(Instant::now() < deadline, "the container never got ready");
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut follow = cli(&d, &["logs", "-f", "burst"], Stdio::null(), Stdio::piped());
    let out = follow.0.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| {
        rx.recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
    };
    assert_eq!(next("the first line"), "ready");

    let mut stdin = run.0.stdin.take().expect("stdin");
    stdin.write_all(b"go\n").expect("start the burst");
    drop(stdin);
    for i in 0..LINES {
        assert_eq!(next("the burst"), format!("line {i}"));
    }
    assert_eq!(next("the end"), "done");
    // The stream ends (the reader thread hangs up) once the container has exited.
    match rx.recv_timeout(Duration::from_secs(30)) {
        Err(mpsc::RecvTimeoutError::Disconnected) => {}
        other => panic!("logs -f went on after the container exited: {other:?}"),
    }
    let status = follow.0.wait().expect("logs -f exits");
    assert!(status.success(), "{status}");
    assert!(run.0.wait().expect("run exits").success());
    let dir = d
        .data_root()
        .join("containers")
        .join(d.ok(&["inspect", "--format", "{{.Id}}", "burst"]).trim());
    assert!(
        std::fs::read_dir(&dir)
            .expect("container dir")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with("-json.log.2")),
        "the burst rotated the log"
    );
}

/// The daemon's inotify descriptors: one per `logs -f` being served.
fn inotify_fds(d: &Daemon) -> usize {
    let pid = d.child.as_ref().expect("daemon running").id();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.flatten()
                .filter(|f| {
                    std::fs::read_link(f.path())
                        .is_ok_and(|t| t.to_string_lossy().contains("inotify"))
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn follow_ends_when_the_client_goes_away() {
    let d = daemon();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "while true; do echo tick; sleep 0.1; done",
    ]);
    let before = inotify_fds(&d);
    let mut followers: Vec<Proc> = (0..5)
        .map(|_| cli(&d, &["logs", "-f", "ticker"], Stdio::null(), Stdio::piped()))
        .collect();
    // Each is following once it has printed a line.
    for f in &mut followers {
        let mut line = String::new();
        BufReader::new(f.0.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("a line");
        assert_eq!(line, "tick\n");
    }
    assert_eq!(inotify_fds(&d), before + 5, "one watch per follower");
    drop(followers);
    // The daemon notices the hang-up (at the latest with the next line) and lets go.
    let deadline = Instant::now() + Duration::from_secs(10);
    while inotify_fds(&d) != before {
        assert!(
            Instant::now() < deadline,
            "followers left behind: {} inotify fds, {before} before",
            inotify_fds(&d)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    d.ok(&["rm", "-f", "ticker"]);
}

#[test]
fn tail_takes_a_count_and_anything_else_as_all_as_dockerd_does() {
    let d = daemon();
    let id = d.ok(&["run", "-d", "busybox", "sh", "-c", "seq 1 5"]);
    let id = id.trim();
    d.ok(&["wait", id]);
    // The CLI's own spelling, and the raw values clients send (testcontainers-node: -1).
    assert_eq!(d.ok(&["logs", "--tail", "2", id]), "4\n5\n");
    for tail in ["-1", "all", "abc", "99999999999999999999", ""] {
        let r = d.http(
            "GET",
            &format!("/containers/{id}/logs?stdout=1&tail={tail}"),
            None,
        );
        assert_eq!(r.status, 200, "tail={tail}: {}", r.text());
        // Five stdcopy frames: all of the log.
        let lines = r.body.windows(2).filter(|w| w[1] == b'\n').count();
        assert_eq!(lines, 5, "tail={tail}");
    }
    let r = d.http(
        "GET",
        &format!("/containers/{id}/logs?stdout=1&tail=0"),
        None,
    );
    assert!(r.body.is_empty(), "tail=0 is nothing");
    d.ok(&["rm", id]);
}
