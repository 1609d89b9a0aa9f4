//! `exec` into running containers, against berth-runtime and runc: namespaces joined, exit codes,
//! env/cwd/user flags, --process, --detach with --pid-file, --tty with a console socket.

mod runtime_support;

use std::fs;
use std::time::Duration;

use runtime_support::*;
use serde_json::json;

#[test]
fn exec_joins_the_containers_namespaces() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "exec-ns");
        c.config["hostname"] = json!("exechost");
        c.launch();
        let pid = c.pid();
        let (code, out, err) = c.exec(
            &[],
            &["sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; readlink /proc/self/ns/net /proc/self/ns/mnt /proc/self/ns/pid 2>/dev/null; ls /sys/class/net"],
        );
        assert_eq!(code, 0, "[{}] {err}", rt.name);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "exechost", "[{}] {out}", rt.name);
        assert_eq!(lines[1].trim(), "sleep 3600", "[{}] {out}", rt.name);
        assert_eq!(lines.last().copied(), Some("lo"), "[{}] {out}", rt.name);
        // Same namespaces as the init, seen from the host.
        for ns in ["net", "mnt", "pid", "uts", "ipc"] {
            let (_, inside, _) = c.exec(&[], &["readlink", &format!("/proc/self/ns/{ns}")]);
            let host = fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
            assert_eq!(inside.trim(), host.to_str().unwrap(), "[{}] {ns}", rt.name);
        }
        c.finish();
    }
}

#[test]
fn exec_exit_codes_and_errors() {
    for rt in runtimes() {
        let c = Container::new(&rt, "exec-codes");
        c.launch();
        let (code, _, _) = c.exec(&[], &["sh", "-c", "exit 7"]);
        assert_eq!(code, 7, "[{}]", rt.name);
        let (code, _, _) = c.exec(&[], &["sh", "-c", "kill -9 $$"]);
        assert_eq!(code, 137, "[{}]", rt.name);
        let (code, _, err) = c.exec(&[], &["no-such-binary"]);
        assert_eq!(code, 255, "[{}] {err}", rt.name);
        assert!(
            err.contains("no-such-binary") && err.contains("executable file not found in $PATH"),
            "[{}] {err}",
            rt.name
        );
        let pid = c.pid();
        c.runtime_ok(&["kill", &c.id, "KILL"]);
        c.wait_exit(pid);
        let (code, _, err) = c.exec(&[], &["true"]);
        assert_ne!(code, 0, "[{}]", rt.name);
        assert!(err.contains("stopped"), "[{}] {err}", rt.name);
        c.finish();
    }
}

#[test]
fn exec_flags_env_cwd_user() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "exec-flags");
        c.config["process"]["env"] = json!(["PATH=/bin", "KEEP=1", "OVER=old"]);
        c.launch();
        let (code, out, err) = c.exec(
            &[
                "--env",
                "OVER=new",
                "--env",
                "ADDED=yes",
                "--cwd",
                "/etc",
                "--user",
                "1000:1001",
            ],
            &["sh", "-c", "echo $KEEP $OVER $ADDED; pwd; id -u; id -g"],
        );
        assert_eq!(code, 0, "[{}] {err}", rt.name);
        assert_eq!(out, "1 new yes\n/etc\n1000\n1001\n", "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn exec_with_a_process_json() {
    for rt in runtimes() {
        let c = Container::new(&rt, "exec-json");
        c.launch();
        let process = json!({
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh", "-c", "echo from-json; cat /proc/self/status | grep -E '^(CapEff|NoNewPrivs)'"],
            "env": ["PATH=/bin"],
            "cwd": "/",
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
            "noNewPrivileges": true
        });
        let path = c.bundle.path().join("process.json");
        fs::write(&path, process.to_string()).unwrap();
        let (code, out, err) = c.exec(&["--process", path.to_str().unwrap()], &[]);
        assert_eq!(code, 0, "[{}] {err}", rt.name);
        assert!(out.starts_with("from-json\n"), "[{}] {out}", rt.name);
        assert_eq!(
            status_field(&out, "CapEff"),
            Some("0000000000000020"),
            "[{}]",
            rt.name
        );
        assert_eq!(status_field(&out, "NoNewPrivs"), Some("1"), "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn exec_detached_with_a_pid_file() {
    for rt in runtimes() {
        let c = Container::new(&rt, "exec-detach");
        c.launch();
        let pid_file = c.bundle.path().join("exec.pid");
        // The detached process keeps the runtime's stdio: files, not pipes we would wait on.
        let mut cmd = c.command(&[
            "exec",
            "--detach",
            "--pid-file",
            pid_file.to_str().unwrap(),
            &c.id,
            "sleep",
            "3000",
        ]);
        cmd.stdin(std::process::Stdio::null())
            .stdout(fs::File::create(c.out_path()).unwrap())
            .stderr(fs::File::create(c.err_path()).unwrap());
        let out = run_bounded(cmd, COMMAND_TIMEOUT);
        assert!(out.status.success(), "[{}] {}", rt.name, c.stderr());
        let pid: i32 = fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // runc writes the pid file before its `runc init` has exec'd the command (the
        // process may still be runc, or mid-execve with an empty cmdline): wait, bounded.
        let cmdline = settled_cmdline(pid, "sleep\u{0}3000\u{0}", Duration::from_secs(5));
        assert_eq!(cmdline, "sleep\u{0}3000\u{0}", "[{}]", rt.name);
        let json: Vec<i32> =
            serde_json::from_str(&c.runtime_ok(&["ps", "--format", "json", &c.id]))
                .unwrap_or_default();
        if c.cgroups {
            assert!(json.contains(&pid), "[{}] ps {json:?} lacks {pid}", rt.name);
        }
        c.finish();
        // Killing the pid namespace's init took the exec'd process with it.
        assert!(wait_pid_gone(pid, Duration::from_secs(10)), "[{}]", rt.name);
    }
}

#[test]
fn exec_with_a_terminal() {
    for rt in runtimes() {
        let c = Container::new(&rt, "exec-tty");
        c.launch();
        let sock = ConsoleSocket::new();
        let path = sock.path();
        let handle = std::thread::spawn(move || {
            let master = sock.receive_master();
            (sock, master)
        });
        let out = c.runtime(&[
            "exec",
            "--tty",
            "--detach",
            "--console-socket",
            &path,
            &c.id,
            "sh",
            "-c",
            "tty; echo tty-ok; sleep 30",
        ]);
        // With a terminal the process's stdio is the pty, so the pipes close at once.
        assert!(out.status.success(), "[{}] {}", rt.name, text(&out.stderr));
        let (_sock, mut master) = handle.join().unwrap();
        let got = read_pty_until(&mut master, "tty-ok", Duration::from_secs(20));
        assert!(got.contains("/dev/pts/"), "[{}] {got:?}", rt.name);
        assert!(got.contains("tty-ok"), "[{}] {got:?}", rt.name);
        c.finish();
    }
}

#[test]
fn exec_into_a_user_namespace() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "exec-userns");
        c.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c.config["linux"]["uidMappings"] =
            json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c.config["linux"]["gidMappings"] =
            json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c.launch();
        let (code, out, err) = c.exec(
            &[],
            &["sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' '"],
        );
        assert_eq!(code, 0, "[{}] {err}", rt.name);
        let lines: Vec<&str> = out.lines().map(str::trim).collect();
        assert_eq!(lines, vec!["0", "0 200000 65536"], "[{}]", rt.name);
        let pid = c.pid();
        let st = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        assert!(
            status_field(&st, "Uid").unwrap().starts_with("200000"),
            "[{}]",
            rt.name
        );
        c.finish();
    }
}
