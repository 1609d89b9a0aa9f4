//! `docker run` end to end through the stock CLI: daemon -> shim -> runtime -> container.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{DOCKER, Daemon, mounts_under};

fn daemon() -> Daemon {
    let d = Daemon::start();
    d.load("busybox.tar");
    d
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn run_prints_and_propagates_exit_codes() {
    let d = daemon();
    let out = d.docker(&["run", "--rm", "busybox", "echo", "hello world"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello world\n");
    let out = d.docker(&["run", "--rm", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let out = d.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    assert_eq!(stdout(&out), "out\n");
    assert_eq!(stderr(&out), "err\n");
    // A signal death is 128+signal (the shell reports its child's).
    let out = d.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "sh -c 'kill -9 $$'; exit $?",
    ]);
    assert_eq!(code(&out), 137);
    // --rm removed them all.
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty());
    // A missing command: 127 and dockerd's wording.
    let out = d.docker(&["run", "--rm", "busybox", "nope-not-here"]);
    assert_eq!(code(&out), 127, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("executable file not found in $PATH"),
        "{}",
        stderr(&out)
    );
    let out = d.docker(&["run", "--name", "failed", "busybox", "nope-not-here"]);
    assert_eq!(code(&out), 127);
    let st = d.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "failed",
    ]);
    assert_eq!(st.trim(), "created 127");
    d.ok(&["rm", "failed"]);
    assert!(mounts_under(&d.data_root()).is_empty());
}

#[test]
fn output_from_the_first_byte_and_stdin() {
    let d = daemon();
    // Attach happens before start: the very first bytes are there.
    for _ in 0..5 {
        let out = d.docker(&["run", "--rm", "busybox", "printf", "first"]);
        assert_eq!(stdout(&out), "first");
    }
    let mut child = Command::new(DOCKER)
        .args(["run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo done"])
        .env("DOCKER_HOST", d.host())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"line one\nline two\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        stdout(&out),
        "line one\nline two\ndone\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn tty_output_is_raw() {
    let d = daemon();
    let out = d.docker(&[
        "run",
        "--rm",
        "-t",
        "busybox",
        "sh",
        "-c",
        "echo tty; test -t 1 && echo yes",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "tty\r\nyes\r\n");
}

#[test]
fn detached_lifecycle_ps_logs_stop_kill_wait_rm() {
    let d = daemon();
    let id = d
        .ok(&[
            "run",
            "-d",
            "--name",
            "sleeper",
            "busybox",
            "sh",
            "-c",
            "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    let ps = d.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("sleeper Up"), "{ps}");
    let pid: i32 = d
        .ok(&["inspect", "--format", "{{.State.Pid}}", "sleeper"])
        .trim()
        .parse()
        .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let running = d.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.Running}}",
        "sleeper",
    ]);
    assert_eq!(running.trim(), "running true");
    // Logs (written by the shim), with and without -f; -f ends when the container stops.
    let logs = d.ok(&["logs", "sleeper"]);
    assert_eq!(logs, "started\n");
    let follow = Command::new(DOCKER)
        .args(["logs", "-f", "sleeper"])
        .env("DOCKER_HOST", d.host())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    d.ok(&["stop", "sleeper"]);
    assert!(
        t0.elapsed().as_secs() < 5,
        "stop waited for the timeout though the trap exits at once"
    );
    let followed = follow.wait_with_output().unwrap();
    assert_eq!(stdout(&followed), "started\nbye\n");
    let st = d.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "sleeper",
    ]);
    assert_eq!(st.trim(), "exited 0");
    // An exited container keeps its writable layer and log, not its bundle, mount or namespace.
    assert!(
        !d.exec_root().join("containers").join(&id).exists(),
        "bundle left after exit"
    );
    assert!(mounts_under(&d.exec_root()).is_empty());
    assert!(d.ok(&["ps", "-q"]).trim().is_empty());
    assert!(d.ok(&["ps", "-aq"]).contains(&id[..12]));
    // Start again, kill, wait.
    d.ok(&["start", "sleeper"]);
    d.ok(&["kill", "sleeper"]);
    assert_eq!(d.ok(&["wait", "sleeper"]).trim(), "137");
    let err = d.fails(&["kill", "sleeper"]);
    assert!(err.contains("is not running"), "{err}");
    // stop of a stopped container is fine (304 under the hood); restart runs it again.
    d.ok(&["stop", "sleeper"]);
    d.ok(&["restart", "-t", "1", "sleeper"]);
    assert_eq!(
        d.ok(&["inspect", "--format", "{{.State.Running}}", "sleeper"])
            .trim(),
        "true"
    );
    d.ok(&["kill", "sleeper"]);
    // rm -f of a running one.
    d.ok(&["start", "sleeper"]);
    let err = d.fails(&["rm", "sleeper"]);
    assert!(
        err.contains("stop the container before removing or force remove"),
        "{err}"
    );
    d.ok(&["rm", "-f", "sleeper"]);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty());
    assert!(mounts_under(&d.data_root()).is_empty());
    assert!(mounts_under(&d.exec_root()).is_empty());
}

#[test]
fn stop_signal_and_timeout() {
    let d = daemon();
    // Ignores TERM: stop kills it after the timeout.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "stubborn",
        "--stop-timeout",
        "1",
        "busybox",
        "sh",
        "-c",
        "trap '' TERM; while true; do sleep 0.1; done",
    ]);
    let t0 = std::time::Instant::now();
    d.ok(&["stop", "stubborn"]);
    let took = t0.elapsed();
    assert!(took.as_millis() >= 900 && took.as_secs() < 8, "{took:?}");
    assert_eq!(
        d.ok(&["inspect", "--format", "{{.State.ExitCode}}", "stubborn"])
            .trim(),
        "137"
    );
    // A custom stop signal.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "usr1",
        "--stop-signal",
        "USR1",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 42' USR1; while true; do sleep 0.1; done",
    ]);
    d.ok(&["stop", "usr1"]);
    assert_eq!(
        d.ok(&["inspect", "--format", "{{.State.ExitCode}}", "usr1"])
            .trim(),
        "42"
    );
}

#[test]
fn config_flags_reach_the_process() {
    let d = daemon();
    let env_file = d.dir.path().join("env");
    std::fs::write(&env_file, "FROM_FILE=yes\n# comment\n").unwrap();
    let out = d.ok(&[
        "run",
        "--rm",
        "-e",
        "A=1",
        "--env-file",
        env_file.to_str().unwrap(),
        "-w",
        "/tmp",
        "--hostname",
        "box",
        "busybox",
        "sh",
        "-c",
        "echo $A $FROM_FILE $(pwd) $(hostname) $PATH",
    ]);
    assert_eq!(
        out,
        "1 yes /tmp box /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    );
    assert_eq!(
        d.ok(&["run", "--rm", "-u", "nobody", "busybox", "id", "-u"])
            .trim(),
        "65534"
    );
    assert_eq!(
        d.ok(&["run", "--rm", "-u", "1234:5678", "busybox", "id"])
            .trim(),
        "uid=1234 gid=5678 groups=5678"
    );
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--entrypoint",
            "echo",
            "busybox",
            "via",
            "entrypoint"
        ]),
        "via entrypoint\n"
    );
    let labels = d.ok(&["create", "-l", "a=b", "--name", "lab", "busybox"]);
    assert!(!labels.is_empty());
    assert_eq!(
        d.ok(&["inspect", "--format", "{{.Config.Labels.a}}", "lab"])
            .trim(),
        "b"
    );
    // Read-only root, writable tmpfs.
    let out = d.docker(&[
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/run",
        "busybox",
        "sh",
        "-c",
        "touch /run/ok && touch /nope",
    ]);
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    // Ulimits.
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--ulimit",
            "nofile=100:200",
            "busybox",
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn"
        ]),
        "100\n200\n"
    );
    // no-new-privileges and capabilities.
    let status = d.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges",
        "busybox",
        "cat",
        "/proc/self/status",
    ]);
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    let default_caps = cap_eff(&d.ok(&["run", "--rm", "busybox", "cat", "/proc/self/status"]));
    assert_eq!(default_caps, 0xa80425fb, "Docker's default capability set");
    let with_admin = cap_eff(&d.ok(&[
        "run",
        "--rm",
        "--cap-add",
        "NET_ADMIN",
        "busybox",
        "cat",
        "/proc/self/status",
    ]));
    assert_eq!(with_admin, 0xa80425fb | (1 << 12));
    let dropped = cap_eff(&d.ok(&[
        "run",
        "--rm",
        "--cap-drop",
        "ALL",
        "busybox",
        "cat",
        "/proc/self/status",
    ]));
    assert_eq!(dropped, 0);
    let privileged = cap_eff(&d.ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "cat",
        "/proc/self/status",
    ]));
    let own = cap_eff(&std::fs::read_to_string("/proc/self/status").unwrap());
    assert_eq!(privileged, own, "--privileged grants what the daemon holds");
    // Another runc-compatible runtime per container, and a refusal for an unknown one.
    if std::path::Path::new("/usr/sbin/runc").exists() {
        assert_eq!(
            d.ok(&[
                "run",
                "--rm",
                "--runtime",
                "runc",
                "busybox",
                "echo",
                "via runc"
            ]),
            "via runc\n"
        );
    }
    let err = d.fails(&["run", "--rm", "--runtime", "nope", "busybox", "true"]);
    assert!(
        err.contains("unknown or invalid runtime name: nope"),
        "{err}"
    );
    // The process is pid 1 of its own namespace; masked /proc paths.
    assert_eq!(
        d.ok(&["run", "--rm", "busybox", "sh", "-c", "echo $$"])
            .trim(),
        "1"
    );
    let out = d.docker(&["run", "--rm", "busybox", "cat", "/proc/kcore"]);
    assert_ne!(code(&out), 0);
}

fn cap_eff(status: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap()
}

#[test]
fn resource_limits_land_in_cgroups() {
    let d = daemon();
    let id = d
        .ok(&[
            "run",
            "-d",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "50",
            "busybox",
            "sleep",
            "30",
        ])
        .trim()
        .to_string();
    let read = |p: String| {
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .trim()
            .to_string()
    };
    if std::path::Path::new("/sys/fs/cgroup/memory").exists() {
        assert_eq!(
            read(format!(
                "/sys/fs/cgroup/memory/berth/{id}/memory.limit_in_bytes"
            )),
            (64 << 20).to_string()
        );
        assert_eq!(
            read(format!("/sys/fs/cgroup/cpu/berth/{id}/cpu.cfs_quota_us")),
            "50000"
        );
        assert_eq!(
            read(format!("/sys/fs/cgroup/pids/berth/{id}/pids.max")),
            "50"
        );
    } else {
        assert_eq!(
            read(format!("/sys/fs/cgroup/berth/{id}/memory.max")),
            (64 << 20).to_string()
        );
        assert_eq!(
            read(format!("/sys/fs/cgroup/berth/{id}/cpu.max")),
            "50000 100000"
        );
        assert_eq!(read(format!("/sys/fs/cgroup/berth/{id}/pids.max")), "50");
    }
    d.ok(&["rm", "-f", &id]);
    assert!(
        !std::path::Path::new(&format!("/sys/fs/cgroup/memory/berth/{id}")).exists(),
        "cgroup left behind"
    );
}

#[test]
fn oom_kill_is_reported() {
    let d = daemon();
    let out = d.docker(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "sh",
        "-c",
        "x=$(head -c 64m /dev/zero | tr '\\000' a); echo survived",
    ]);
    assert_eq!(code(&out), 137, "{}", stderr(&out));
    assert_eq!(
        d.ok(&["inspect", "--format", "{{.State.OOMKilled}}", "hog"])
            .trim(),
        "true"
    );
}

#[test]
fn networks_none_host_and_default() {
    let d = daemon();
    let links = d.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ls",
        "/sys/class/net",
    ]);
    assert_eq!(links.trim(), "lo");
    let links = d.ok(&["run", "--rm", "busybox", "ls", "/sys/class/net"]);
    assert_eq!(
        links.trim(),
        "lo",
        "bridge gives its own namespace with loopback only, for now"
    );
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        d.ok(&["run", "--rm", "--network", "host", "busybox", "hostname"])
            .trim(),
        host_name.trim()
    );
    // Loopback works inside a private namespace.
    let out = d.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "nc -l -p 7777 -e echo pong & sleep 0.3; nc 127.0.0.1 7777 </dev/null",
    ]);
    assert!(out.contains("pong"), "{out}");
    assert!(
        !d.exec_root()
            .join("netns")
            .read_dir()
            .map(|mut r| r.next().is_some())
            .unwrap_or(false),
        "netns left behind"
    );
}

#[test]
fn create_then_start_attach() {
    let d = daemon();
    d.ok(&[
        "create",
        "--name",
        "later",
        "busybox",
        "echo",
        "from create",
    ]);
    assert_eq!(
        d.ok(&["inspect", "--format", "{{.State.Status}}", "later"])
            .trim(),
        "created"
    );
    let out = d.ok(&["start", "-a", "later"]);
    assert_eq!(out, "from create\n");
    assert_eq!(
        d.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            "later"
        ])
        .trim(),
        "exited 0"
    );
    assert_eq!(d.ok(&["logs", "later"]), "from create\n");
    let out = d.ok(&["start", "-a", "later"]);
    assert_eq!(out, "from create\n");
    assert_eq!(d.ok(&["logs", "later"]), "from create\nfrom create\n");
}

#[test]
fn containers_outlive_the_daemon() {
    let mut d = daemon();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done",
    ]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "quitter",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 7",
    ]);
    let pid = d
        .ok(&["inspect", "--format", "{{.State.Pid}}", "ticker"])
        .trim()
        .to_string();
    let before = d.ok(&["logs", "ticker"]).lines().count();
    d.kill9();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    d.spawn().expect("daemon restarts");
    // Same process, still running; what it printed meanwhile is in the log.
    assert_eq!(
        d.ok(&[
            "inspect",
            "--format",
            "{{.State.Pid}} {{.State.Running}}",
            "ticker"
        ])
        .trim(),
        format!("{pid} true")
    );
    let after = d.ok(&["logs", "ticker"]).lines().count();
    assert!(
        after >= before + 5,
        "log lines written while the daemon was away: {before} -> {after}"
    );
    // The one that exited meanwhile shows its real exit code.
    assert_eq!(
        d.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            "quitter"
        ])
        .trim(),
        "exited 7"
    );
    // attach, logs -f and stop work on the reattached container.
    let follow = Command::new(DOCKER)
        .args(["logs", "-f", "--tail", "1", "ticker"])
        .env("DOCKER_HOST", d.host())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let attach = Command::new(DOCKER)
        .args(["attach", "--no-stdin", "ticker"])
        .env("DOCKER_HOST", d.host())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    d.ok(&["stop", "-t", "1", "ticker"]);
    let followed = stdout(&follow.wait_with_output().unwrap());
    assert!(followed.lines().count() >= 3, "{followed}");
    let attached = stdout(&attach.wait_with_output().unwrap());
    assert!(attached.contains("tick"), "{attached}");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn startup_removes_debris_no_row_owns() {
    let mut d = daemon();
    let id = d
        .ok(&["run", "-d", "busybox", "sleep", "300"])
        .trim()
        .to_string();
    let pid: i32 = d
        .ok(&["inspect", "--format", "{{.State.Pid}}", &id])
        .trim()
        .parse()
        .unwrap();
    d.kill9();
    // A crash between deleting the row and cleaning up: the shim, the mount and the namespace
    // are still there, and no row owns them.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = berth::store::Store::open(&d.data_root()).await.unwrap();
        assert!(store.delete_container(&id).await.unwrap().0);
        store.close().await;
    });
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    d.spawn().expect("daemon restarts");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the orphan container still runs"
    );
    assert!(!d.exec_root().join("containers").join(&id).exists());
    assert!(mounts_under(&d.exec_root()).is_empty());
    let shims = Command::new("pgrep")
        .args(["-f", &format!("berth-shim.*{id}")])
        .output()
        .unwrap();
    assert!(shims.stdout.is_empty(), "orphan shim still running");
}

#[test]
fn runtime_args_from_daemon_json_reach_the_runtime() {
    if !std::path::Path::new("/usr/sbin/runc").exists() {
        eprintln!("SKIP: runc not installed");
        return;
    }
    let wrap_dir = tempfile::tempdir().unwrap();
    let record = wrap_dir.path().join("args.log");
    let wrapper = wrap_dir.path().join("wrapped-runc");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\nexec /usr/sbin/runc \"$@\"\n",
            record.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = format!(
        r#"{{"runtimes": {{"wrapped": {{"path": "{}", "runtimeArgs": ["--debug"]}}}}}}"#,
        wrapper.display()
    );
    let d = Daemon::start_with_config(&[], &config);
    d.load("busybox.tar");
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--runtime",
            "wrapped",
            "busybox",
            "echo",
            "wrapped"
        ]),
        "wrapped\n"
    );
    let calls = std::fs::read_to_string(&record).unwrap();
    assert!(
        calls
            .lines()
            .any(|l| l.starts_with("--debug --root") && l.contains(" create ")),
        "{calls}"
    );
    assert!(calls.lines().all(|l| l.starts_with("--debug ")), "{calls}");
}

/// Reads from `fd` until `needle` shows up (bounded); returns what was read.
fn read_pty_until(fd: &std::os::fd::OwnedFd, needle: &str) -> String {
    use std::os::fd::AsFd;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "no {needle:?} on the terminal: {:?}",
            String::from_utf8_lossy(&seen)
        );
        let mut fds = [nix::poll::PollFd::new(
            fd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        if nix::poll::poll(&mut fds, ms).unwrap_or(0) == 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn run_it_detaches_on_ctrl_p_ctrl_q_and_the_container_keeps_running() {
    use std::os::unix::process::CommandExt;
    let d = daemon();
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut cmd = Command::new(DOCKER);
    cmd.env("DOCKER_HOST", d.host())
        .args([
            "run",
            "-it",
            "--name",
            "detachable",
            "--network",
            "none",
            "busybox",
            "sh",
        ])
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    // SAFETY: setsid and ioctl(TIOCSCTTY) only, between fork and exec: the CLI gets the pty
    // as its controlling terminal, as in an interactive shell.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut cli = cmd.spawn().unwrap();
    // The slave ends live on in `cmd`; only the CLI may hold them, so the drain below ends.
    drop(cmd);
    let master = pty.master;
    read_pty_until(&master, "# ");
    nix::unistd::write(&master, b"echo hello-$((20+22))\r").unwrap();
    read_pty_until(&master, "hello-42");
    nix::unistd::write(&master, b"\x10\x11").unwrap();
    // The CLI's output goes to the pty: keep it drained (until the CLI is gone and the read
    // fails) so the CLI never blocks on it, and wait for the CLI's exit, bounded.
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while matches!(nix::unistd::read(&master, &mut buf), Ok(n) if n > 0) {}
    });
    let cli_pid = cli.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(cli.wait());
    });
    let Ok(status) = rx.recv_timeout(std::time::Duration::from_secs(20)) else {
        // SAFETY: killing the CLI this test started, so a failure leaves no process behind.
        unsafe { libc::kill(cli_pid, libc::SIGKILL) };
        d.ok(&["rm", "-f", "detachable"]);
        panic!("the CLI did not detach");
    };
    let status = status.unwrap();
    assert!(status.success(), "{status:?}");
    let state = d.ok(&["inspect", "--format", "{{.State.Status}}", "detachable"]);
    assert_eq!(state.trim(), "running");
    d.ok(&["rm", "-f", "detachable"]);
}

/// The response's status line and headers, lower-cased, read a byte at a time so that nothing of
/// the stream after them is consumed.
fn response_head(conn: &mut std::os::unix::net::UnixStream) -> String {
    use std::io::Read;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        conn.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).to_lowercase()
}

#[test]
fn attach_without_upgrade_is_a_raw_stream_until_close() {
    use std::io::Read;
    // Clients that do not ask for an upgrade get moby's bare 200 and then the stream itself:
    // no chunked encoding, no length, the end of the stream is the end of the connection.
    let d = daemon();
    let id = d.ok(&["create", "busybox", "sh", "-c", "echo one; echo two >&2"]);
    let id = id.trim();
    let mut conn = std::os::unix::net::UnixStream::connect(d.socket()).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        conn,
        "POST /v1.53/containers/{id}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    // The attach is registered before the start, so nothing is lost.
    let head = response_head(&mut conn);
    assert!(
        head.starts_with("http/1.0 200 ") || head.starts_with("http/1.1 200 "),
        "{head}"
    );
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert!(
        head.contains("content-type: application/vnd.docker.multiplexed-stream"),
        "{head}"
    );
    d.ok(&["start", id]);
    let mut body = Vec::new();
    conn.read_to_end(&mut body).unwrap();
    // Two stdcopy frames, in either order (two pipes).
    let mut frames = Vec::new();
    let mut rest = body.as_slice();
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        frames.push((
            rest[0],
            String::from_utf8_lossy(&rest[8..8 + len]).into_owned(),
        ));
        rest = &rest[8 + len..];
    }
    assert!(rest.is_empty(), "trailing bytes: {body:?}");
    frames.sort();
    assert_eq!(
        frames,
        vec![(1, "one\n".to_string()), (2, "two\n".to_string())]
    );
    d.ok(&["rm", id]);
}

#[test]
fn detach_keys_end_a_terminal_attach_and_the_container_runs_on() {
    use std::io::Read;
    let d = daemon();
    d.ok(&["run", "-dit", "--name", "term", "busybox", "sh"]);
    let r = d.http(
        "POST",
        "/containers/term/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-",
        None,
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("Invalid detach keys (ctrl-) provided"),
        "{}",
        r.text()
    );
    let mut conn = std::os::unix::net::UnixStream::connect(d.socket()).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        conn,
        "POST /v1.53/containers/term/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=q,w HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    )
    .unwrap();
    let head = response_head(&mut conn);
    assert!(head.starts_with("http/1.1 101 "), "{head}");
    // A partial match (q, then not w) is forwarded as typed: the shell sees "q1".
    conn.write_all(b"echo q1-$((40+2))\n").unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("q1-42") {
        let n = conn
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&seen)));
        assert!(
            n > 0,
            "attach ended early: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    // The keys end the attach (the connection closes); the container runs on.
    conn.write_all(b"qw").unwrap();
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).expect("the attach ends");
    assert_eq!(
        d.ok(&["inspect", "--format", "{{.State.Running}}", "term"])
            .trim(),
        "true"
    );
    d.ok(&["rm", "-f", "term"]);
}
