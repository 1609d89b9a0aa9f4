//! Our responses to an API 1.41 client against the shapes real dockerd 20.10 (API 1.41) sent,
//! recorded in compat-tests/golden/dockerd-20.10: every field dockerd sent is present, with the
//! same JSON type wherever dockerd sent a non-null value ([] stays [], {} stays {}); status codes
//! and error messages match (IDs aside).

mod common;

use std::path::PathBuf;

use common::{Daemon, test_image_id};
use serde_json::Value;

fn golden(name: &str) -> (u16, Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compat-tests/golden/dockerd-20.10");
    let status = std::fs::read_to_string(dir.join(format!("{name}.status"))).unwrap();
    let body = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    (
        status.trim().parse().unwrap(),
        serde_json::from_str(&body).unwrap(),
    )
}

/// Objects whose keys are data (labels, paths), not schema.
const MAPS: &[&str] = &[
    "Labels",
    "Data",
    "Runtimes",
    "IndexConfigs",
    "Details",
    "Options",
];

fn shape_diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Null, _) => {}
        (Value::Object(w), Value::Object(g)) => {
            if MAPS.iter().any(|m| path.ends_with(m)) {
                return;
            }
            for (k, wv) in w {
                match g.get(k) {
                    None => out.push(format!("{path}/{k}: missing")),
                    Some(gv) => shape_diff(&format!("{path}/{k}"), wv, gv, out),
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if let (Some(w0), Some(g0)) = (w.first(), g.first()) {
                shape_diff(&format!("{path}/0"), w0, g0, out);
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Number(_), Value::Number(_)) => {}
        (w, g) => out.push(format!("{path}: dockerd sent {w}, we sent {g}")),
    }
}

fn assert_shape(name: &str, got: &Value) {
    let (_, want) = golden(name);
    let mut problems = Vec::new();
    shape_diff("", &want, got, &mut problems);
    assert!(
        problems.is_empty(),
        "{name}:\n{}\nours: {got:#}",
        problems.join("\n")
    );
}

/// Replaces hex IDs so messages compare by wording.
fn without_ids(s: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            if run.len() >= 12 {
                out.push_str("<id>");
            } else {
                out.push_str(&run);
            }
            run.clear();
            out.push(c);
        }
    }
    out.trim_end().to_string()
}

#[test]
fn v1_41_bodies_have_dockerd_20_10_shapes() {
    let d = Daemon::start();
    d.load("busybox.tar");
    d.load("busybox-labels.tar");
    for (name, path) in [
        ("version", "/v1.41/version"),
        ("info", "/v1.41/info"),
        ("images-json", "/v1.41/images/json"),
        ("image-inspect", "/v1.41/images/busybox/json"),
        (
            "image-inspect-labels",
            "/v1.41/images/berth-test/labelled:1.0/json",
        ),
    ] {
        let (status, body) = d.http_json("GET", path);
        assert_eq!(status, 200, "{path}");
        assert_shape(name, &body);
    }
    let cid = d.ok(&["create", "busybox"]);
    let r = d.http(
        "POST",
        "/v1.41/containers/create",
        Some(("application/json", br#"{"Image":"busybox"}"#)),
    );
    assert_eq!(r.status, golden("container-create").0);
    assert_shape("container-create", &r.json());
    let (_, list) = d.http_json("GET", "/v1.41/containers/json?all=1");
    assert!(!cid.is_empty());
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[test]
fn errors_match_dockerd_20_10() {
    let d = Daemon::start();
    d.load("busybox.tar");
    d.ok(&["create", "busybox"]);
    for (name, method, path) in [
        ("image-delete-missing", "DELETE", "/v1.41/images/nope"),
        (
            "container-create-missing-image",
            "POST",
            "/v1.41/containers/create",
        ),
        ("image-delete-conflict", "DELETE", "/v1.41/images/busybox"),
        (
            "image-delete-id-conflict",
            "DELETE",
            &format!("/v1.41/images/{}", &test_image_id("busybox.tar")[7..19]),
        ),
        ("unknown-path", "GET", "/v1.41/nope"),
        ("version-too-new", "GET", "/v9.99/version"),
    ] {
        let body = (method == "POST").then_some(("application/json", &br#"{"Image":"nope"}"#[..]));
        let r = d.http(method, path, body);
        let (status, want) = golden(name);
        assert_eq!(r.status, status, "{name}: {}", r.text());
        let got = r.json();
        let want = want["message"].as_str().unwrap_or_default();
        // dockerd 20.10 named its own maximum, 1.41; ours is 1.53.
        let want = want.replace("1.41", "1.53");
        assert_eq!(
            without_ids(got["message"].as_str().unwrap()),
            without_ids(&want),
            "{name}"
        );
    }
    // The 1.41 image delete records.
    d.ok(&["tag", "busybox", "busybox:two"]);
    let (status, body) = d.http_json("DELETE", "/v1.41/images/busybox:latest");
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!([{"Untagged": "busybox:latest"}]));
}
