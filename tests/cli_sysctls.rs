//! `HostConfig.Sysctls` through a real berthd: sysctls that would not land in a namespace of
//! the container's own are refused at create with a 400 naming the key (the CLI refuses most of
//! them itself, so these go through raw HTTP); nothing is created and the host's /proc/sys is
//! untouched. Namespaced ones work end to end with `docker run --sysctl`.

mod common;

use std::fs;

use common::Daemon;
use serde_json::{Value, json};

fn daemon() -> Daemon {
    let d = Daemon::start();
    d.load("busybox.tar");
    d
}

const WATCHED: &[&str] = &[
    "vm/overcommit_ratio",
    "kernel/msgmax",
    "kernel/shmmax",
    "kernel/printk_ratelimit",
    "kernel/domainname",
    "net/ipv4/ip_forward",
];

/// The host's values, checked after; restored on drop should a refusal ever fail.
struct HostValues(Vec<(String, String)>);

impl HostValues {
    fn read() -> HostValues {
        HostValues(
            WATCHED
                .iter()
                .filter_map(|k| {
                    let p = format!("/proc/sys/{k}");
                    Some((p.clone(), fs::read_to_string(&p).ok()?))
                })
                .collect(),
        )
    }

    /// The current value of `key` plus one (numeric keys): what a leaked write would set.
    fn bumped(key: &str) -> String {
        let v = fs::read_to_string(format!("/proc/sys/{key}")).unwrap_or_default();
        (v.trim().parse::<u64>().unwrap_or(0) + 1).to_string()
    }

    fn assert_unchanged(&self, what: &str) {
        let changed: Vec<&String> = self
            .0
            .iter()
            .filter(|(p, v)| fs::read_to_string(p).ok().as_ref() != Some(v))
            .map(|(p, _)| p)
            .collect();
        assert!(
            changed.is_empty(),
            "{what}: host sysctls changed: {changed:?}"
        );
    }
}

impl Drop for HostValues {
    fn drop(&mut self) {
        for (p, v) in &self.0 {
            if fs::read_to_string(p).ok().as_ref() != Some(v) {
                let _ = fs::write(p, v.trim());
            }
        }
    }
}

fn create(d: &Daemon, host_config: Value) -> (u16, String) {
    let body = json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": host_config});
    let body = serde_json::to_vec(&body).unwrap();
    let r = d.http(
        "POST",
        "/v1.47/containers/create",
        Some(("application/json", &body)),
    );
    let msg = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| r.text());
    (r.status, msg)
}

#[test]
fn sysctls_outside_the_containers_namespaces_are_refused_with_400() {
    let d = daemon();
    let host = HostValues::read();
    let ratio = HostValues::bumped("vm/overcommit_ratio");
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"Sysctls": {"vm.overcommit_ratio": ratio}}),
            "vm.overcommit_ratio",
            "is not in a separate kernel namespace",
        ),
        (
            json!({"Sysctls": {"kernel.printk_ratelimit": HostValues::bumped("kernel/printk_ratelimit")}}),
            "kernel.printk_ratelimit",
            "is not in a separate kernel namespace",
        ),
        (
            json!({"Sysctls": {"kernel.hostname": "other"}}),
            "kernel.hostname",
            "conflicts with the OCI \"hostname\" field",
        ),
        (
            json!({"NetworkMode": "host", "Sysctls": {"net.ipv4.ip_forward": HostValues::bumped("net/ipv4/ip_forward")}}),
            "net.ipv4.ip_forward",
            "not allowed in host network namespace",
        ),
        (
            json!({"NetworkMode": "host", "Sysctls": {"net/ipv4/ip_forward": "1"}}),
            "net.ipv4.ip_forward",
            "not allowed in host network namespace",
        ),
        (
            json!({"IpcMode": "host", "Sysctls": {"kernel.shmmax": HostValues::bumped("kernel/shmmax")}}),
            "kernel.shmmax",
            "is not allowed in the hosts ipc namespace",
        ),
        (
            json!({"IpcMode": "host", "Sysctls": {"kernel.msgmax": HostValues::bumped("kernel/msgmax")}}),
            "kernel.msgmax",
            "is not allowed in the hosts ipc namespace",
        ),
        (
            json!({"UTSMode": "host", "Sysctls": {"kernel.domainname": "leak.test"}}),
            "kernel.domainname",
            "is not in a separate kernel namespace",
        ),
        (
            json!({"Sysctls": {"net/../../vm/overcommit_ratio": ratio}}),
            "net/../../vm/overcommit_ratio",
            "is not a valid key",
        ),
        (
            json!({"Sysctls": {"net.ipv4..ip_forward": "1"}}),
            "net.ipv4..ip_forward",
            "is not a valid key",
        ),
        (
            json!({"Sysctls": {"net.ipv4.ip_forward\u{0}": "1"}}),
            "net.ipv4.ip_forward\\0",
            "is not a valid key",
        ),
    ];
    for (hc, key, reason) in cases {
        let (status, msg) = create(&d, hc.clone());
        assert_eq!(status, 400, "{hc}: {msg}");
        assert!(
            msg.starts_with("invalid sysctl: ") && msg.contains(key) && msg.contains(reason),
            "{hc}: message should name {key:?} and say {reason:?}: {msg}"
        );
        host.assert_unchanged(key);
    }
    assert_eq!(d.ok(&["ps", "-aq"]), "", "no container may be created");
}

#[test]
fn namespaced_sysctls_work_end_to_end() {
    let d = daemon();
    let host = HostValues::read();
    let out = d.ok(&[
        "run",
        "--rm",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "busybox",
        "cat",
        "/proc/sys/net/ipv4/ip_forward",
    ]);
    assert_eq!(out, "1\n");
    let out = d.ok(&[
        "run",
        "--rm",
        "--sysctl",
        "kernel.shmmax=12345678",
        "--sysctl",
        "kernel.msgmax=4321",
        "busybox",
        "cat",
        "/proc/sys/kernel/shmmax",
        "/proc/sys/kernel/msgmax",
    ]);
    assert_eq!(out, "12345678\n4321\n");
    host.assert_unchanged("docker run --sysctl");
    assert_eq!(d.ok(&["ps", "-aq"]), "");
}
