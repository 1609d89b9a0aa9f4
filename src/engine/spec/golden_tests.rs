//! Our spec against config.json files recorded from Debian's dockerd 20.10 (runc runtime,
//! cgroup v1), fed the same Config and HostConfig dockerd reported for each container. How they
//! were recorded and the deliberate differences: tests/golden-spec/README.md.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use std::collections::HashMap;

use super::*;

const BUSYBOX_PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const BUSYBOX_GROUP: &str = "root:x:0:\nnobody:x:65534:\n";
const ETC: &str = "<etc file>";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden-spec")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn busybox_rootfs() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let etc = d.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(etc.join("passwd"), BUSYBOX_PASSWD).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(etc.join("group"), BUSYBOX_GROUP).unwrap_or_else(|e| panic!("{e}"));
    d
}

/// dockerd 20.10's "all capabilities" (from the privileged golden), standing in for the daemon's.
fn dockerd_caps() -> Vec<String> {
    let g = read_json(&golden_dir().join("privileged.json"));
    g["process"]["capabilities"]["bounding"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Our spec for the container recorded as `name`, as JSON.
fn ours(name: &str, host_patch: impl FnOnce(&mut HostConfig)) -> Value {
    let input = read_json(&golden_dir().join("inputs").join(format!("{name}.json")));
    let config: ContainerConfig =
        serde_json::from_value(input["Config"].clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut host: HostConfig = serde_json::from_value(input["HostConfig"].clone())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    host_patch(&mut host);
    let rootfs = busybox_rootfs();
    let netns = Path::new("/run/berth/netns/test");
    let network = match host.network_mode.as_deref() {
        Some("host") => NetworkMode::Host,
        Some("none") => NetworkMode::None_(netns),
        _ => NetworkMode::Sandbox(netns),
    };
    let caps = dockerd_caps();
    let hostname = config.hostname.clone().unwrap_or_default();
    let spec = build(&SpecInput {
        id: "0123456789ab",
        config: &config,
        host: &host,
        rootfs: rootfs.path(),
        hostname: &hostname,
        network,
        etc_files: EtcFiles {
            hostname: Some(Path::new("/c/hostname")),
            hosts: Some(Path::new("/c/hosts")),
            resolv_conf: Some(Path::new("/c/resolv.conf")),
        },
        cgroups_path: "/berth/0123456789ab",
        daemon_caps: &caps,
        daemon_nofile_hard: 20000,
        cgroup_version: 1,
        init_path: Some(Path::new("/usr/bin/docker-init")),
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::to_value(&spec).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn golden(name: &str) -> Value {
    read_json(&golden_dir().join(format!("{name}.json")))
}

/// Removes what legitimately differs between runs and daemons (paths, ids), and folds both
/// sides into comparable shapes (capabilities are sets in oci-spec; mounts of equal depth may
/// come in either order).
fn normalize(mut v: Value) -> Value {
    if let Some(root) = v.get_mut("root").and_then(Value::as_object_mut) {
        root.remove("path");
    }
    if let Some(obj) = v.as_object_mut() {
        obj.remove("hooks");
    }
    let linux = &mut v["linux"];
    if let Some(l) = linux.as_object_mut() {
        l.remove("cgroupsPath");
        if l.contains_key("seccomp") {
            l.insert("seccomp".into(), json!("<profile>"));
        }
    }
    if let Some(nss) = linux["namespaces"].as_array_mut() {
        for ns in nss.iter_mut() {
            if let Some(ns) = ns.as_object_mut() {
                ns.remove("path");
            }
        }
    }
    let res = &mut linux["resources"];
    for (section, key) in [("cpu", "shares"), ("blockIO", "weight")] {
        if res[section][key] == json!(0)
            && let Some(s) = res[section].as_object_mut()
        {
            s.remove(key);
        }
    }
    if res["cpu"] == json!({})
        && let Some(r) = res.as_object_mut()
    {
        r.remove("cpu");
    }
    if let Some(caps) = v["process"]["capabilities"].as_object_mut() {
        for list in caps.values_mut() {
            if let Some(a) = list.as_array_mut() {
                a.sort_by_key(|c| c.as_str().map(str::to_string));
            }
        }
    }
    if let Some(mounts) = v["mounts"].as_array_mut() {
        for m in mounts.iter_mut() {
            let dest = m["destination"].as_str().unwrap_or("").to_string();
            if ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"].contains(&dest.as_str()) {
                m["source"] = json!(ETC);
            }
        }
        mounts.sort_by_key(|m| m["destination"].as_str().map(str::to_string));
    }
    v
}

/// Paths where the two values differ.
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                diff(&format!("{path}.{k}"), va, vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ if a != b => out.push(format!("{path}:\n   ours:   {a}\n   dockerd: {b}")),
        _ => {}
    }
}

fn assert_same(name: &str, ours: Value, golden: Value) {
    let mut out = Vec::new();
    diff("", &normalize(ours), &normalize(golden), &mut out);
    assert!(
        out.is_empty(),
        "{name} differs from dockerd:\n{}",
        out.join("\n")
    );
}

fn check(name: &str) {
    assert_same(name, ours(name, |_| {}), golden(name));
}

/// dockerd 20.10 left a non-root user's effective and permitted sets empty; current dockerd
/// (and we) fill them like root's.
fn with_full_caps_for_non_root(mut g: Value) -> Value {
    let bounding = g["process"]["capabilities"]["bounding"].clone();
    g["process"]["capabilities"]["effective"] = bounding.clone();
    g["process"]["capabilities"]["permitted"] = bounding;
    g
}

#[test]
fn default() {
    check("default");
}

#[test]
fn stop_signal_is_not_in_the_spec() {
    check("stop-signal");
    let mut out = Vec::new();
    diff(
        "",
        &normalize(golden("stop-signal")),
        &normalize(golden("default")),
        &mut out,
    );
    // Only the container's own hostname differs between the two recordings.
    assert!(
        out.iter()
            .all(|d| d.starts_with(".hostname") || d.starts_with(".process.env[1]")),
        "{out:?}"
    );
    assert_eq!(out.len(), 2);
}

#[test]
fn the_comparison_can_fail() {
    let mut out = Vec::new();
    diff(
        "",
        &normalize(ours("default", |_| {})),
        &normalize(golden("nnp")),
        &mut out,
    );
    assert!(
        out.iter()
            .any(|d| d.starts_with(".process.noNewPrivileges")),
        "{out:?}"
    );
    let mut out = Vec::new();
    diff(
        "",
        &normalize(ours("caps", |_| {})),
        &normalize(golden("default")),
        &mut out,
    );
    assert!(
        out.iter().any(|d| d.starts_with(".process.capabilities")),
        "{out:?}"
    );
}

/// A privileged container gets every device of the host it runs on, so the recorded list is
/// the recording host's. The rest of the spec is compared as usual; the devices are checked
/// against this host: each recorded device this host has too (same node) is in ours with the
/// same fields, and each of ours is a device node of this host.
#[test]
fn privileged() {
    let mut ours = ours("privileged", |_| {});
    let mut golden = golden("privileged");
    let take = |v: &mut Value| match v["linux"].as_object_mut() {
        Some(l) => l.remove("devices").unwrap_or(Value::Null),
        None => Value::Null,
    };
    let (our_devices, recorded) = (take(&mut ours), take(&mut golden));
    assert_same("privileged", ours, golden);
    let our_devices = our_devices.as_array().cloned().unwrap_or_default();
    assert!(
        !our_devices.is_empty(),
        "a privileged container gets the host's devices"
    );
    let node = |d: &Value| {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let path = d["path"].as_str()?;
        let meta = std::fs::metadata(path).ok()?;
        let typ = if meta.file_type().is_char_device() {
            "c"
        } else {
            "b"
        };
        let rdev = meta.rdev();
        let (major, minor) = (libc::major(rdev), libc::minor(rdev));
        Some((typ, u64::from(major), u64::from(minor)))
    };
    for d in &our_devices {
        let here = node(d);
        let claimed = (
            d["type"].as_str().unwrap_or(""),
            d["major"].as_u64().unwrap_or(0),
            d["minor"].as_u64().unwrap_or(0),
        );
        assert_eq!(here, Some(claimed), "{d} is not this host's device node");
    }
    let mut compared = 0;
    for r in recorded.as_array().into_iter().flatten() {
        let same_node_here = node(r).is_some_and(|(t, ma, mi)| {
            (Some(t), r["major"].as_u64(), r["minor"].as_u64())
                == (r["type"].as_str(), Some(ma), Some(mi))
        });
        if same_node_here {
            assert!(
                our_devices.contains(r),
                "recorded {r} is missing or differs"
            );
            compared += 1;
        }
    }
    // /dev/null, zero, full, random, urandom, tty are on every Linux host.
    assert!(compared >= 6, "only {compared} recorded devices exist here");
}

#[test]
fn readonly_with_tmpfs() {
    check("readonly-tmpfs");
}

#[test]
fn readonly_with_user_shm_and_readonly_tmpfs_mount() {
    check("readonly-user-tmpfs-shm");
}

#[test]
fn user_nobody() {
    let g = with_full_caps_for_non_root(golden("user-nobody"));
    assert_same("user-nobody", ours("user-nobody", |_| {}), g);
}

#[test]
fn user_uid_gid_and_group_add() {
    let g = with_full_caps_for_non_root(golden("user-uid-gid"));
    assert_same("user-uid-gid", ours("user-uid-gid", |_| {}), g);
}

#[test]
fn cap_add_and_drop() {
    check("caps");
}

#[test]
fn cap_drop_all() {
    check("caps-drop-all");
}

#[test]
fn cap_add_all() {
    check("caps-add-all");
}

#[test]
fn resources() {
    check("resources");
}

#[test]
fn memory_swap_cpu_period_quota() {
    check("memory-swap");
}

#[test]
fn ulimits() {
    check("ulimit");
}

#[test]
fn no_new_privileges() {
    check("nnp");
}

#[test]
fn seccomp_unconfined() {
    check("seccomp-unconfined");
    assert!(
        ours("seccomp-unconfined", |_| {})["linux"]
            .get("seccomp")
            .is_none()
    );
    assert!(ours("default", |_| {})["linux"].get("seccomp").is_some());
}

#[test]
fn network_none() {
    check("network-none");
    let n = ours("network-none", |_| {});
    assert_eq!(
        n["linux"]["namespaces"][1],
        json!({"type": "network", "path": "/run/berth/netns/test"})
    );
}

#[test]
fn network_host() {
    // dockerd 20.10 joins the host's namespace through a path; current dockerd and we leave the
    // network namespace out.
    let mut g = golden("network-host");
    if let Some(nss) = g["linux"]["namespaces"].as_array_mut() {
        nss.retain(|ns| ns["type"] != "network");
    }
    assert_same("network-host", ours("network-host", |_| {}), g);
}

#[test]
fn env_workdir_hostname_entrypoint() {
    check("env-workdir");
}

#[test]
fn tty() {
    check("tty");
}

#[test]
fn tty_console_size() {
    let s = ours("tty", |h| h.console_size = Some(vec![24, 80]));
    assert_eq!(
        s["process"]["consoleSize"],
        json!({"height": 24, "width": 80})
    );
    let s = ours("default", |h| h.console_size = Some(vec![24, 80]));
    assert!(
        s["process"].get("consoleSize").is_none(),
        "no tty, no console size"
    );
}

#[test]
fn binds_mounts_and_shm_size() {
    check("binds");
}

#[test]
fn sysctls_and_oom_score_adj() {
    check("sysctl-oom");
}

#[test]
fn devices_and_cgroup_rules() {
    check("devices");
}

#[test]
fn ipc_pid_uts_host() {
    check("ipc-host-pid-host");
}

#[test]
fn ipc_none() {
    check("ipc-none");
}

#[test]
fn ipc_shareable_is_private_here() {
    // dockerd bind-mounts a host-side /dev/shm so other containers can join it; we give the
    // container its own tmpfs, as for "private".
    let mut g = golden("ipc-shareable");
    let shm = golden("default")["mounts"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["destination"] == "/dev/shm").cloned())
        .unwrap_or_default();
    if let Some(mounts) = g["mounts"].as_array_mut() {
        for m in mounts.iter_mut() {
            if m["destination"] == "/dev/shm" {
                *m = shm.clone();
            }
        }
    }
    assert_same("ipc-shareable", ours("ipc-shareable", |_| {}), g);
}

#[test]
fn init() {
    check("init");
}

#[test]
fn cgroupns_private() {
    check("cgroupns-private");
}

#[test]
fn domainname() {
    check("annotations-domain");
}

#[test]
fn annotations() {
    let s = ours("default", |h| {
        h.annotations = Some(HashMap::from([(
            "com.example.a".to_string(),
            "b".to_string(),
        )]))
    });
    assert_eq!(s["annotations"], json!({"com.example.a": "b"}));
    assert!(ours("default", |_| {}).get("annotations").is_none());
}

#[test]
fn mounts_come_parents_first() {
    let s = ours("binds", |h| {
        h.binds = Some(vec!["/tmp:/a/b/c".into(), "/tmp:/a".into()]);
    });
    let dests: Vec<&str> = s["mounts"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["destination"].as_str()).collect())
        .unwrap_or_default();
    let pos = |d: &str| dests.iter().position(|x| *x == d).unwrap_or(usize::MAX);
    assert!(pos("/a") < pos("/a/b/c"), "{dests:?}");
    assert!(pos("/dev") < pos("/dev/shm"));
}

#[test]
fn every_golden_has_a_test_input() {
    let dir = golden_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut count = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".json") {
            assert!(
                dir.join("inputs").join(&name).exists(),
                "{stem} has no input"
            );
            count += 1;
        }
    }
    assert!(count >= 25, "only {count} goldens");
}
