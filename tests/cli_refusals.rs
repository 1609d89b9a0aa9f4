//! Honour or refuse: what Berth does not carry out yet is refused at create with a message
//! naming it, and nothing is created. (Each feature that lands turns its line into a test of
//! the feature.)

mod common;

use common::Daemon;

#[test]
fn settings_not_carried_out_yet_are_refused_by_name() {
    let d = Daemon::start();
    d.load("busybox.tar");
    for (args, names) in [
        (&["-p", "8080:80"][..], "-p"),
        (&["-P", "--expose", "80"], "-P"),
        (&["--restart", "always"], "--restart"),
        (&["--restart", "unless-stopped"], "--restart"),
        (&["--health-cmd", "true"], "--health-cmd"),
        (&["-v", "/data"], "-v /path"),
        (&["--storage-opt", "size=1G"], "--storage-opt"),
    ] {
        let mut full = vec!["create"];
        full.extend_from_slice(args);
        full.extend(["busybox", "true"]);
        let e = d.fails(&full);
        assert!(
            e.contains("is not supported yet") && e.contains(names),
            "{args:?}: {e}"
        );
    }
    let r = d.http(
        "POST",
        "/containers/create",
        Some((
            "application/json",
            br#"{"Image":"busybox","HostConfig":{"UsernsMode":"private"}}"#,
        )),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("UsernsMode"), "{}", r.text());
    let aliased = br#"{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["web"]}}}}"#;
    let r = d.http(
        "POST",
        "/containers/create",
        Some(("application/json", aliased)),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("Aliases"), "{}", r.text());
    let e = d.fails(&[
        "create",
        "--network",
        "myproject_default",
        "busybox",
        "true",
    ]);
    assert!(e.contains("network myproject_default not found"), "{e}");
    let r = d.http(
        "POST",
        "/containers/create",
        Some((
            "application/json",
            br#"{"Image":"busybox","HostConfig":{"NetworkMode":"nope"}}"#,
        )),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // Bad port specifications get dockerd's message before the refusal of publishing.
    for (body, spec) in [
        (
            r#"{"Image":"busybox","HostConfig":{"PortBindings":{"0/tcp":[{"HostPort":"80"}]}}}"#,
            "0/tcp",
        ),
        (
            r#"{"Image":"busybox","HostConfig":{"PortBindings":{"-1/tcp":[]}}}"#,
            "-1/tcp",
        ),
        (
            r#"{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"abc"}]}}}"#,
            "abc",
        ),
        (
            r#"{"Image":"busybox","ExposedPorts":{"abc/tcp":{}}}"#,
            "abc/tcp",
        ),
    ] {
        let r = d.http(
            "POST",
            "/containers/create",
            Some(("application/json", body.as_bytes())),
        );
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_eq!(
            r.json()["message"],
            format!("invalid port specification: {spec:?}"),
            "{body}"
        );
    }
    assert_eq!(d.ok(&["ps", "-aq"]).trim(), "", "nothing was created");
    // What the CLI sends by default, and the settings that are carried out, still work.
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--restart",
            "no",
            "--no-healthcheck",
            "busybox",
            "echo",
            "ok"
        ])
        .trim(),
        "ok"
    );
    d.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    d.ok(&["run", "--rm", "--network", "bridge", "busybox", "true"]);
}

/// docker-py lists every bind's destination in `Config.Volumes` as well; dockerd skips a volume
/// that a mount already covers, so that is no anonymous volume (only an uncovered path is).
#[test]
fn a_volume_path_covered_by_a_bind_is_not_an_anonymous_volume() {
    let d = Daemon::start();
    d.load("busybox.tar");
    let src = d.dir.path().join("shared");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "from the host\n").unwrap();
    let body = format!(
        r#"{{"Image":"busybox","Cmd":["cat","/data/f"],"Volumes":{{"/data":{{}}}},"HostConfig":{{"Binds":["{}:/data/:ro"]}}}}"#,
        src.display()
    );
    let r = d.http(
        "POST",
        "/containers/create?name=covered",
        Some(("application/json", body.as_bytes())),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    d.ok(&["start", "covered"]);
    assert_eq!(d.ok(&["wait", "covered"]).trim(), "0");
    assert_eq!(d.ok(&["logs", "covered"]), "from the host\n");
    // Another path beside the bind still is one.
    let body = format!(
        r#"{{"Image":"busybox","Volumes":{{"/data":{{}},"/other":{{}}}},"HostConfig":{{"Binds":["{}:/data"]}}}}"#,
        src.display()
    );
    let r = d.http(
        "POST",
        "/containers/create",
        Some(("application/json", body.as_bytes())),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("Config.Volumes"), "{}", r.text());
    d.ok(&["rm", "covered"]);
}
