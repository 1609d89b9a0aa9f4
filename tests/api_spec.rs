//! Keeps `api-spec/endpoints.tsv` true against the router, and checks the JSON we serve against
//! the v1.53 spec's schemas.

mod common;
#[path = "support/schema.rs"]
mod schema;

use std::collections::BTreeSet;

use common::Daemon;
use schema::Spec;

fn tsv_rows() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/api-spec/endpoints.tsv"
    ))
    .expect("endpoints.tsv");
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

#[test]
fn endpoints_tsv_matches_the_router_table() {
    let served_by_router: BTreeSet<(String, String)> = berth::api::routes::table()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let served_by_tsv: BTreeSet<(String, String)> = tsv_rows()
        .into_iter()
        .filter(|(_, _, status)| status != "refused")
        .map(|(m, p, _)| (m, p))
        .collect();
    let missing_from_tsv: Vec<_> = served_by_router.difference(&served_by_tsv).collect();
    let missing_from_router: Vec<_> = served_by_tsv.difference(&served_by_router).collect();
    assert!(
        missing_from_tsv.is_empty() && missing_from_router.is_empty(),
        "router serves but tsv says refused: {missing_from_tsv:?}\ntsv says served but router lacks: {missing_from_router:?}"
    );
    let spec_ops: BTreeSet<(String, String)> =
        Spec::load_default().operations().into_iter().collect();
    for op in &served_by_router {
        assert!(
            spec_ops.contains(op),
            "{op:?} is not an operation of the v1.53 spec"
        );
    }
}

/// Every served path answers with something other than "page not found", and every refused one
/// answers 404 "page not found" as its note says.
#[test]
fn served_and_refused_endpoints_behave_as_recorded() {
    let d = Daemon::start();
    for (method, path, status) in tsv_rows() {
        let concrete = path
            .replace("{id}", "nosuchthing")
            .replace("{name}", "nosuchthing")
            .replace("{execId}", "nosuchthing");
        // A stream that would follow forever ends at once with `until` in the past.
        let concrete = match concrete.as_str() {
            "/events" => "/events?since=1&until=2".to_string(),
            _ => concrete,
        };
        let r = d.http(&method, &concrete, None);
        let page_not_found =
            r.status == 404 && (method == "HEAD" || r.json()["message"] == "page not found");
        if status == "refused" {
            assert!(
                page_not_found,
                "{method} {path} is refused but answered {} {}",
                r.status,
                r.text()
            );
        } else {
            assert!(
                !page_not_found,
                "{method} {path} is {status} but the router does not serve it"
            );
        }
    }
}

fn check(spec: &Spec, method: &str, template: &str, status: u16, body: &serde_json::Value) {
    if let Err(problems) = spec.validate_response(method, template, status, body) {
        panic!(
            "{method} {template} {status} violates the spec:\n{}\nbody: {body:#}",
            problems.join("\n")
        );
    }
}

#[test]
fn responses_match_the_v1_53_schemas() {
    // Strict: we send null only where the spec allows it.
    let spec = Spec::load_default().strict_nulls(true);
    let d = Daemon::start();
    d.load("busybox.tar");
    d.load("busybox-labels.tar");
    d.ok(&[
        "create", "--name", "c1", "-e", "A=1", "-l", "x=y", "busybox", "sh", "-c", "true",
    ]);

    for (path, template) in [
        ("/version", "/version"),
        ("/info", "/info"),
        ("/images/json", "/images/json"),
        ("/images/json?all=1&digests=1", "/images/json"),
        ("/images/busybox/json", "/images/{name}/json"),
        (
            "/images/berth-test/labelled:1.0/json",
            "/images/{name}/json",
        ),
        ("/containers/json?all=1", "/containers/json"),
    ] {
        let (status, body) = d.http_json("GET", path);
        assert_eq!(status, 200, "{path}: {body}");
        check(&spec, "GET", template, 200, &body);
    }
    // Container inspect has dockerd's nulls for every unset list and map (Go's nil), which the
    // spec does not mark nullable; tests/golden_inspect.rs checks them against dockerd's.
    let (status, body) = d.http_json("GET", "/containers/c1/json");
    assert_eq!(status, 200, "{body}");
    check(
        &Spec::load_default(),
        "GET",
        "/containers/{id}/json",
        200,
        &body,
    );
    for (method, path, template, want) in [
        ("GET", "/images/nope/json", "/images/{name}/json", 404),
        ("GET", "/containers/nope/json", "/containers/{id}/json", 404),
        ("DELETE", "/images/nope", "/images/{name}", 404),
        ("DELETE", "/images/busybox", "/images/{name}", 409),
    ] {
        let (status, body) = d.http_json(method, path);
        assert_eq!(status, want, "{method} {path}: {body}");
        check(&spec, method, template, status, &body);
    }
    let r = d.http(
        "POST",
        "/containers/create",
        Some(("application/json", br#"{"Image":"busybox"}"#)),
    );
    assert_eq!(r.status, 201);
    check(&spec, "POST", "/containers/create", 201, &r.json());
    let (status, body) = d.http_json("DELETE", "/images/berth-test/labelled:1.0");
    assert_eq!(status, 200);
    check(&spec, "DELETE", "/images/{name}", 200, &body);
}
