//! Create-time validation: settings start could not carry out are refused by create with a 400
//! naming them, and nothing is created; the good forms still run and reach the container.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::Daemon;
use serde_json::{Value, json};

fn daemon() -> Daemon {
    let d = Daemon::start();
    d.load("busybox.tar");
    d
}

/// POST /containers/create with `extra` merged into a busybox body.
fn create(d: &Daemon, extra: Value) -> (u16, String) {
    let mut body = json!({"Image": "busybox", "Cmd": ["true"]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let bytes = serde_json::to_vec(&body).expect("json");
    let r = d.http(
        "POST",
        "/containers/create",
        Some(("application/json", &bytes)),
    );
    let msg = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| r.text());
    (r.status, msg)
}

fn no_containers(d: &Daemon, what: &str) {
    let (status, list) = d.http_json("GET", "/containers/json?all=1");
    assert_eq!(status, 200);
    assert_eq!(list, json!([]), "{what}: a container was created");
}

#[test]
fn bad_settings_are_refused_at_create_over_http() {
    let d = daemon();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"StopSignal": "SIGFOO"}), "invalid signal: SIGFOO"),
        (
            json!({"HostConfig": {"LogConfig": {"Type": "foo"}}}),
            "logger: no log driver named 'foo' is registered",
        ),
        (
            json!({"HostConfig": {"LogConfig": {"Type": "syslog"}}}),
            "logger: the 'syslog' log driver is not supported yet (only json-file is)",
        ),
        (
            json!({"HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"max-size": "lots"}}}}),
            "invalid size: 'lots'",
        ),
        (
            json!({"HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"colour": "red"}}}}),
            "unknown log opt 'colour' for json-file log driver",
        ),
        (
            json!({"HostConfig": {"AutoRemove": true, "RestartPolicy": {"Name": "always"}}}),
            "can't create 'AutoRemove' container with restart policy",
        ),
        (
            json!({"HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": -1}}}),
            "invalid restart policy: maximum retry count cannot be negative",
        ),
        (
            json!({"HostConfig": {"ExtraHosts": ["nocolon"]}}),
            "bad format for add-host: \"nocolon\"",
        ),
        (
            json!({"HostConfig": {"ExtraHosts": ["h\n6.6.6.6 evil:10.0.0.1"]}}),
            "bad format for add-host: \"h\\n6.6.6.6 evil:10.0.0.1\"",
        ),
        (
            json!({"HostConfig": {"Dns": ["10.0.0.1\nnameserver 6.6.6.6"]}}),
            "invalid DNS server address \"10.0.0.1\\nnameserver 6.6.6.6\"",
        ),
        (
            json!({"HostConfig": {"DnsSearch": ["example.com\nnameserver 6.6.6.6"]}}),
            "invalid DNS search domain \"example.com\\nnameserver 6.6.6.6\"",
        ),
        (
            json!({"HostConfig": {"DnsOptions": ["ndots:1\nnameserver 6.6.6.6"]}}),
            "invalid DNS option \"ndots:1\\nnameserver 6.6.6.6\"",
        ),
        (
            json!({"HostConfig": {"Devices": [{"PathOnHost": "/etc/passwd", "PathInContainer": "/dev/x", "CgroupPermissions": "rwm"}]}}),
            "invalid device \"/etc/passwd\": the path on the host must be under /dev",
        ),
        (
            json!({"HostConfig": {"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/null", "CgroupPermissions": "rwx"}]}}),
            "invalid device mode \"rwx\" for device \"/dev/null\"",
        ),
        (
            json!({"HostConfig": {"Devices": [{"PathOnHost": "/dev/berth-no-such-device", "PathInContainer": "/dev/x", "CgroupPermissions": "rwm"}]}}),
            "error gathering device information while adding custom device \"/dev/berth-no-such-device\"",
        ),
        (
            json!({"Hostname": "a\u{0}b"}),
            "invalid Hostname \"a\\0b\": it must not contain NUL bytes or control characters",
        ),
        (json!({"Hostname": "a\nb"}), "invalid Hostname \"a\\nb\""),
        (
            json!({"Domainname": "a\u{0}b"}),
            "invalid Domainname \"a\\0b\"",
        ),
        (
            json!({"HostConfig": {"CgroupParent": "a\u{0}b"}}),
            "invalid CgroupParent \"a\\0b\": it must not contain NUL bytes",
        ),
        (
            json!({"HostConfig": {"CgroupParent": "/berth/../../escape"}}),
            "invalid CgroupParent \"/berth/../../escape\": it must not contain '..'",
        ),
        (
            json!({"Env": ["A=b\u{0}c"]}),
            "invalid Env \"A=b\\0c\": it must not contain NUL bytes",
        ),
        (
            json!({"Cmd": ["echo", "a\u{0}b"]}),
            "invalid Cmd \"a\\0b\": it must not contain NUL bytes",
        ),
        (
            json!({"WorkingDir": "/a\u{0}b"}),
            "invalid WorkingDir \"/a\\0b\": it must not contain NUL bytes",
        ),
        (
            json!({"User": "root\u{0}x"}),
            "invalid User \"root\\0x\": it must not contain NUL bytes",
        ),
    ];
    for (extra, message) in cases {
        let (status, msg) = create(&d, extra.clone());
        assert_eq!(status, 400, "{extra}: {msg}");
        assert!(
            msg.contains(message),
            "{extra}: got {msg:?}, want {message:?}"
        );
        no_containers(&d, &extra.to_string());
    }
}

#[test]
fn bad_settings_are_refused_at_create_through_the_cli() {
    let d = daemon();
    let cases: &[(&[&str], &str)] = &[
        (&["--stop-signal", "SIGFOO"], "invalid signal: SIGFOO"),
        (
            &["--log-driver", "foo"],
            "logger: no log driver named 'foo' is registered",
        ),
        (
            &["--log-driver", "journald"],
            "the 'journald' log driver is not supported yet",
        ),
        (
            &["--log-opt", "max-file=zero"],
            "invalid value for max-file: zero",
        ),
        (
            &["--restart", "on-failure:-1"],
            "invalid restart policy: maximum retry count cannot be negative",
        ),
        (
            &["--device", "/etc/passwd:/dev/x"],
            "the path on the host must be under /dev",
        ),
        (
            &["--cgroup-parent", "../escape"],
            "invalid CgroupParent \"../escape\": it must not contain '..'",
        ),
        (
            &["--dns-option", "ndots:1 rotate"],
            "invalid DNS option \"ndots:1 rotate\"",
        ),
    ];
    for (flags, message) in cases {
        let mut args = vec!["create"];
        args.extend_from_slice(flags);
        args.extend(["busybox", "true"]);
        let err = d.fails(&args);
        assert!(
            err.contains(message),
            "{flags:?}: got {err:?}, want {message:?}"
        );
        no_containers(&d, &format!("{flags:?}"));
    }
}

#[test]
fn dns_and_extra_hosts_reach_the_container() {
    let d = daemon();
    let out = d.ok(&[
        "run",
        "--rm",
        "--dns",
        "10.0.0.1",
        "--dns-search",
        "example.com",
        "--dns-option",
        "ndots:2",
        "--add-host",
        "h:10.1.2.3",
        "--add-host",
        "v6:2001:db8::1",
        "--stop-signal",
        "SIGUSR1",
        "--log-opt",
        "max-size=1m",
        "busybox",
        "cat",
        "/etc/resolv.conf",
        "/etc/hosts",
    ]);
    for want in [
        "nameserver 10.0.0.1\n",
        "search example.com\n",
        "options ndots:2\n",
        "10.1.2.3\th\n",
        "2001:db8::1\tv6\n",
    ] {
        assert!(out.contains(want), "{want:?} missing from:\n{out}");
    }
    assert_eq!(
        out.matches("nameserver").count(),
        1,
        "only the given server:\n{out}"
    );
}

#[test]
fn dash_v_creates_a_missing_source_but_mount_needs_it() {
    let d = daemon();
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("made/by/berth");
    let spec = format!("{}:/mnt", missing.display());
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "test -d /mnt && touch /mnt/seen && echo ok",
    ]);
    assert_eq!(out, "ok\n");
    let meta = std::fs::metadata(&missing).expect("source directory created");
    assert!(meta.is_dir());
    assert_eq!(meta.permissions().mode() & 0o777, 0o755);
    assert!(missing.join("seen").exists(), "the container wrote into it");

    let absent = dir.path().join("absent");
    let mount = format!("type=bind,source={},target=/mnt", absent.display());
    let err = d.fails(&["run", "--rm", "--mount", &mount, "busybox", "true"]);
    let want = format!(
        "invalid mount config for type \"bind\": bind source path does not exist: {}",
        absent.display()
    );
    assert!(err.contains(&want), "got {err:?}");
    assert!(!absent.exists(), "--mount must not create its source");
    no_containers(&d, "--mount with a missing source");
}

#[test]
fn start_errors_say_what_failed_not_where_the_data_root_is() {
    let d = daemon();
    let id = d.ok(&["create", "busybox", "true"]).trim().to_string();
    // A file where the container's writable layer directory goes: creating it fails at start.
    let dir = d.data_root().join("containers").join(&id);
    std::fs::create_dir_all(&dir).expect("container dir");
    std::fs::write(dir.join("rw"), b"in the way").expect("write blocker");
    let err = d.fails(&["start", &id]);
    assert!(
        err.contains("create the container's writable layer: Not a directory"),
        "got {err:?}"
    );
    let root = d.dir.path().display().to_string();
    assert!(
        !err.contains(&root),
        "the message shows the daemon's paths: {err:?}"
    );
    let _ = std::fs::remove_file(dir.join("rw"));
}
