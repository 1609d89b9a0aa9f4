//! `docker exec` through the stock CLI (and the exec endpoints raw where the CLI hides them):
//! the process joins the container, its options, exit codes, dockerd's errors, detached execs,
//! exec records in inspect, and execs dying with their container.

mod common;

use common::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start();
    d.load("busybox.tar");
    d
}

fn running(d: &Daemon, name: &str) {
    d.ok(&["run", "-d", "--name", name, "busybox", "sleep", "600"]);
}

fn now() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

fn json_post(d: &Daemon, path: &str, body: &str) -> (u16, serde_json::Value) {
    let r = d.http("POST", path, Some(("application/json", body.as_bytes())));
    let v = if r.body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null)
    };
    (r.status, v)
}

#[test]
fn exec_runs_inside_the_container_and_returns_its_exit_code() {
    let d = daemon();
    running(&d, "ex");
    assert_eq!(d.ok(&["exec", "ex", "echo", "hello"]), "hello\n");
    let out = d.docker(&["exec", "ex", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(code(&out), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    // Its namespaces: the container's hostname, its pid 1, its root.
    let hostname = d.ok(&["inspect", "--format", "{{.Config.Hostname}}", "ex"]);
    assert_eq!(d.ok(&["exec", "ex", "hostname"]), hostname);
    assert_eq!(
        d.ok(&["exec", "ex", "cat", "/proc/1/cmdline"]),
        "sleep\u{0}600\u{0}"
    );
    // Its cgroup: the same as the container's init.
    let pid = d.ok(&["inspect", "--format", "{{.State.Pid}}", "ex"]);
    let init_cgroup = std::fs::read_to_string(format!("/proc/{}/cgroup", pid.trim())).unwrap();
    let exec_cgroup = d.ok(&["exec", "ex", "cat", "/proc/self/cgroup"]);
    let memory = |s: &str| {
        s.lines()
            .find(|l| l.contains(":memory:"))
            .map(str::to_string)
    };
    assert!(memory(&init_cgroup).is_some(), "{init_cgroup}");
    assert_eq!(memory(&exec_cgroup), memory(&init_cgroup));
}

#[test]
fn exec_options_env_workdir_user_stdin_tty_privileged_and_detach() {
    let d = daemon();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "opts",
        "-e",
        "FROM_RUN=run",
        "-w",
        "/etc",
        "busybox",
        "sleep",
        "600",
    ]);
    // The container's environment and directory, the exec's on top.
    assert_eq!(
        d.ok(&[
            "exec",
            "-e",
            "EXTRA=x",
            "opts",
            "sh",
            "-c",
            "echo $FROM_RUN $EXTRA $PWD"
        ]),
        "run x /etc\n"
    );
    assert_eq!(d.ok(&["exec", "-w", "/tmp", "opts", "pwd"]), "/tmp\n");
    assert_eq!(
        d.ok(&["exec", "-u", "1000:1000", "opts", "id", "-u"]),
        "1000\n"
    );
    assert_eq!(
        d.ok(&["exec", "-u", "nobody", "opts", "id", "-un"]),
        "nobody\n"
    );
    // stdin reaches the process and its end closes it.
    let out = d.docker_stdin(&["exec", "-i", "opts", "cat"], Some(b"piped in\n"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped in\n");
    // A terminal.
    assert_eq!(d.ok(&["exec", "-t", "opts", "tty"]).trim(), "/dev/pts/0");
    assert_eq!(
        d.ok(&["exec", "-t", "opts", "sh", "-c", "echo $TERM"])
            .trim(),
        "xterm"
    );
    // --privileged: every capability the daemon has, more than the default set.
    let caps = |flags: &[&str]| {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["opts", "grep", "CapEff", "/proc/self/status"]);
        d.ok(&args)
    };
    assert_eq!(caps(&[]).trim(), "CapEff:\t00000000a80425fb");
    assert_ne!(caps(&["--privileged"]), caps(&[]));
    // -d: runs on with nobody attached.
    d.ok(&[
        "exec",
        "-d",
        "opts",
        "sh",
        "-c",
        "sleep 0.3; touch /tmp/done",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while d
        .docker(&["exec", "opts", "test", "-e", "/tmp/done"])
        .status
        .code()
        != Some(0)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the detached exec did not run"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn failures_are_dockerds_codes_and_messages() {
    let d = daemon();
    running(&d, "bad");
    let out = d.docker(&["exec", "bad", "no-such-command"]);
    assert_eq!(code(&out), Some(127));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("executable file not found in $PATH"),
        "{out:?}"
    );
    let out = d.docker(&["exec", "bad", "/etc/passwd"]);
    assert_eq!(code(&out), Some(126));
    let err = d.fails(&["exec", "-u", "no-such-user", "bad", "true"]);
    assert!(
        err.contains("unable to find user no-such-user: no matching entries in passwd file"),
        "{err}"
    );
    let err = d.fails(&["exec", "nobody-here", "true"]);
    assert!(err.contains("No such container: nobody-here"), "{err}");
    let err = d.fails(&["exec", "--detach-keys", "ctrl-", "bad", "true"]);
    assert!(
        err.contains("Invalid escape keys (ctrl-) provided"),
        "{err}"
    );
    d.ok(&["create", "--name", "idle", "busybox", "true"]);
    let err = d.fails(&["exec", "idle", "true"]);
    assert!(err.contains("is not running"), "{err}");
    // Raw: no command, an unknown exec.
    let (status, body) = json_post(&d, "/containers/bad/exec", r#"{"Cmd": []}"#);
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("No exec command specified"))
    );
    let (status, body) = json_post(&d, "/exec/0123456789/start", r#"{"Detach": true}"#);
    assert_eq!(status, 404);
    assert_eq!(body["message"], "No such exec instance: 0123456789");
    let (status, _) = d.http_json("GET", "/exec/0123456789/json");
    assert_eq!(status, 404);
}

#[test]
fn exec_inspect_start_once_events_and_exec_ids() {
    let d = daemon();
    running(&d, "insp");
    let since = now();
    // Keys as Go decodes them: any case.
    let (status, created) = json_post(
        &d,
        "/containers/insp/exec",
        r#"{"cmd": ["sh", "-c", "exit 5"], "attachstdout": true, "User": "1000"}"#,
    );
    assert_eq!(status, 201, "{created}");
    let id = created["Id"].as_str().unwrap().to_string();
    let (_, doc) = d.http_json("GET", &format!("/exec/{id}/json"));
    assert_eq!(doc["ExitCode"], serde_json::Value::Null);
    assert_eq!(doc["Running"], false);
    assert_eq!(doc["OpenStdout"], true);
    assert_eq!(doc["ProcessConfig"]["entrypoint"], "sh");
    assert_eq!(
        doc["ProcessConfig"]["arguments"],
        serde_json::json!(["-c", "exit 5"])
    );
    assert_eq!(doc["ProcessConfig"]["user"], "1000");
    let ids = d.ok(&["inspect", "--format", "{{json .ExecIDs}}", "insp"]);
    assert_eq!(ids.trim(), format!("[\"{id}\"]"));
    let (status, _) = json_post(&d, &format!("/exec/{id}/start"), r#"{"Detach": true}"#);
    assert_eq!(status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let doc = loop {
        let (_, doc) = d.http_json("GET", &format!("/exec/{id}/json"));
        if doc["ExitCode"] != serde_json::Value::Null {
            break doc;
        }
        assert!(std::time::Instant::now() < deadline, "{doc}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(
        (doc["ExitCode"].as_i64(), doc["Running"].as_bool()),
        (Some(5), Some(false))
    );
    assert!(doc["Pid"].as_i64().unwrap() > 0, "{doc}");
    let (status, body) = json_post(&d, &format!("/exec/{id}/start"), r#"{"Detach": true}"#);
    assert_eq!(status, 409);
    assert_eq!(
        body["message"],
        format!("exec command {id} has already run")
    );
    let events = d.ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &now(),
        "--filter",
        "container=insp",
        "--format",
        "{{.Action}}|{{.Actor.Attributes.execID}}|{{with .Actor.Attributes.exitCode}}{{.}}{{end}}",
    ]);
    let wanted = [
        "exec_create: sh -c exit 5|ID|".replace("ID", &id),
        "exec_start: sh -c exit 5|ID|".replace("ID", &id),
        "exec_die|ID|5".replace("ID", &id),
    ];
    let got: Vec<&str> = events.lines().filter(|l| l.starts_with("exec")).collect();
    assert_eq!(got, wanted);
    // The container's exit drops its execs, as dockerd's cleanup does.
    d.ok(&["stop", "-t", "0", "insp"]);
    assert_eq!(
        d.ok(&["inspect", "--format", "{{json .ExecIDs}}", "insp"])
            .trim(),
        "null"
    );
    let (status, _) = d.http_json("GET", &format!("/exec/{id}/json"));
    assert_eq!(status, 404);
}

#[test]
fn execs_die_with_their_container() {
    let d = daemon();
    running(&d, "dies");
    d.ok(&["exec", "-d", "dies", "sleep", "6173"]);
    let marker = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
            .any(|c| c == b"sleep\x006173\x00")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !marker() {
        assert!(std::time::Instant::now() < deadline, "the exec never ran");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    d.ok(&["stop", "-t", "1", "dies"]);
    assert!(!marker(), "the exec outlived its container");
}

#[test]
fn the_start_requests_terminal_size_is_the_execs() {
    let d = daemon();
    running(&d, "size");
    let (status, created) = json_post(
        &d,
        "/containers/size/exec",
        r#"{"Cmd": ["stty", "size"], "Tty": true, "AttachStdout": true, "ConsoleSize": [5, 6]}"#,
    );
    assert_eq!(status, 201, "{created}");
    let id = created["Id"].as_str().unwrap();
    // The start's size wins over the create's, as dockerd resizes to it once started.
    let r = d.http(
        "POST",
        &format!("/exec/{id}/start"),
        Some((
            "application/json",
            br#"{"Tty": true, "ConsoleSize": [12, 34]}"#,
        )),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.text().trim(), "12 34");
    let (status, body) = json_post(
        &d,
        "/containers/size/exec",
        r#"{"Cmd": ["true"], "ConsoleSize": [1, 2, 3]}"#,
    );
    assert_eq!(status, 400, "{body}");
}
