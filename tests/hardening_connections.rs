//! The API under connection pressure: a flood of idle connections cannot take the fds `/_ping`
//! needs (the oldest idle ones are closed at the daemon's cap), half-sent headers and silent
//! connections are timed out, and streams (`logs -f`, `attach`, `wait`) are never cut by either.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{DOCKER, Daemon, tail};

/// The fd limit the daemon gets here, so its cap (a quarter kept in reserve: 768 connections)
/// is below what this test can open, whatever this host's limits are.
const DAEMON_NOFILE: u64 = 1024;
const DAEMON_CAP: usize = 768;

/// Raises this process's soft fd limit to its hard limit; returns it.
fn raise_own_nofile() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");
    }
    hard
}

/// A daemon on the test's paths with `nofile` as its fd limit and `env` added (the hidden
/// timeout knobs). The harness' daemon is started once and restarted this way.
fn daemon_with(nofile: u64, env: &[(&str, &str)], image: bool) -> Daemon {
    let mut d = Daemon::start();
    if image {
        d.load("busybox.tar");
    }
    d.stop();
    let notify_path = d.dir.path().join("notify-limits.sock");
    let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let log = File::options()
        .create(true)
        .append(true)
        .open(d.dir.path().join("berthd.log"))
        .expect("log");
    let mut cmd = d.command();
    cmd.env("NOTIFY_SOCKET", &notify_path)
        .env("BERTH_LOG", "debug")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child before exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: nofile,
                rlim_max: nofile,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    d.child = Some(cmd.spawn().expect("spawn berthd"));
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("readiness");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    d
}

/// `GET /_ping` on a fresh connection, answered within `bound` (run on a thread, so a daemon
/// that does not accept fails the test rather than hanging it).
fn ping_within(d: &Daemon, bound: Duration) -> Duration {
    let socket = d.socket();
    let (tx, rx) = mpsc::channel();
    let t = Instant::now();
    std::thread::spawn(move || {
        let r = (|| -> std::io::Result<String> {
            let mut s = UnixStream::connect(&socket)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            s.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok(out)
        })();
        let _ = tx.send(r);
    });
    match rx.recv_timeout(bound) {
        Ok(Ok(resp)) => {
            assert!(resp.starts_with("HTTP/1.1 200"), "ping answered: {resp:?}");
            assert!(resp.ends_with("OK"), "ping body: {resp:?}");
            t.elapsed()
        }
        Ok(Err(e)) => panic!("ping failed: {e}\n{}", tail(&d.log(), 30)),
        Err(_) => panic!("no ping answer within {bound:?}\n{}", tail(&d.log(), 30)),
    }
}

/// Opens up to `n` idle connections (no request sent), fewer if this process runs out of fds.
fn flood(d: &Daemon, n: usize) -> Vec<UnixStream> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        match UnixStream::connect(d.socket()) {
            Ok(s) => conns.push(s),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
            Err(e) => panic!("connect: {e}"),
        }
    }
    conns
}

/// How many of `conns` the daemon still holds open (the others it closed: EOF).
fn still_open(conns: &[UnixStream]) -> usize {
    conns
        .iter()
        .filter(|s| {
            s.set_nonblocking(true).expect("nonblocking");
            let mut b = [0u8; 64];
            matches!((&**s).read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count()
}

/// Waits (bounded) until the daemon holds at most `max` of `conns`; returns how many it holds.
fn settle(conns: &[UnixStream], max: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open = still_open(conns);
        if open <= max || Instant::now() > deadline {
            return open;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn daemon_fds(d: &Daemon) -> usize {
    let pid = d.child.as_ref().expect("daemon").id();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|r| r.count())
        .unwrap_or(0)
}

#[test]
fn ping_answers_through_a_flood_of_idle_connections() {
    let own = raise_own_nofile();
    let d = daemon_with(DAEMON_NOFILE, &[], false);
    // Well past the daemon's cap and its fd limit, within ours.
    let want = (DAEMON_NOFILE as usize * 3).min(own.saturating_sub(200) as usize);
    assert!(
        want > DAEMON_NOFILE as usize,
        "this process's fd limit ({own}) is too low to flood the daemon"
    );
    let conns = flood(&d, want);
    assert!(
        conns.len() > DAEMON_NOFILE as usize,
        "{} opened",
        conns.len()
    );
    let took = ping_within(&d, Duration::from_secs(5));
    eprintln!("ping after {} connections: {took:?}", conns.len());
    // The oldest idle ones were closed: the daemon holds no more than its cap.
    let open = settle(&conns, DAEMON_CAP);
    assert!(open <= DAEMON_CAP, "{open} connections still open");
    assert!(open > 0, "the newest idle connections stay");
    assert!(daemon_fds(&d) < DAEMON_NOFILE as usize);
    ping_within(&d, Duration::from_secs(5));
    // A second wave, then a real client.
    let more = flood(&d, DAEMON_NOFILE as usize);
    ping_within(&d, Duration::from_secs(5));
    drop((conns, more));
    ping_within(&d, Duration::from_secs(5));
    let out = d.docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Reads until EOF (the daemon closed), bounded; returns what came and when it ended.
fn read_until_closed(mut s: UnixStream, bound: Duration) -> (Vec<u8>, Duration) {
    let t = Instant::now();
    s.set_read_timeout(Some(bound)).expect("timeout");
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!(
            "not closed within {bound:?} ({e}); got {:?}",
            String::from_utf8_lossy(&out)
        ),
    }
    (out, t.elapsed())
}

#[test]
fn half_headers_and_idle_connections_are_closed_after_their_timeouts() {
    // The header timeout longer than the idle one, to tell them apart.
    let d = daemon_with(
        DAEMON_NOFILE,
        &[
            ("BERTH_HEADER_READ_TIMEOUT_MS", "3000"),
            ("BERTH_IDLE_TIMEOUT_MS", "1000"),
        ],
        false,
    );
    let bound = Duration::from_secs(15);
    // Half a request head, then nothing: hyper's header timeout.
    let mut half = UnixStream::connect(d.socket()).expect("connect");
    half.write_all(b"GET /_ping HTTP/1.1\r\nHost: doc")
        .expect("write");
    // Nothing at all: the idle timeout.
    let silent = UnixStream::connect(d.socket()).expect("connect");
    // One request kept alive, then silence: the idle timeout, counted from the response.
    let mut kept = UnixStream::connect(d.socket()).expect("connect");
    kept.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
        .expect("write");
    let mut head = [0u8; 512];
    let n = kept.read(&mut head).expect("response");
    assert!(
        head[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&head[..n])
    );

    let threads: Vec<_> = [("half", half), ("silent", silent), ("kept", kept)]
        .into_iter()
        .map(|(name, s)| std::thread::spawn(move || (name, read_until_closed(s, bound))))
        .collect();
    for t in threads {
        let (name, (out, took)) = t.join().expect("reader");
        eprintln!(
            "{name}: closed after {took:?}: {:?}",
            String::from_utf8_lossy(&out)
        );
        let (min, max) = match name {
            "half" => (Duration::from_millis(2500), Duration::from_secs(8)),
            _ => (Duration::from_millis(700), Duration::from_secs(4)),
        };
        assert!(took >= min && took <= max, "{name} closed after {took:?}");
        if name == "kept" {
            assert!(out.is_empty(), "kept: {:?}", String::from_utf8_lossy(&out));
        }
    }
    // A complete request within the bounds is answered as always.
    ping_within(&d, Duration::from_secs(5));
}

/// A docker CLI process with its stdout lines sent to a channel.
struct Cli {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Cli {
    fn spawn(d: &Daemon, args: &[&str]) -> Cli {
        let mut child = Command::new(DOCKER)
            .args(args)
            .env("DOCKER_HOST", d.host())
            .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker CLI");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Cli { child, lines }
    }

    fn expect_line(&self, what: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.trim() == want => return,
                Ok(_) => {}
                Err(e) => panic!("{what}: no {want:?} ({e})"),
            }
        }
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn streams_survive_idle_periods_and_floods() {
    let own = raise_own_nofile();
    let d = daemon_with(
        DAEMON_NOFILE,
        &[
            ("BERTH_HEADER_READ_TIMEOUT_MS", "1000"),
            ("BERTH_IDLE_TIMEOUT_MS", "1000"),
        ],
        true,
    );
    // Echoes its stdin; silent otherwise.
    let id = d
        .ok(&[
            "run",
            "-d",
            "-i",
            "busybox",
            "sh",
            "-c",
            "echo ready; while read l; do echo \"$l\"; done; sleep 3600",
        ])
        .trim()
        .to_string();
    let logs = Cli::spawn(&d, &["logs", "-f", &id]);
    logs.expect_line("logs -f", "ready");
    let mut attach = Cli::spawn(&d, &["attach", &id]);
    let mut wait = Cli::spawn(&d, &["wait", &id]);
    // Let the attach settle on its hijacked connection before testing it.
    std::thread::sleep(Duration::from_millis(500));
    let mut stdin = attach.child.stdin.take().expect("stdin");
    stdin.write_all(b"first\n").expect("write");
    attach.expect_line("attach", "first");
    logs.expect_line("logs -f", "first");

    // Silence longer than both timeouts, then a flood past the cap.
    std::thread::sleep(Duration::from_millis(3000));
    let n = (DAEMON_NOFILE as usize * 2).min(own.saturating_sub(200) as usize);
    let conns = flood(&d, n);
    ping_within(&d, Duration::from_secs(5));
    let open = settle(&conns, DAEMON_CAP);
    assert!(open <= DAEMON_CAP, "{open} open");
    assert!(attach.running() && wait.running(), "a stream was cut");

    // Every stream still carries what comes.
    stdin.write_all(b"second\n").expect("write");
    attach.expect_line("attach", "second");
    logs.expect_line("logs -f", "second");
    drop(conns);
    d.ok(&["kill", &id]);
    wait.expect_line("wait", "137");
    drop(stdin);
}
