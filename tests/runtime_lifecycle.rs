//! OCI runtime lifecycle, run against berth-runtime and runc: create/start/state/kill/delete,
//! exit codes and error messages, stdio through pipes, the console socket, `run`.

mod runtime_support;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;
use std::time::Duration;

use runtime_support::*;

#[test]
fn create_start_state_kill_delete() {
    for rt in runtimes() {
        let c = Container::new(&rt, "life");
        c.create();
        let st = c.state();
        assert_eq!(st["status"], "created", "[{}] {st}", rt.name);
        assert_eq!(st["id"], c.id.as_str());
        let pid = st["pid"].as_i64().unwrap();
        assert!(pid > 0, "[{}] {st}", rt.name);
        assert_eq!(st["bundle"], c.bundle.path().to_str().unwrap());
        assert_eq!(
            st["rootfs"],
            c.rootfs().canonicalize().unwrap().to_str().unwrap()
        );
        assert_eq!(st["owner"], "");
        let created = st["created"].as_str().unwrap();
        assert!(
            berth::util::time::parse_rfc3339(created).is_some(),
            "[{}] created {created:?}",
            rt.name
        );
        assert!(
            st["ociVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("1."))
        );
        // The init is waiting: the user process has not run.
        c.runtime_err(
            &[
                "create",
                "--bundle",
                c.bundle.path().to_str().unwrap(),
                &c.id,
            ],
            "exist",
        );

        c.start();
        assert_eq!(c.status(), "running", "[{}]", rt.name);
        assert_eq!(c.pid() as i64, pid, "[{}] pid changed at start", rt.name);
        c.runtime_err(&["start", &c.id], "running");
        c.runtime_err(&["delete", &c.id], "not stopped");

        c.runtime_ok(&["kill", &c.id, "KILL"]);
        c.wait_exit(pid as i32);
        let st = c.state();
        assert_eq!(st["status"], "stopped", "[{}] {st}", rt.name);
        assert_eq!(st["pid"], 0, "[{}] {st}", rt.name);
        c.runtime_err(&["kill", &c.id, "TERM"], "container not running");
        c.runtime_err(&["start", &c.id], "stopped");
        c.runtime_ok(&["delete", &c.id]);
        c.runtime_err(&["state", &c.id], "container does not exist");
        c.runtime_err(&["kill", &c.id], "container does not exist");
        c.runtime_err(&["delete", &c.id], "does not exist");
        c.runtime_ok(&["delete", "--force", &c.id]);
        c.finish();
    }
}

#[test]
fn state_follows_an_init_that_exits_on_its_own() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "exit");
        c.args(&["true"]);
        c.create();
        let pid = c.pid();
        c.start();
        c.wait_exit(pid);
        assert_eq!(c.status(), "stopped", "[{}]", rt.name);
        c.runtime_ok(&["delete", &c.id]);
        c.finish();
    }
}

#[test]
fn killing_a_created_container_and_deleting_it() {
    for rt in runtimes() {
        let c = Container::new(&rt, "created-kill");
        c.create();
        let pid = c.pid();
        // A created container can be deleted without --force: it never ran user code.
        c.runtime_ok(&["delete", &c.id]);
        assert!(wait_pid_gone(pid, Duration::from_secs(10)), "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn term_stops_a_created_container() {
    for rt in runtimes() {
        let c = Container::new(&rt, "created-term");
        c.create();
        let pid = c.pid();
        c.runtime_ok(&["kill", &c.id, "TERM"]);
        c.wait_exit(pid);
        assert_eq!(c.status(), "stopped", "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn delete_force_of_a_running_container() {
    for rt in runtimes() {
        let c = Container::new(&rt, "force");
        c.launch();
        let pid = c.pid();
        c.runtime_ok(&["delete", "--force", &c.id]);
        assert!(wait_pid_gone(pid, Duration::from_secs(10)), "[{}]", rt.name);
        c.runtime_err(&["state", &c.id], "does not exist");
        c.finish();
    }
}

#[test]
fn kill_signal_names_and_numbers() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "signals");
        // pid 1 only gets signals it has a handler for: wait until the traps are set.
        c.script("trap 'echo got-usr1' USR1; trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.1; done");
        c.launch();
        let pid = c.pid();
        let t = Duration::from_secs(20);
        c.wait_stdout(|o| o.contains("ready"), t);
        c.runtime_ok(&["kill", &c.id, "SIGUSR1"]);
        c.wait_stdout(|o| o.matches("got-usr1").count() == 1, t);
        c.runtime_ok(&["kill", &c.id, "10"]);
        c.wait_stdout(|o| o.matches("got-usr1").count() == 2, t);
        c.runtime_err(&["kill", &c.id, "NOSUCHSIG"], "");
        c.runtime_ok(&["kill", &c.id]);
        c.wait_exit(pid);
        assert!(c.stdout().contains("got-term"), "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn stdio_goes_through_the_callers_pipes() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "pipes");
        c.script("read line; echo \"in:$line\"; echo to-stderr >&2");
        c.write_config();
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two descriptors.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: fresh descriptors.
        let (out_r, out_w) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let (in_r, in_w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let bundle = c.bundle.path().to_str().unwrap().to_string();
        let mut cmd = c.command(&["create", "--bundle", &bundle, &c.id]);
        cmd.stdin(Stdio::from(in_r))
            .stdout(Stdio::from(out_w.try_clone().unwrap()))
            .stderr(Stdio::from(out_w));
        let out = run_bounded(cmd, COMMAND_TIMEOUT);
        assert!(out.status.success(), "[{}] create failed", rt.name);
        let pid = c.pid();
        c.start();
        std::io::Write::write_all(&mut std::fs::File::from(in_w), b"hello\n").unwrap();
        c.wait_exit(pid);
        // Every writer is gone now: the read ends at EOF.
        let mut got = String::new();
        std::fs::File::from(out_r).read_to_string(&mut got).unwrap();
        assert!(got.contains("in:hello\n"), "[{}] {got:?}", rt.name);
        assert!(got.contains("to-stderr\n"), "[{}] {got:?}", rt.name);
        c.finish();
    }
}

#[test]
fn run_returns_the_exit_code_and_cleans_up() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "run");
        c.script("echo out; echo err >&2; exit 3");
        c.write_config();
        let bundle = c.bundle.path().to_str().unwrap().to_string();
        let mut cmd = c.command(&["run", "--bundle", &bundle, &c.id]);
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(c.out_path()).unwrap())
            .stderr(std::fs::File::create(c.err_path()).unwrap());
        let out = run_bounded(cmd, COMMAND_TIMEOUT);
        assert_eq!(out.status.code(), Some(3), "[{}] {}", rt.name, c.stderr());
        assert_eq!(c.stdout(), "out\n", "[{}]", rt.name);
        assert!(c.stderr().contains("err\n"), "[{}]", rt.name);
        // run deletes the container when it exits.
        c.runtime_err(&["state", &c.id], "does not exist");
        c.finish();
    }
}

#[test]
fn run_detached_leaves_it_running() {
    for rt in runtimes() {
        let c = Container::new(&rt, "rund");
        c.write_config();
        let bundle = c.bundle.path().to_str().unwrap().to_string();
        let mut cmd = c.command(&["run", "-d", "--bundle", &bundle, &c.id]);
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(c.out_path()).unwrap())
            .stderr(std::fs::File::create(c.err_path()).unwrap());
        let out = run_bounded(cmd, COMMAND_TIMEOUT);
        assert!(out.status.success(), "[{}] {}", rt.name, c.stderr());
        assert_eq!(c.status(), "running", "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn create_fails_with_the_childs_message_and_leaves_nothing() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "nocmd");
        c.args(&["no-such-command-anywhere"]);
        let out = c.create_with(&[]);
        assert_eq!(out.status.code(), Some(1), "[{}]", rt.name);
        // Quoted inside a logrus text line on stderr, by both runtimes.
        let err = c.stderr();
        assert!(
            err.contains("no-such-command-anywhere")
                && err.contains("executable file not found in $PATH"),
            "[{}] {err}",
            rt.name
        );
        c.runtime_err(&["state", &c.id], "does not exist");
        let list = c.runtime_ok(&["list", "-q"]);
        assert!(list.trim().is_empty(), "[{}] {list}", rt.name);
        c.finish();
    }
}

#[test]
fn errors_go_to_the_json_log() {
    for rt in runtimes() {
        let c = Container::new(&rt, "log");
        let log = c.bundle.path().join("log.json");
        let out = c.runtime(&[
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "state",
            "nope",
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("container does not exist"));
        let line = std::fs::read_to_string(&log).unwrap();
        let v: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
        assert_eq!(v["level"], "error", "[{}] {line}", rt.name);
        assert_eq!(v["msg"], "container does not exist", "[{}] {line}", rt.name);
        assert!(v["time"].as_str().is_some());
        c.finish();
    }
}

#[test]
fn terminal_through_the_console_socket() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "tty");
        c.config["process"]["terminal"] = serde_json::json!(true);
        c.config["process"]["consoleSize"] = serde_json::json!({"height": 30, "width": 100});
        c.script("tty; stty size; echo done-$((6*7)); sleep 3600");
        let sock = ConsoleSocket::new();
        let path = sock.path();
        let handle = std::thread::spawn(move || {
            let master = sock.receive_master();
            (sock, master)
        });
        let out = c.create_with(&["--console-socket", &path]);
        assert!(
            out.status.success(),
            "[{}] create failed: {}",
            rt.name,
            c.stderr()
        );
        let (_sock, mut master) = handle.join().unwrap();
        c.start();
        let out = read_pty_until(&mut master, "done-42", Duration::from_secs(20));
        assert!(out.contains("/dev/pts/0"), "[{}] {out:?}", rt.name);
        assert!(out.contains("30 100"), "[{}] {out:?}", rt.name);
        assert!(out.contains("done-42"), "[{}] {out:?}", rt.name);
        c.finish();
    }
}

#[test]
fn terminal_without_console_socket_is_refused() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "tty-nosock");
        c.config["process"]["terminal"] = serde_json::json!(true);
        let out = c.create_with(&[]);
        assert!(!out.status.success(), "[{}]", rt.name);
        assert!(
            c.stderr().contains("console socket"),
            "[{}] {}",
            rt.name,
            c.stderr()
        );
        c.finish();
    }
}

#[test]
fn pid_file_and_list() {
    for rt in runtimes() {
        let c = Container::new(&rt, "pidfile");
        let pid_file = c.bundle.path().join("init.pid");
        let out = c.create_with(&["--pid-file", pid_file.to_str().unwrap()]);
        assert!(out.status.success(), "[{}] {}", rt.name, c.stderr());
        let written: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(written, c.pid(), "[{}]", rt.name);
        let list = c.runtime_ok(&["list"]);
        let line = list.lines().find(|l| l.starts_with(&c.id)).unwrap_or("");
        assert!(line.contains("created"), "[{}] {list}", rt.name);
        let json: serde_json::Value =
            serde_json::from_str(&c.runtime_ok(&["list", "--format", "json"])).unwrap();
        assert_eq!(json[0]["id"], c.id.as_str(), "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn preserved_fds_reach_the_container() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    for rt in runtimes() {
        let mut c = Container::new(&rt, "preserve");
        c.script("echo via-fd3 >&3; ls /proc/self/fd | sort -n | tr '\\n' ' '");
        c.write_config();
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two descriptors.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: fresh descriptors.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let bundle = c.bundle.path().to_str().unwrap().to_string();
        let mut cmd = c.command(&["create", "--preserve-fds", "1", "--bundle", &bundle, &c.id]);
        let wfd = w.as_raw_fd();
        // SAFETY: dup2 in the child between fork and exec; the copy at 3 is not close-on-exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(wfd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(c.out_path()).unwrap())
            .stderr(std::fs::File::create(c.err_path()).unwrap());
        let out = run_bounded(cmd, COMMAND_TIMEOUT);
        assert!(out.status.success(), "[{}] {}", rt.name, c.stderr());
        drop(w);
        let pid = c.pid();
        c.start();
        c.wait_exit(pid);
        let mut got = String::new();
        std::fs::File::from(r).read_to_string(&mut got).unwrap();
        assert_eq!(got, "via-fd3\n", "[{}]", rt.name);
        // Only stdio, the preserved descriptor, and ls's own directory handle.
        assert_eq!(c.stdout(), "0 1 2 3 4 ", "[{}]", rt.name);
        c.finish();
    }
}
