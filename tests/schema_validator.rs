//! Unit tests for the Swagger 2.0 response validator in `support/schema.rs`.

#[path = "support/schema.rs"]
mod schema;

use schema::Spec;
use serde_json::{Value, json};
use std::path::PathBuf;

fn image_summary() -> Value {
    json!({
        "Id": "sha256:ec3f0931a6e6b6855d76b2d7b0be30e81860baccd891b2e243280bf1cd8ad710",
        "ParentId": "",
        "RepoTags": ["example:1.0", "example:latest"],
        "RepoDigests": ["example@sha256:afcc7f1ac1b49db317a7196c902e61c6c3c4607d63599ee1a82d702d249a0ccb"],
        "Created": 1644009612,
        "Size": 172064416,
        "SharedSize": -1,
        "VirtualSize": 172064416,
        "Labels": {"com.example.some-label": "some-value"},
        "Containers": 2
    })
}

fn manifest_summary(kind: &str) -> Value {
    json!({
        "ID": "sha256:95869fbcf224d947ace8d61d0e931d49e31bb7fc67fffbbe9c3198c33aa8e93f",
        "Descriptor": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:95869fbcf224d947ace8d61d0e931d49e31bb7fc67fffbbe9c3198c33aa8e93f",
            "size": 424,
            "platform": {"architecture": "amd64", "os": "linux"}
        },
        "Available": true,
        "Size": {"Total": 8213251, "Content": 3987495},
        "Kind": kind,
        "ImageData": {
            "Platform": {"architecture": "amd64", "os": "linux"},
            "Containers": [],
            "Size": {"Unpacked": 3987495}
        }
    })
}

fn errors_of(result: Result<(), Vec<String>>) -> Vec<String> {
    match result {
        Ok(()) => panic!("expected violations, got none"),
        Err(errors) => errors,
    }
}

#[test]
fn valid_image_summary_passes() {
    let spec = Spec::load_default();
    let image = image_summary();
    assert_eq!(spec.validate_definition("ImageSummary", &image), Ok(()));
    let list = json!([image, image_summary()]);
    assert_eq!(
        spec.validate_response("GET", "/images/json", 200, &list),
        Ok(())
    );
    assert_eq!(
        spec.validate_response("get", "/images/json", 200, &json!([])),
        Ok(())
    );
}

#[test]
fn missing_required_property_fails() {
    let spec = Spec::load_default();
    let mut image = image_summary();
    image.as_object_mut().unwrap().remove("Id");
    image.as_object_mut().unwrap().remove("Containers");
    let errors = errors_of(spec.validate_definition("ImageSummary", &image));
    assert_eq!(
        errors,
        vec![
            r#"/: missing required property "Id""#.to_string(),
            r#"/: missing required property "Containers""#.to_string(),
        ]
    );

    // Inside an array the pointer names the element.
    let list = json!([image_summary(), image]);
    let errors = errors_of(spec.validate_response("GET", "/images/json", 200, &list));
    assert!(
        errors.contains(&r#"/1: missing required property "Id""#.to_string()),
        "{errors:?}"
    );
}

#[test]
fn wrong_type_fails() {
    let spec = Spec::load_default();
    let mut image = image_summary();
    image["RepoTags"] = json!("example:latest");
    image["Created"] = json!("2022-02-04T21:20:12Z");
    image["Size"] = json!(1.5);
    image["Labels"] = json!(["a=b"]);
    let errors = errors_of(spec.validate_definition("ImageSummary", &image));
    let mut errors = errors;
    errors.sort();
    assert_eq!(
        errors,
        vec![
            "/Created: expected integer, got string",
            "/Labels: expected object, got array",
            "/RepoTags: expected array, got string",
            "/Size: expected integer, got number",
        ]
    );

    // The root of a response.
    let errors = errors_of(spec.validate_response("GET", "/images/json", 200, &image_summary()));
    assert_eq!(errors, vec!["/: expected array, got object"]);

    // Array items.
    let mut image = image_summary();
    image["RepoTags"] = json!(["ok:1", 7]);
    let errors = errors_of(spec.validate_definition("ImageSummary", &image));
    assert_eq!(errors, vec!["/RepoTags/1: expected string, got integer"]);
}

#[test]
fn nulls_lenient_by_default_strict_on_request() {
    let mut image = image_summary();
    image["RepoTags"] = Value::Null;
    image["Labels"] = Value::Null;

    let lenient = Spec::load_default();
    assert_eq!(lenient.validate_definition("ImageSummary", &image), Ok(()));

    let strict = Spec::load_default().strict_nulls(true);
    let mut errors = errors_of(strict.validate_definition("ImageSummary", &image));
    errors.sort();
    assert_eq!(
        errors,
        vec![
            "/Labels: expected object, got null",
            "/RepoTags: expected array, got null"
        ]
    );

    // `x-nullable: true` (here on a `$ref` property) allows null even when strict.
    let mut image = image_summary();
    image["Descriptor"] = Value::Null;
    assert_eq!(strict.validate_definition("ImageSummary", &image), Ok(()));

    // A null document root is never accepted unless nullable.
    let errors = errors_of(lenient.validate_response("GET", "/images/json", 200, &Value::Null));
    assert_eq!(errors, vec!["/: expected array, got null"]);

    // Null array elements are not property values: rejected even when lenient.
    let errors = errors_of(lenient.validate_response("GET", "/images/json", 200, &json!([null])));
    assert_eq!(errors, vec!["/0: expected object, got null"]);
}

#[test]
fn enum_violation_fails() {
    let spec = Spec::load_default();
    assert_eq!(
        spec.validate_definition("ImageManifestSummary", &manifest_summary("image")),
        Ok(())
    );

    let errors =
        errors_of(spec.validate_definition("ImageManifestSummary", &manifest_summary("bogus")));
    assert_eq!(
        errors,
        vec![r#"/Kind: "bogus" is not one of ["image", "attestation", "unknown"]"#]
    );

    // The empty string is only valid if listed.
    let errors = errors_of(spec.validate_definition("ImageManifestSummary", &manifest_summary("")));
    assert_eq!(
        errors,
        vec![r#"/Kind: "" is not one of ["image", "attestation", "unknown"]"#]
    );

    // Integer enums (ChangeType: 0, 1, 2) compare as numbers.
    let change = json!({"Path": "/dev", "Kind": 0});
    assert_eq!(
        spec.validate_definition("FilesystemChange", &change),
        Ok(())
    );
    let errors = errors_of(
        spec.validate_definition("FilesystemChange", &json!({"Path": "/dev", "Kind": 3})),
    );
    assert_eq!(errors, vec!["/Kind: 3 is not one of [0, 1, 2]"]);
}

#[test]
fn nested_refs_arrays_and_maps() {
    let spec = Spec::load_default();
    let mut image = image_summary();
    image["Manifests"] = json!([manifest_summary("image"), manifest_summary("attestation")]);
    assert_eq!(spec.validate_definition("ImageSummary", &image), Ok(()));

    // Errors deep inside $ref'd definitions carry the full pointer.
    image["Manifests"][1]["Descriptor"]["size"] = json!("424");
    image["Manifests"][1]["ImageData"]["Size"] = json!({});
    image["Manifests"][0]["Descriptor"]["platform"]["os"] = json!(false);
    // Map values are validated against additionalProperties; keys with '/'
    // are escaped as JSON pointer segments.
    image["Labels"] = json!({"com.example/x": 1, "ok": "yes"});
    let mut errors = errors_of(spec.validate_definition("ImageSummary", &image));
    errors.sort();
    assert_eq!(
        errors,
        vec![
            "/Labels/com.example~1x: expected string, got integer",
            "/Manifests/0/Descriptor/platform/os: expected string, got boolean",
            "/Manifests/1/Descriptor/size: expected integer, got string",
            r#"/Manifests/1/ImageData/Size: missing required property "Unpacked""#,
        ]
    );
}

#[test]
fn unknown_properties_are_allowed() {
    let spec = Spec::load_default();
    let mut image = image_summary();
    image["SomethingNew"] = json!({"any": ["thing"]});
    assert_eq!(spec.validate_definition("ImageSummary", &image), Ok(()));
}

#[test]
fn all_of_members_are_all_checked() {
    let spec = Spec::load_default();
    // HostConfig = allOf [Resources, {Binds, NetworkMode, ...}].
    let ok =
        json!({"CpuShares": 512, "Memory": 0, "Binds": ["/tmp:/tmp"], "NetworkMode": "default"});
    assert_eq!(spec.validate_definition("HostConfig", &ok), Ok(()));
    let bad = json!({"CpuShares": "512", "Binds": "/tmp:/tmp", "ConsoleSize": [1]});
    let mut errors = errors_of(spec.validate_definition("HostConfig", &bad));
    errors.sort();
    assert_eq!(
        errors,
        vec![
            "/Binds: expected array, got string",
            "/ConsoleSize: expected at least 2 items, got 1",
            "/CpuShares: expected integer, got string",
        ]
    );
    // minimum / maximum
    let errors = errors_of(spec.validate_definition("HostConfig", &json!({"BlkioWeight": 1001})));
    assert_eq!(
        errors,
        vec!["/BlkioWeight: 1001 is greater than the maximum 1000"]
    );
}

#[test]
fn formats_are_checked() {
    let spec = Spec::load_default();
    let port = json!({"IP": "0.0.0.0", "PrivatePort": 8080, "PublicPort": 80, "Type": "tcp"});
    assert_eq!(spec.validate_definition("PortSummary", &port), Ok(()));
    let port = json!({"PrivatePort": 70000, "PublicPort": -1, "Type": "tcp"});
    let mut errors = errors_of(spec.validate_definition("PortSummary", &port));
    errors.sort();
    assert_eq!(
        errors,
        vec![
            "/PrivatePort: 70000 is out of range for format uint16",
            "/PublicPort: -1 is out of range for format uint16",
        ]
    );

    let volume = |created: &str| {
        json!({
            "Name": "v", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/v/_data",
            "CreatedAt": created, "Labels": {}, "Scope": "local", "Options": {}
        })
    };
    for good in [
        "2016-06-07T20:31:11.853781916Z",
        "2016-06-07T20:31:11Z",
        "2016-06-07T20:31:11+02:00",
        "0001-01-01T00:00:00Z",
    ] {
        assert_eq!(
            spec.validate_definition("Volume", &volume(good)),
            Ok(()),
            "{good}"
        );
    }
    for bad in [
        "",
        "1465331471",
        "2016-06-07 20:31:11",
        "2016-13-07T20:31:11Z",
        "2016-06-07T20:31:11",
    ] {
        let errors = errors_of(spec.validate_definition("Volume", &volume(bad)));
        assert_eq!(
            errors,
            vec![format!(
                "/CreatedAt: {} is not an RFC 3339 date-time",
                json!(bad)
            )]
        );
    }
}

#[test]
fn response_lookup() {
    let spec = Spec::load_default();
    let not_found = json!({"message": "No such image: nope:latest"});
    assert_eq!(
        spec.validate_response("GET", "/images/{name}/json", 404, &not_found),
        Ok(())
    );
    let errors = errors_of(spec.validate_response("GET", "/images/{name}/json", 404, &json!({})));
    assert_eq!(errors, vec![r#"/: missing required property "message""#]);

    // Responses without a schema accept any body.
    assert_eq!(
        spec.validate_response("POST", "/images/{name}/tag", 201, &Value::Null),
        Ok(())
    );
    // Plain-text responses have a string schema.
    assert_eq!(
        spec.validate_response("GET", "/_ping", 200, &json!("OK")),
        Ok(())
    );

    let errors = errors_of(spec.validate_response("GET", "/images/json", 418, &json!([])));
    assert_eq!(
        errors,
        vec!["status 418 is not documented for GET /images/json (documented: 200, 500)"]
    );
    let errors = errors_of(spec.validate_response("PATCH", "/images/json", 200, &json!([])));
    assert_eq!(errors, vec!["no operation PATCH /images/json in the spec"]);
    let errors = errors_of(spec.validate_definition("NoSuchThing", &json!({})));
    assert_eq!(errors, vec![r#"no definition "NoSuchThing" in the spec"#]);
}

#[test]
fn operations_lists_every_method_and_path() {
    let spec = Spec::load_default();
    let ops = spec.operations();
    assert_eq!(ops.len(), 107);
    for (method, path) in [
        ("GET", "/_ping"),
        ("HEAD", "/_ping"),
        ("GET", "/version"),
        ("GET", "/images/json"),
        ("DELETE", "/images/{name}"),
        ("POST", "/images/load"),
    ] {
        assert!(
            ops.contains(&(method.to_string(), path.to_string())),
            "{method} {path}"
        );
    }
    let mut sorted = ops.clone();
    sorted.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    assert_eq!(ops, sorted);
    let mut deduped = ops.clone();
    deduped.dedup();
    assert_eq!(deduped.len(), ops.len());
}

/// A minimal spec written by the test: `additionalProperties: false`,
/// `additionalProperties: true`, and strict nulls on `x-nullable`.
#[test]
fn custom_spec_additional_properties_and_nullable() {
    let yaml = r##"
swagger: "2.0"
paths:
  /things/{id}:
    get:
      responses:
        200:
          schema:
            $ref: "#/definitions/Thing"
        204:
          description: no content
definitions:
  Thing:
    type: object
    additionalProperties: false
    required: [Name]
    properties:
      Name:
        type: string
      Note:
        type: string
        x-nullable: true
      Extra:
        type: object
        additionalProperties: true
  Nullable:
    type: object
    x-nullable: true
"##;
    let path = std::env::temp_dir().join(format!("berth-schema-test-{}.yaml", std::process::id()));
    std::fs::write(&path, yaml).unwrap();
    let spec = Spec::load(&path);
    std::fs::remove_file(&path).unwrap();

    assert_eq!(
        spec.operations(),
        vec![("GET".to_string(), "/things/{id}".to_string())]
    );
    let ok = json!({"Name": "a", "Note": null, "Extra": {"x": [1, null]}});
    assert_eq!(
        spec.validate_response("GET", "/things/{id}", 200, &ok),
        Ok(())
    );
    let errors = errors_of(spec.validate_response(
        "GET",
        "/things/{id}",
        200,
        &json!({"Name": "a", "Bogus": 1}),
    ));
    assert_eq!(errors, vec![r#"/: unexpected property "Bogus""#]);

    let strict = spec.clone().strict_nulls(true);
    assert_eq!(
        strict.validate_definition("Thing", &json!({"Name": "a", "Note": null})),
        Ok(())
    );
    let errors = errors_of(strict.validate_definition("Thing", &json!({"Name": null})));
    assert_eq!(errors, vec!["/Name: expected string, got null"]);
    assert_eq!(
        spec.validate_definition("Thing", &json!({"Name": null})),
        Ok(())
    );
    assert_eq!(strict.validate_definition("Nullable", &Value::Null), Ok(()));
}

#[test]
#[should_panic(expected = "cannot read API spec")]
fn load_panics_clearly_on_a_missing_file() {
    Spec::load(&PathBuf::from("/nonexistent/berth/v1.53.yaml"));
}

/// api-spec/endpoints.tsv (generated by api-spec/gen-endpoints.py) has one
/// well-formed line per operation of the spec, in the spec's order.
#[test]
fn endpoints_tsv_lists_every_operation() {
    let path = Spec::default_path().with_file_name("endpoints.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut listed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 4, "line {}: {line:?}", i + 1);
        assert!(
            ["served", "partial", "refused"].contains(&fields[2]),
            "line {}: bad status {:?}",
            i + 1,
            fields[2]
        );
        assert!(!fields[3].is_empty(), "line {}: empty note", i + 1);
        listed.push((fields[0].to_string(), fields[1].to_string()));
    }
    assert_eq!(
        listed,
        Spec::load_default().operations(),
        "{} is out of date: run python3 api-spec/gen-endpoints.py",
        path.display()
    );
}

/// The responses recorded from a real dockerd 20.10 (API 1.41) under
/// compat-tests/golden/dockerd-20.10/ match the v1.53 spec with lenient nulls.
/// (With `strict_nulls(true)` they do not: dockerd sends null for nil Go
/// slices and maps such as `RepoDigests`, `Labels` and `Config.Entrypoint`.)
/// Skipped when the recording is absent.
#[test]
fn golden_dockerd_20_10_responses_match_spec() {
    let dir = Spec::default_path()
        .parent()
        .and_then(|p| p.parent())
        .expect("api-spec has a parent")
        .join("compat-tests/golden/dockerd-20.10");
    if !dir.is_dir() {
        eprintln!("skipped: no {}", dir.display());
        return;
    }
    let cases = [
        ("version", "GET", "/version"),
        ("version-unversioned", "GET", "/version"),
        ("info", "GET", "/info"),
        ("images-json", "GET", "/images/json"),
        ("images-json-all", "GET", "/images/json"),
        ("images-json-filter-label", "GET", "/images/json"),
        ("images-json-filter-reference", "GET", "/images/json"),
        ("images-json-filter-dangling", "GET", "/images/json"),
        ("images-json-end", "GET", "/images/json"),
        ("image-inspect", "GET", "/images/{name}/json"),
        ("image-inspect-labels", "GET", "/images/{name}/json"),
        ("image-inspect-missing", "GET", "/images/{name}/json"),
        ("image-history", "GET", "/images/{name}/history"),
        ("image-delete-untag", "DELETE", "/images/{name}"),
        ("image-delete-last-tag", "DELETE", "/images/{name}"),
        ("image-delete-missing", "DELETE", "/images/{name}"),
        ("image-delete-conflict", "DELETE", "/images/{name}"),
        ("image-delete-force", "DELETE", "/images/{name}"),
        ("container-create", "POST", "/containers/create"),
        (
            "container-create-missing-image",
            "POST",
            "/containers/create",
        ),
        ("containers-json-all", "GET", "/containers/json"),
    ];
    let spec = Spec::load_default();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, method, path) in cases {
        let body_path = dir.join(format!("{name}.json"));
        let status_path = dir.join(format!("{name}.status"));
        let (Ok(raw), Ok(status)) = (
            std::fs::read_to_string(&body_path),
            std::fs::read_to_string(&status_path),
        ) else {
            eprintln!("skipped: no {}", body_path.display());
            continue;
        };
        let status: u16 = status.trim().parse().expect("status code");
        let body: Value = serde_json::from_str(&raw)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", body_path.display()));
        if let Err(errors) = spec.validate_response(method, path, status, &body) {
            failures.push(format!("{name} ({method} {path} {status}): {errors:#?}"));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 0, "no golden response found in {}", dir.display());
}
