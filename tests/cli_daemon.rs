//! The daemon itself, through the stock docker CLI and raw HTTP: ping, version, info, version
//! prefixes, error bodies, flags and daemon.json, the data-root lock, graceful shutdown.

mod common;

use std::process::Command;

use common::{Daemon, http};

#[test]
fn ping_get_and_head_carry_dockerd_headers() {
    let d = Daemon::start();
    for path in ["/_ping", "/v1.41/_ping", "/v1.53/_ping"] {
        let r = d.http("GET", path, None);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.text(), "OK");
        assert_eq!(r.header("Api-Version"), Some("1.53"));
        assert_eq!(r.header("Ostype"), Some("linux"));
        assert_eq!(r.header("Docker-Experimental"), Some("false"));
        assert_eq!(r.header("Builder-Version"), Some("1"));
        assert_eq!(r.header("Swarm"), Some("inactive"));
        assert_eq!(r.header("Pragma"), Some("no-cache"));
        assert!(r.header("Cache-Control").unwrap_or("").contains("no-cache"));
        assert!(r.header("Server").unwrap_or("").starts_with("Berth/"));
    }
    let r = d.http("HEAD", "/_ping", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("0"));
    assert_eq!(r.header("Api-Version"), Some("1.53"));
    assert!(r.body.is_empty());
}

#[test]
fn docker_version_and_info_report_real_values() {
    let d = Daemon::start();
    let v = d.ok(&[
        "version",
        "--format",
        "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}",
    ]);
    assert_eq!(v.trim(), "1.53 1.24 linux");
    d.load("busybox.tar");
    let info: serde_json::Value =
        serde_json::from_str(&d.ok(&["info", "--format", "{{json .}}"])).expect("info JSON");
    assert_eq!(info["Images"], 1);
    assert_eq!(info["Containers"], 0);
    assert_eq!(info["Driver"], "overlay2");
    assert_eq!(info["OSType"], "linux");
    assert_eq!(info["CgroupDriver"], "cgroupfs");
    assert!(matches!(info["CgroupVersion"].as_str(), Some("1" | "2")));
    assert_eq!(info["DockerRootDir"], d.data_root().display().to_string());
    assert_eq!(info["Swarm"]["LocalNodeState"], "inactive");
    let ncpu = std::thread::available_parallelism().unwrap().get() as u64;
    assert_eq!(info["NCPU"].as_u64(), Some(ncpu));
    assert!(info["MemTotal"].as_u64().unwrap_or(0) > 0);
    let uname = Command::new("uname").arg("-r").output().unwrap();
    assert_eq!(
        info["KernelVersion"].as_str().unwrap(),
        String::from_utf8_lossy(&uname.stdout).trim()
    );
    assert!(
        info["Runtimes"]
            .as_object()
            .is_some_and(|r| r.contains_key("berth"))
    );
    assert_eq!(info["DefaultRuntime"], "berth");
    assert!(
        info["SecurityOptions"]
            .as_array()
            .is_some_and(|o| o.iter().any(|v| v == "name=seccomp,profile=builtin"))
    );
    d.ok(&["create", "busybox"]);
    let count = d.ok(&["info", "--format", "{{.Containers}} {{.ContainersStopped}}"]);
    assert_eq!(count.trim(), "1 1");
}

#[test]
fn version_prefixes_and_errors_are_json() {
    let d = Daemon::start();
    for path in [
        "/version",
        "/v1.24/version",
        "/v1.44/version",
        "/v1.53/version",
    ] {
        let (status, v) = d.http_json("GET", path);
        assert_eq!(status, 200, "{path}");
        assert_eq!(v["ApiVersion"], "1.53");
    }
    let (status, v) = d.http_json("GET", "/v1.99/version");
    assert_eq!(status, 400);
    assert_eq!(
        v["message"],
        "client version 1.99 is too new. Maximum supported API version is 1.53"
    );
    let (status, v) = d.http_json("GET", "/v1.12/version");
    assert_eq!(status, 400);
    assert_eq!(
        v["message"],
        "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
    );
    for path in ["/nope", "/v1.41/nope", "/containers/x/nope"] {
        let r = d.http("GET", path, None);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.json()["message"], "page not found");
    }
    // A known path with a method it does not serve is "page not found" too, as in dockerd.
    let r = d.http("PUT", "/version", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "page not found");

    let r = d.http(
        "POST",
        "/containers/create",
        Some(("application/json", b"{bad")),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON")
    );
    let r = d.http(
        "POST",
        "/containers/create",
        Some(("application/json", b"{} {}")),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "unexpected content after JSON");
    let r = d.http("POST", "/containers/create", Some(("text/plain", b"{}")));
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("Content-Type")
    );
    let r = d.http("GET", "/images/json?filters=%7Bbad", None);
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("invalid filter")
    );
    let r = d.http(
        "GET",
        "/images/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D",
        None,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "invalid filter 'bogus'");
}

#[test]
fn docker_cli_negotiates_down_to_its_own_version() {
    let d = Daemon::start();
    // The 28.x CLI speaks 1.50; it must get on with a 1.53 daemon through negotiation.
    let v = d.ok(&["version", "--format", "{{.Client.APIVersion}}"]);
    assert_eq!(v.trim(), "1.50");
    d.ok(&["images"]);
}

#[test]
fn socket_mode_pidfile_and_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("berthd.pid");
    let mut d = Daemon::start_with(&["--pidfile", pidfile.to_str().unwrap()]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.socket()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
    // Group "docker" (dockerd's default -G) owns the socket where it exists; the lookup runs
    // in a statically linked daemon, so this also proves the group database is read.
    let docker_gid = std::fs::read_to_string("/etc/group")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[0] == "docker").then(|| f[2].parse::<u32>().ok())?
        });
    if let Some(gid) = docker_gid {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(d.socket()).unwrap().gid(), gid);
    }
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(Some(pid), d.child.as_ref().map(|c| c.id()));
    let status = d.stop().expect("exit status");
    assert!(status.success(), "exit {status:?}; log:\n{}", d.log());
    assert!(!d.socket().exists(), "socket left behind");
    assert!(!pidfile.exists(), "pid file left behind");
    assert!(d.log().contains("SIGTERM"));
}

#[test]
fn a_second_daemon_on_the_same_data_root_is_refused() {
    let d = Daemon::start();
    let out = Command::new(env!("CARGO_BIN_EXE_berthd"))
        .args([
            "-H",
            &format!("unix://{}/other.sock", d.dir.path().display()),
        ])
        .arg("--data-root")
        .arg(d.data_root())
        .arg("--exec-root")
        .arg(d.dir.path().join("exec2"))
        .arg("--config-file")
        .arg(d.dir.path().join("daemon.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another berthd is using data root"), "{err}");
    // The first daemon is unharmed.
    d.ok(&["version"]);
}

fn berthd_fails(args: &[&str], config: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("daemon.json");
    std::fs::write(&cfg, config.unwrap_or("{}")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_berthd"))
        .arg("--data-root")
        .arg(dir.path().join("data"))
        .arg("--exec-root")
        .arg(dir.path().join("exec"))
        .arg("--config-file")
        .arg(&cfg)
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "berthd {args:?} started");
    assert!(
        !dir.path().join("data").join("berth.db").exists(),
        "state created on bad config"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_flags_and_config_fail_clearly() {
    let e = berthd_fails(&["-H", "tcp://127.0.0.1:2376"], None);
    assert!(e.contains("tcp:// is not supported yet"), "{e}");
    let e = berthd_fails(&["-H", "fd://"], None);
    assert!(e.contains("fd:// is not supported yet"), "{e}");
    let e = berthd_fails(
        &["-H", "unix:///tmp/x.sock"],
        Some(r#"{"bogus-key": true}"#),
    );
    assert!(
        e.contains("the following directives don't match any configuration option: bogus-key"),
        "{e}"
    );
    let e = berthd_fails(
        &["-H", "unix:///tmp/x.sock"],
        Some(r#"{"hosts": ["unix:///tmp/y.sock"]}"#),
    );
    assert!(
        e.contains("specified both as a flag and in the configuration file: hosts"),
        "{e}"
    );
    let e = berthd_fails(&["-H", "unix:///tmp/x.sock"], Some("{not json"));
    assert!(
        e.contains("unable to configure the Docker daemon with file"),
        "{e}"
    );
    let e = berthd_fails(&["-H", "unix:///tmp/x.sock", "--log-level", "loud"], None);
    assert!(e.contains("unable to parse logging level"), "{e}");
}

#[test]
fn daemon_json_sets_hosts_and_debug() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("from-config.sock");
    let cfg = dir.path().join("daemon.json");
    std::fs::write(
        &cfg,
        format!(
            r#"{{"hosts":["unix://{}"],"data-root":"{}","exec-root":"{}","debug":true}}"#,
            sock.display(),
            dir.path().join("data").display(),
            dir.path().join("exec").display()
        ),
    )
    .unwrap();
    let notify = dir.path().join("n.sock");
    let rx = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    rx.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_berthd"))
        .arg("--config-file")
        .arg(&cfg)
        .env("NOTIFY_SOCKET", &notify)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 64];
    let ready = rx.recv(&mut buf);
    let r = ready
        .as_ref()
        .ok()
        .map(|_| http(&sock, "GET", "/info", &[], None));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
    ready.expect("daemon ready");
    let info = r.unwrap().json();
    assert_eq!(info["Debug"], true);
    assert_eq!(
        info["DockerRootDir"],
        dir.path().join("data").display().to_string()
    );
}

#[test]
fn socket_group_may_be_a_number() {
    use std::os::unix::fs::MetadataExt;
    let d = Daemon::start_with(&["-G", "4242"]);
    assert_eq!(std::fs::metadata(d.socket()).unwrap().gid(), 4242);
}
