//! Local images through the stock docker CLI: load (docker save and OCI layout archives), images
//! with filters, inspect, tag, rmi, save; hostile archives are refused and change nothing.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Daemon, test_image_id};
use sha2::{Digest, Sha256};

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

fn tags(d: &Daemon, extra: &[&str]) -> BTreeSet<String> {
    let mut args = vec!["images", "--format", "{{.Repository}}:{{.Tag}}"];
    args.extend_from_slice(extra);
    lines(&d.ok(&args)).into_iter().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Layer directories present on disk.
fn layer_dirs(d: &Daemon) -> BTreeSet<String> {
    std::fs::read_dir(d.data_root().join("image/layers/sha256"))
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn tmp_is_empty(d: &Daemon) -> bool {
    std::fs::read_dir(d.data_root().join("image/tmp")).map_or(true, |mut r| r.next().is_none())
}

#[test]
fn load_docker_save_and_oci_layout_archives() {
    let d = Daemon::start();
    let out = d.load("busybox.tar");
    assert_eq!(out.trim(), "Loaded image: busybox:latest");
    let out = d.load("busybox-oci.tar");
    assert_eq!(out.trim(), "Loaded image: busybox-oci:latest");
    d.load("busybox-labels.tar");
    assert_eq!(
        tags(&d, &[]),
        set(&[
            "busybox:latest",
            "busybox-oci:latest",
            "berth-test/labelled:1.0"
        ])
    );
    // The same layer is unpacked once, whatever the archive's compression.
    assert_eq!(layer_dirs(&d).len(), 1);
    let id = d.ok(&["image", "inspect", "--format", "{{.Id}}", "busybox-oci"]);
    assert_eq!(id.trim(), test_image_id("busybox.tar"));

    // The unpacked layer is the image's filesystem, overlay-ready.
    let upper = d.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.GraphDriver.Data.UpperDir}}",
        "busybox",
    ]);
    let upper = Path::new(upper.trim());
    assert!(upper.join("bin/busybox").is_file());
    assert_eq!(
        std::fs::read_link(upper.join("bin/sh")).unwrap().to_str(),
        Some("busybox")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(upper.join("tmp"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o1777
    );

    // Loading again changes nothing; stdin works as with `docker load < file`.
    let bytes = std::fs::read(common::test_image("busybox.tar")).unwrap();
    let out = d.docker_stdin(&["load"], Some(&bytes));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(d.ok(&["images", "-q"]).lines().count(), 3);
    assert!(tmp_is_empty(&d));
}

#[test]
fn loading_a_tag_onto_another_image_moves_it() {
    let d = Daemon::start();
    d.load("busybox.tar");
    d.ok(&["tag", "busybox", "berth-test/labelled:1.0"]);
    let out = d.load("busybox-labels.tar");
    assert!(
        out.contains(&format!(
            "The image berth-test/labelled:1.0 already exists, renaming the old one with ID {} to empty string",
            test_image_id("busybox.tar")
        )),
        "{out}"
    );
    let id = d.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}}",
        "berth-test/labelled:1.0",
    ]);
    assert_eq!(id.trim(), test_image_id("busybox-labels.tar"));
}

#[test]
fn images_lists_and_filters() {
    let d = Daemon::start();
    d.load("busybox.tar");
    d.load("busybox-labels.tar");
    d.ok(&["tag", "busybox", "localhost:5000/team/tool:2"]);

    let q = lines(&d.ok(&["images", "-q"]));
    assert_eq!(q.len(), 3, "one line per tag: {q:?}");
    assert!(q.iter().all(|l| l.len() == 12));
    let full = lines(&d.ok(&["images", "-q", "--no-trunc"]));
    assert!(
        full.iter()
            .all(|l| l.starts_with("sha256:") && l.len() == 71)
    );

    assert_eq!(
        tags(&d, &["--filter", "reference=busybox"]),
        set(&["busybox:latest"])
    );
    assert_eq!(tags(&d, &["busybox"]), set(&["busybox:latest"]));
    assert_eq!(
        tags(&d, &["--filter", "reference=localhost:5000/*/*"]),
        set(&["localhost:5000/team/tool:2"])
    );
    // As Go's path.Match, '*' stops at '/'.
    assert!(tags(&d, &["--filter", "reference=*:1.0"]).is_empty());
    assert_eq!(
        tags(&d, &["--filter", "reference=*/*:1.0"]),
        set(&["berth-test/labelled:1.0"])
    );
    assert_eq!(
        tags(&d, &["--filter", "label=tier=base"]),
        set(&["berth-test/labelled:1.0"])
    );
    assert_eq!(
        tags(&d, &["--filter", "label=org.berth.test"]),
        set(&["berth-test/labelled:1.0"])
    );
    assert!(
        tags(
            &d,
            &["--filter", "label=tier=base", "--filter", "label=nope"]
        )
        .is_empty()
    );
    assert!(tags(&d, &["--filter", "dangling=true"]).is_empty());
    assert_eq!(tags(&d, &["--filter", "dangling=false"]).len(), 3);
    // busybox-labels was created after busybox (its config says so).
    assert_eq!(
        tags(&d, &["--filter", "since=busybox"]),
        set(&["berth-test/labelled:1.0"])
    );
    assert_eq!(
        tags(&d, &["--filter", "before=berth-test/labelled:1.0"]),
        set(&["busybox:latest", "localhost:5000/team/tool:2"])
    );
    let err = d.fails(&["images", "--filter", "bogus=1"]);
    assert!(err.contains("invalid filter 'bogus'"), "{err}");
    let err = d.fails(&["images", "--filter", "dangling=maybe"]);
    assert!(err.contains("invalid filter 'dangling=maybe'"), "{err}");
    let err = d.fails(&["images", "--filter", "since=nope"]);
    assert!(err.contains("No such image: nope:latest"), "{err}");

    // -a shows the same (no intermediate images without a builder); --digests adds a column.
    assert_eq!(lines(&d.ok(&["images", "-a", "-q"])).len(), 3);
    let dig = d.ok(&["images", "--digests"]);
    assert!(dig.lines().next().unwrap().contains("DIGEST"), "{dig}");

    // Untagging the last tag leaves a dangling image.
    d.ok(&["tag", "berth-test/labelled:1.0", "keep:me"]);
    d.ok(&["rmi", "berth-test/labelled:1.0"]);
    d.ok(&["rmi", "keep:me"]);
    assert!(
        tags(&d, &["--filter", "dangling=true"]).is_empty(),
        "rmi of the last tag deletes"
    );
}

#[test]
fn inspect_has_dockerds_shape() {
    let d = Daemon::start();
    d.load("busybox-labels.tar");
    let out = d.ok(&["image", "inspect", "berth-test/labelled:1.0"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let img = &v[0];
    assert_eq!(img["Id"], test_image_id("busybox-labels.tar"));
    assert_eq!(
        img["RepoTags"],
        serde_json::json!(["berth-test/labelled:1.0"])
    );
    assert_eq!(img["RepoDigests"], serde_json::json!([]));
    assert_eq!(img["Architecture"], "amd64");
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(img["Config"]["Labels"]["tier"], "base");
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert_eq!(img["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert!(img["Size"].as_i64().unwrap() > 1_000_000);
    assert!(img["Created"].as_str().unwrap().starts_with("20"));
    assert_eq!(img["GraphDriver"]["Name"], "overlay2");
    assert!(img["Metadata"].is_object());

    // All the ways to name it reach the same image.
    let id = test_image_id("busybox-labels.tar");
    let hex = id.trim_start_matches("sha256:");
    for name in [
        "berth-test/labelled:1.0",
        "docker.io/berth-test/labelled:1.0",
        &id,
        hex,
        &hex[..12],
        &format!("sha256:{}", &hex[..12]),
    ] {
        let got = d.ok(&["image", "inspect", "--format", "{{.Id}}", name]);
        assert_eq!(got.trim(), id, "{name}");
    }
    let err = d.fails(&["image", "inspect", "nope"]);
    assert!(err.contains("No such image: nope:latest"), "{err}");
    let err = d.fails(&["image", "inspect", "berth-test/labelled"]);
    assert!(
        err.contains("No such image: berth-test/labelled:latest"),
        "{err}"
    );
    let r = d.http("GET", "/images/nope:1/json", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "No such image: nope:1");
}

#[test]
fn tag_normalises_references() {
    let d = Daemon::start();
    d.load("busybox.tar");
    d.ok(&["tag", "busybox", "docker.io/library/busybox:two"]);
    d.ok(&["tag", "docker.io/library/busybox:latest", "mine"]);
    d.ok(&[
        "tag",
        &test_image_id("busybox.tar")[7..19],
        "localhost:5000/x/y:z",
    ]);
    assert_eq!(
        tags(&d, &[]),
        set(&[
            "busybox:latest",
            "busybox:two",
            "mine:latest",
            "localhost:5000/x/y:z"
        ])
    );
    let err = d.fails(&["tag", "busybox", "Bad/Name"]);
    assert!(err.contains("invalid reference format"), "{err}");
    let err = d.fails(&["tag", "nope", "x:1"]);
    assert!(err.contains("No such image: nope:latest"), "{err}");
    let r = d.http("POST", "/images/busybox/tag?repo=x&tag=sha256:abc", None);
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("refusing to create an ambiguous tag")
    );
    let r = d.http("POST", "/images/busybox/tag?repo=x@sha256:0000000000000000000000000000000000000000000000000000000000000000", None);
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.http("POST", "/images/busybox/tag?repo=x&tag=y", None);
    assert_eq!(r.status, 201);
    assert!(r.body.is_empty());
    assert_eq!(tags(&d, &[]).len(), 5);
}

#[test]
fn rmi_untags_deletes_and_respects_containers() {
    let d = Daemon::start();
    d.load("busybox.tar");
    d.load("busybox-labels.tar");
    let id = test_image_id("busybox.tar");
    let short = &id[7..19];
    d.ok(&["tag", "busybox", "busybox:two"]);

    // Naming one of two tags only untags.
    let out = d.ok(&["rmi", "busybox:two"]);
    assert_eq!(out.trim(), "Untagged: busybox:two");

    // A container blocks removing the last reference, unless forced.
    let cid = d.ok(&["create", "busybox"]).trim().to_string();
    let err = d.fails(&["rmi", "busybox"]);
    assert!(
        err.contains(&format!(
            "conflict: unable to remove repository reference \"busybox\" (must force) - container {} is using its referenced image {short}",
            &cid[..12]
        )),
        "{err}"
    );
    let err = d.fails(&["rmi", short]);
    assert!(
        err.contains(&format!(
            "conflict: unable to delete {short} (must be forced) - image is being used by stopped container {}",
            &cid[..12]
        )),
        "{err}"
    );
    assert!(
        tags(&d, &[]).contains("busybox:latest"),
        "a refused rmi changed nothing"
    );

    // Two repositories: naming the ID needs force.
    d.ok(&["tag", "busybox", "other:1"]);
    d.ok(&["rm", &cid]);
    let err = d.fails(&["rmi", short]);
    assert!(
        err.contains("image is referenced in multiple repositories"),
        "{err}"
    );
    let out = d.ok(&["rmi", "-f", short]);
    let got: BTreeSet<String> = lines(&out).into_iter().collect();
    assert_eq!(
        got,
        set(&[
            "Untagged: busybox:latest",
            "Untagged: other:1",
            &format!("Deleted: {id}")
        ])
    );
    // The layer is shared with the labelled image, so it stays.
    assert_eq!(layer_dirs(&d).len(), 1);

    // Forcing past a stopped container deletes the image; the container keeps its image ID.
    let cid = d
        .ok(&["create", "berth-test/labelled:1.0"])
        .trim()
        .to_string();
    let out = d.ok(&["rmi", "-f", "berth-test/labelled:1.0"]);
    assert!(out.contains("Untagged: berth-test/labelled:1.0"), "{out}");
    assert!(
        out.contains(&format!("Deleted: {}", test_image_id("busybox-labels.tar"))),
        "{out}"
    );
    // The container still uses the layer, so it stays until the container goes.
    assert_eq!(
        out.lines().filter(|l| l.starts_with("Deleted:")).count(),
        1,
        "{out}"
    );
    assert_eq!(layer_dirs(&d).len(), 1);
    assert!(d.ok(&["images", "-q"]).trim().is_empty());
    let img = d.ok(&["inspect", "--format", "{{.Image}}", &cid]);
    assert_eq!(img.trim(), test_image_id("busybox-labels.tar"));
    d.ok(&["rm", &cid]);
    assert!(
        layer_dirs(&d).is_empty(),
        "the last user of the layer is gone"
    );

    let err = d.fails(&["rmi", "nope"]);
    assert!(err.contains("No such image: nope:latest"), "{err}");
}

#[test]
fn save_round_trips_byte_for_byte() {
    let d = Daemon::start();
    d.load("busybox.tar");
    d.load("busybox-labels.tar");
    d.ok(&["tag", "busybox", "busybox:two"]);
    let out = d.dir.path().join("saved.tar");
    d.ok(&[
        "save",
        "-o",
        out.to_str().unwrap(),
        "busybox",
        "berth-test/labelled:1.0",
    ]);

    // The archive carries both formats: manifest.json and an OCI layout.
    let mut ar = tar::Archive::new(std::fs::File::open(&out).unwrap());
    let names: BTreeSet<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    for n in ["manifest.json", "index.json", "oci-layout"] {
        assert!(names.contains(n), "{n} missing from {names:?}");
    }

    // A second daemon loads it to the same IDs, with every tag of the repository named.
    let d2 = Daemon::start();
    let loaded = d2.ok(&["load", "-i", out.to_str().unwrap()]);
    assert!(loaded.contains("Loaded image: busybox:latest"), "{loaded}");
    assert!(loaded.contains("Loaded image: busybox:two"), "{loaded}");
    assert_eq!(
        tags(&d2, &[]),
        set(&["busybox:latest", "busybox:two", "berth-test/labelled:1.0"])
    );
    assert_eq!(
        d2.ok(&["image", "inspect", "--format", "{{.Id}}", "busybox"])
            .trim(),
        test_image_id("busybox.tar")
    );

    // Saving by ID records no tags; piping save into load works.
    let by_id = d.docker(&["save", &test_image_id("busybox-labels.tar")]);
    assert!(by_id.status.success());
    let d3 = Daemon::start();
    let loaded = d3.docker_stdin(&["load"], Some(&by_id.stdout));
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    assert!(String::from_utf8_lossy(&loaded.stdout).contains("Loaded image ID: sha256:"));
    assert_eq!(d3.ok(&["images", "-q"]).lines().count(), 1);

    let err = d.fails(&["save", "-o", out.to_str().unwrap(), "nope"]);
    assert!(err.contains("No such image: nope:latest"), "{err}");
}

// ---- hostile and broken archives ----------------------------------------------------------

fn header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    // Raw bytes: the tar crate refuses to write ".." itself, an attacker's tool does not.
    let name = path.as_bytes();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h
}

/// A layer tar from (path, kind, link target, content) entries.
fn layer(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, link, data) in entries {
        let mut h = header(path, *kind, data.len() as u64);
        if !link.is_empty() {
            h.set_link_name(link).unwrap();
            h.set_cksum();
        }
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A docker-save archive holding one image made of `layers`; `diff_override` lies about a diff ID.
fn save_archive(tag: &str, layers: &[Vec<u8>], diff_override: Option<&str>) -> Vec<u8> {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| {
            diff_override
                .map(str::to_string)
                .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(l))))
        })
        .collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_hex = hex::encode(Sha256::digest(&config));
    let layer_paths: Vec<String> = (0..layers.len())
        .map(|i| format!("l{i}/layer.tar"))
        .collect();
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": format!("{config_hex}.json"), "RepoTags": [tag], "Layers": layer_paths,
    }]))
    .unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    };
    add(&format!("{config_hex}.json"), &config);
    for (p, l) in layer_paths.iter().zip(layers) {
        add(p, l);
    }
    add("manifest.json", &manifest);
    b.into_inner().unwrap()
}

/// Loads `archive`, expects a clean refusal mentioning `expect`, and checks nothing changed.
fn refused(d: &Daemon, archive: &[u8], expect: &str) {
    let before_tags = tags(d, &[]);
    let before_layers = layer_dirs(d);
    let out = d.docker_stdin(&["load"], Some(archive));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "hostile archive loaded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains(expect), "expected {expect:?} in: {err}");
    assert_eq!(tags(d, &[]), before_tags);
    assert_eq!(layer_dirs(d), before_layers);
    assert!(tmp_is_empty(d), "work files left behind");
}

#[test]
fn hostile_archives_are_refused_and_change_nothing() {
    use tar::EntryType as T;
    let d = Daemon::start();
    d.load("busybox.tar");
    let outside = d.dir.path().join("outside-marker");
    let outside_rel = outside.display().to_string();

    // `..` in a layer entry.
    let l = layer(&[(
        "../../../../../../../../tmp/berth-escape",
        T::Regular,
        "",
        b"x",
    )]);
    refused(&d, &save_archive("evil:dotdot", &[l], None), "breakout");
    // A symlink pointing out, then a write through it: must land inside (so the layer loads),
    // never at the real path.
    let dir = d.dir.path().display().to_string();
    let l = layer(&[
        ("esc", T::Symlink, &dir, b""),
        ("esc/outside-marker", T::Regular, "", b"pwned"),
    ]);
    let out = d.docker_stdin(&["load"], Some(&save_archive("evil:symlink", &[l], None)));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !outside.exists(),
        "a layer wrote outside its snapshot: {outside_rel}"
    );
    let upper = d.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.GraphDriver.Data.UpperDir}}",
        "evil:symlink",
    ]);
    let inside = Path::new(upper.trim())
        .join(dir.trim_start_matches('/'))
        .join("outside-marker");
    assert_eq!(std::fs::read(&inside).unwrap(), b"pwned");
    d.ok(&["rmi", "evil:symlink"]);
    // A hard link to a host file.
    let l = layer(&[("passwd", T::Link, "../../../../../../../../etc/passwd", b"")]);
    refused(&d, &save_archive("evil:hardlink", &[l], None), "breakout");
    // A layer that is not what the config says.
    let l = layer(&[("hello", T::Regular, "", b"hi")]);
    refused(
        &d,
        &save_archive(
            "bad:digest",
            &[l],
            Some(&format!("sha256:{}", "0".repeat(64))),
        ),
        "digest mismatch",
    );
    // Garbage, an empty stream, an archive without a manifest, a manifest naming a missing layer.
    refused(
        &d,
        b"this is not a tar archive at all, not even close......",
        "",
    );
    refused(&d, b"", "");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_cksum();
    b.append_data(&mut h, "hello.txt", &b"hi"[..]).unwrap();
    refused(
        &d,
        &b.into_inner().unwrap(),
        "neither manifest.json nor index.json",
    );
    let mut archive = save_archive(
        "bad:missing",
        &[layer(&[("a", T::Regular, "", b"a")])],
        None,
    );
    // Cut the archive to its config and manifest only.
    let mut ar = tar::Archive::new(&archive[..]);
    let mut b = tar::Builder::new(Vec::new());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        if !p.ends_with("layer.tar") {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            let mut h = e.header().clone();
            b.append_data(&mut h, &p, &data[..]).unwrap();
        }
    }
    archive = b.into_inner().unwrap();
    refused(&d, &archive, "missing member");
    // Still healthy.
    assert_eq!(tags(&d, &[]), set(&["busybox:latest"]));
    assert!(!Path::new("/tmp/berth-escape").exists());
}

/// The layer tars of a docker-save archive, bottom first.
fn layers_of(archive: &Path) -> Vec<Vec<u8>> {
    use std::io::Read;
    let mut files = std::collections::HashMap::new();
    let mut ar = tar::Archive::new(std::fs::File::open(archive).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        files.insert(name, data);
    }
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| files[l.as_str().unwrap()].clone())
        .collect()
}

#[test]
fn an_image_with_more_layers_than_one_mount_page_runs() {
    // 60 layers under this data root make an overlay option string well over mount(2)'s page;
    // each layer adds one file, and the top one replaces a file from below.
    let d = Daemon::start();
    let mut layers = layers_of(&common::test_image("busybox.tar"));
    for i in 0..60 {
        let body = format!("{i}\n");
        layers.push(layer(&[
            (
                &format!("layer{i}"),
                tar::EntryType::Regular,
                "",
                body.as_bytes(),
            ),
            ("which", tar::EntryType::Regular, "", body.as_bytes()),
        ]));
    }
    let lowerdirs: usize = layers.len()
        * d.data_root()
            .join("image/layers/sha256")
            .join("0".repeat(64))
            .join("diff:")
            .as_os_str()
            .len();
    assert!(
        lowerdirs > 4096,
        "the test needs a longer layer list ({lowerdirs} bytes)"
    );
    let archive = save_archive("deep:latest", &layers, None);
    d.docker_stdin(&["load"], Some(&archive));
    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "deep",
        "sh",
        "-c",
        "cat /which; ls / | grep -c '^layer'; cat /layer0",
    ]);
    assert_eq!(lines(&out), vec!["59", "60", "0"]);
}
