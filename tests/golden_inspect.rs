//! `GET /containers/{id}/json` against what real dockerd 20.10 (API 1.41) answered for the same
//! containers (compat-tests/golden/dockerd-20.10-inspect, recorded by
//! compat-tests/golden/record-inspect-dockerd-20.10.sh): the same keys, `null` where dockerd sent
//! `null`, the same JSON types, and the same values wherever they do not depend on the machine
//! or the moment (IDs, times, paths). Also: the newest API's shape validates against the v1.53
//! schema, and the docker CLI reads the fields it templates.

mod common;
#[path = "support/schema.rs"]
mod schema;

use std::path::PathBuf;

use common::Daemon;
use serde_json::{Value, json};

fn golden(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("compat-tests/golden/dockerd-20.10-inspect")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Values that differ between any two daemons or runs: only their type is compared.
const VOLATILE: &[&str] = &[
    "/Id",
    "/Created",
    "/Name",
    "/ResolvConfPath",
    "/HostnamePath",
    "/HostsPath",
    "/LogPath",
    "/SizeRootFs",
    "/State/Pid",
    "/State/StartedAt",
    "/State/FinishedAt",
    "/Config/Hostname",
    "/HostConfig/Binds/0",
    "/HostConfig/CgroupnsMode",
    "/HostConfig/Runtime",
    // Newer dockerd masks more (/proc/interrupts, powercap), as we do.
    "/HostConfig/MaskedPaths",
    "/Mounts/0/Source",
    "/NetworkSettings/SandboxID",
    "/NetworkSettings/SandboxKey",
];

/// Objects whose keys are data, not schema.
const MAPS: &[&str] = &[
    "/GraphDriver/Data",
    "/Config/Labels",
    "/HostConfig/LogConfig/Config",
];

/// Keys dockerd 20.10 did not send that newer dockerd does (newer API fields, or defaults it
/// now fills at create: `Runtime`).
const NEWER: &[&str] = &["Runtime", "GwPriority", "DNSNames"];

fn diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    let volatile = VOLATILE.iter().any(|v| path.starts_with(v))
        || path.ends_with("/NetworkID")
        || path.ends_with("/EndpointID")
        || path.starts_with("/GraphDriver/Data");
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            if MAPS.contains(&path) {
                return;
            }
            for (k, wv) in w {
                match g.get(k) {
                    None => out.push(format!("{path}/{k}: missing (dockerd: {wv})")),
                    Some(gv) => diff(&format!("{path}/{k}"), wv, gv, out),
                }
            }
            for (k, gv) in g {
                if !w.contains_key(k) && !NEWER.contains(&k.as_str()) {
                    out.push(format!(
                        "{path}/{k}: dockerd did not send it (we sent {gv})"
                    ));
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if w.len() != g.len() && !volatile {
                out.push(format!("{path}: dockerd sent {want}, we sent {got}"));
            }
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                diff(&format!("{path}/{i}"), wv, gv, out);
            }
        }
        (Value::String(_), Value::String(_)) | (Value::Number(_), Value::Number(_)) if volatile => {
        }
        (w, g) if w == g => {}
        (w, g) => out.push(format!("{path}: dockerd sent {w}, we sent {g}")),
    }
}

fn assert_like(name: &str, want: &Value, got: &Value) {
    let mut problems = Vec::new();
    diff("", want, got, &mut problems);
    assert!(
        problems.is_empty(),
        "{name}:\n{}\nours: {got:#}",
        problems.join("\n")
    );
}

fn create(d: &Daemon, name: &str, body: Value) -> String {
    let r = d.http(
        "POST",
        &format!("/v1.41/containers/create?name={name}"),
        Some(("application/json", body.to_string().as_bytes())),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["Id"].as_str().unwrap().to_string()
}

fn inspect(d: &Daemon, path: &str) -> Value {
    let (status, body) = d.http_json("GET", path);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[test]
fn v1_41_inspect_matches_dockerd_20_10() {
    let d = Daemon::start();
    d.load("busybox.tar");

    // Created from the barest body: every default dockerd fills.
    let id = create(&d, "plain", json!({"Image": "busybox"}));
    let mut want = golden("inspect-created");
    // dockerd 20.10 left these as the client sent them (unset); it fills them at create since
    // 25.0 (moby daemon/create.go), which is what we show.
    want["HostConfig"]["RestartPolicy"]["Name"] = json!("no");
    want["HostConfig"]["PortBindings"] = json!({});
    let got = inspect(&d, &format!("/v1.41/containers/{id}/json"));
    // 20.10 showed empty paths until the first start; we show where the files will be.
    for k in ["ResolvConfPath", "HostnamePath", "HostsPath", "LogPath"] {
        want[k] = got[k].clone();
    }
    assert_like("inspect-created", &want, &got);
    assert!(got.get("SizeRw").is_none(), "size only on request: {got}");
    let got = inspect(&d, &format!("/v1.41/containers/{id}/json?size=1"));
    let mut want_size = want.clone();
    want_size["SizeRw"] = golden("inspect-created-size")["SizeRw"].clone();
    want_size["SizeRootFs"] = golden("inspect-created-size")["SizeRootFs"].clone();
    assert_like("inspect-created-size", &want_size, &got);

    // Created with options through the stock CLI (which sends a full HostConfig).
    let bind = tempfile::tempdir().unwrap();
    d.ok(&[
        "create",
        "--name",
        "opts",
        "-e",
        "A=1",
        "-l",
        "tier=web",
        "-w",
        "/tmp",
        "-u",
        "1000",
        "--hostname",
        "box",
        "-m",
        "64m",
        "--tmpfs",
        "/run:size=1m",
        "-v",
        &format!("{}:/mnt/bind:ro", bind.path().display()),
        "--mount",
        "type=tmpfs,destination=/scratch",
        "--cap-add",
        "NET_ADMIN",
        "--dns",
        "10.0.0.1",
        "--add-host",
        "h:10.0.0.2",
        "busybox",
        "sleep",
        "60",
    ]);
    let mut want = golden("inspect-created-options");
    // The recording also had -v /data (a volume), -p 8080:80, a health check and
    // --restart on-failure:3: not ours yet (refused at create).
    want["HostConfig"]["RestartPolicy"] = json!({"Name": "no", "MaximumRetryCount": 0});
    let c = want["Config"].as_object_mut().unwrap();
    c.remove("ExposedPorts");
    c.remove("Healthcheck");
    c["Volumes"] = Value::Null;
    want["HostConfig"]["PortBindings"] = json!({});
    want["Mounts"].as_array_mut().unwrap().truncate(2);
    let got = inspect(&d, "/v1.41/containers/opts/json");
    for k in ["ResolvConfPath", "HostnamePath", "HostsPath", "LogPath"] {
        want[k] = got[k].clone();
    }
    assert_like("inspect-created-options", &want, &got);

    // Exited, network none: the writable layer holds the 2 bytes the command wrote.
    let id = create(
        &d,
        "exited-none",
        json!({"Image": "busybox", "Cmd": ["sh", "-c", "echo x > /f; exit 3"],
               "HostConfig": {"NetworkMode": "none"}}),
    );
    d.ok(&["start", &id]);
    assert_eq!(d.ok(&["wait", &id]).trim(), "3");
    let mut want = golden("inspect-exited-none-size");
    want["HostConfig"]["RestartPolicy"]["Name"] = json!("no");
    want["HostConfig"]["PortBindings"] = json!({});
    let got = inspect(&d, &format!("/v1.41/containers/{id}/json?size=1"));
    assert_like("inspect-exited-none-size", &want, &got);
    let image_size = inspect(&d, "/v1.41/images/busybox/json")["Size"].clone();
    assert_eq!(
        got["SizeRootFs"].as_i64(),
        image_size.as_i64().map(|s| s + 2)
    );

    // Exited, network host.
    let id = create(
        &d,
        "exited-host",
        json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "host"}}),
    );
    d.ok(&["start", &id]);
    d.ok(&["wait", &id]);
    let mut want = golden("inspect-exited-host");
    want["HostConfig"]["RestartPolicy"]["Name"] = json!("no");
    want["HostConfig"]["PortBindings"] = json!({});
    assert_like(
        "inspect-exited-host",
        &want,
        &inspect(&d, &format!("/v1.41/containers/{id}/json")),
    );

    // Exited, run by the stock CLI.
    d.ok(&[
        "run",
        "--name",
        "exited-cli",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    assert_like(
        "inspect-exited-cli",
        &golden("inspect-exited-cli"),
        &inspect(&d, "/v1.41/containers/exited-cli/json"),
    );

    // Running (the recording had an exec; we keep none yet, so ExecIDs is null).
    let id = create(
        &d,
        "running",
        json!({"Image": "busybox", "Cmd": ["sleep", "60"], "HostConfig": {"NetworkMode": "none"}}),
    );
    d.ok(&["start", &id]);
    let mut want = golden("inspect-running-exec");
    want["ExecIDs"] = Value::Null;
    want["HostConfig"]["RestartPolicy"]["Name"] = json!("no");
    want["HostConfig"]["PortBindings"] = json!({});
    assert_like(
        "inspect-running-exec",
        &want,
        &inspect(&d, &format!("/v1.41/containers/{id}/json")),
    );
    d.ok(&["rm", "-f", &id]);
}

#[test]
fn versions_add_and_drop_what_dockerd_does() {
    let d = Daemon::start();
    d.load("busybox.tar");
    let id = create(&d, "c1", json!({"Image": "busybox"}));
    let at = |v: &str| inspect(&d, &format!("/v{v}/containers/{id}/json"));
    let new = at("1.53");
    for k in ["Bridge", "HairpinMode", "IPAddress", "SecondaryIPAddresses"] {
        assert!(new["NetworkSettings"].get(k).is_none(), "{k}: {new}");
    }
    assert!(new["HostConfig"].get("KernelMemory").is_none());
    assert!(new["Config"].get("OnBuild").is_none());
    assert_eq!(new["GraphDriver"]["Name"], "overlay2");
    for k in ["LowerDir", "MergedDir", "UpperDir", "WorkDir"] {
        assert!(new["GraphDriver"]["Data"][k].is_string(), "{k}: {new}");
    }
    let mid = at("1.44");
    assert_eq!(mid["NetworkSettings"]["HairpinMode"], false);
    assert_eq!(mid["NetworkSettings"]["IPAddress"], "");
    assert!(mid["HostConfig"].get("KernelMemory").is_none());
    assert_eq!(mid["Config"]["OnBuild"], Value::Null);
    let old = at("1.41");
    assert_eq!(old["HostConfig"]["KernelMemory"], 0);
    assert_eq!(old["HostConfig"]["KernelMemoryTCP"], 0);

    // The newest shape, and a stopped and a sized one, against the v1.53 schema. Nulls are
    // allowed: dockerd sends `null` for every unset list and map (Go's nil), which the spec
    // does not mark nullable.
    let spec = schema::Spec::load_default();
    d.ok(&[
        "run",
        "--name",
        "ran",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    for path in [
        format!("/containers/{id}/json"),
        format!("/v1.53/containers/{id}/json?size=1"),
        "/containers/ran/json".to_string(),
    ] {
        let body = inspect(&d, &path);
        if let Err(problems) = spec.validate_response("GET", "/containers/{id}/json", 200, &body) {
            panic!("{path}:\n{}\n{body:#}", problems.join("\n"));
        }
    }
    let (status, body) = d.http_json("GET", "/containers/nope/json");
    assert_eq!(status, 404);
    assert_eq!(body["message"], "No such container: nope");
}

#[test]
fn the_cli_templates_inspect_fields() {
    let d = Daemon::start();
    d.load("busybox.tar");
    d.ok(&["create", "--name", "ca", "--restart", "no", "busybox"]);
    d.ok(&["create", "--name", "cb", "--network", "none", "busybox"]);
    let f = |fmt: &str, c: &str| d.ok(&["inspect", "-f", fmt, c]).trim().to_string();
    assert_eq!(
        f(
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}",
            "ca"
        ),
        "bridge"
    );
    assert_eq!(
        f(
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}",
            "cb"
        ),
        "none"
    );
    assert_eq!(f("{{.GraphDriver.Name}}", "ca"), "overlay2");
    assert_eq!(f("{{.HostConfig.RestartPolicy.Name}}", "ca"), "no");
    assert_eq!(f("{{.HostConfig.RestartPolicy.Name}}", "cb"), "no");
    assert_eq!(f("{{json .ExecIDs}}", "ca"), "null");
    assert_eq!(f("{{json .Mounts}}", "ca"), "[]");
    assert_eq!(f("{{json .HostConfig.ConsoleSize}}", "ca"), "[0,0]");
    assert_eq!(f("{{.HostConfig.LogConfig.Type}}", "ca"), "json-file");
    assert!(
        f("{{.GraphDriver.Data.UpperDir}}", "ca").starts_with(&d.data_root().display().to_string())
    );
    assert_eq!(
        d.ok(&["inspect", "-s", "-f", "{{.SizeRw}}", "cb"]).trim(),
        "0"
    );
}
