//! `linux.sysctl` against berth-runtime and runc alike: only sysctls of a namespace the
//! container has of its own are set (runc's rule, with its messages); the rest, and keys that
//! try to leave /proc/sys, fail `create`, and the host's /proc/sys values never change.

mod runtime_support;

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use runtime_support::*;
use serde_json::{Value, json};

/// Host sysctls the tests try to reach; read first, checked after, and put back on drop should
/// a refusal ever fail (so a broken runtime cannot leave the host changed).
struct HostValues(Vec<(PathBuf, String)>);

const WATCHED: &[&str] = &[
    "vm/overcommit_ratio",
    "kernel/msgmax",
    "kernel/shmmax",
    "kernel/printk_ratelimit",
    "kernel/domainname",
    "net/ipv4/ip_forward",
    "fs/mqueue/msg_max",
    "user/max_user_namespaces",
];

impl HostValues {
    fn read() -> HostValues {
        HostValues(
            WATCHED
                .iter()
                .map(|k| PathBuf::from("/proc/sys").join(k))
                .filter_map(|p| Some((p.clone(), fs::read_to_string(&p).ok()?)))
                .collect(),
        )
    }

    /// The host's current value of `key` (slash form) plus one: what a refused write would set.
    fn bumped(&self, key: &str) -> String {
        let p = PathBuf::from("/proc/sys").join(key);
        let v = self
            .0
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, v)| v.trim().parse::<u64>().unwrap_or(0))
            .unwrap_or(0);
        (v + 1).to_string()
    }

    fn changed(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|(p, v)| fs::read_to_string(p).ok().as_ref() != Some(v))
            .map(|(p, v)| format!("{} (was {:?})", p.display(), v.trim()))
            .collect()
    }

    fn assert_unchanged(&self, what: &str) {
        let changed = self.changed();
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

fn set_namespaces(c: &mut Container, ns: Value) {
    c.config["linux"]["namespaces"] = ns;
}

/// The container's namespaces minus `drop` (by type).
fn without(c: &mut Container, drop: &str) {
    let ns: Vec<Value> = c.config["linux"]["namespaces"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n["type"] != drop)
        .collect();
    set_namespaces(c, json!(ns));
}

/// The runtimes log in logfmt (msg="... \"key\" ..."): undo its escaping of `"` and `\`.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => out.extend(chars.next()),
            ch => out.push(ch),
        }
    }
    out
}

/// `create` must fail; returns its stderr, unescaped. Nothing of the container may be left.
fn create_fails(c: Container, what: &str) -> String {
    let out = c.create_with(&[]);
    let err = unescape(&c.stderr());
    assert!(
        !out.status.success(),
        "[{}] {what}: create should have failed",
        c.rt.name
    );
    assert!(
        !c.state_root.path().join(&c.id).exists(),
        "[{}] {what}: state left behind after a refused create",
        c.rt.name
    );
    c.finish();
    err
}

/// A refused sysctl: create fails with `needle` in the message (runc's words) and the host is
/// untouched.
fn refused(rt: &Runtime, name: &str, setup: impl FnOnce(&mut Container), needle: &str) {
    let host = HostValues::read();
    let mut c = Container::new(rt, name);
    setup(&mut c);
    let err = create_fails(c, needle);
    assert!(
        err.contains(needle),
        "[{}] stderr should mention {needle:?}: {err}",
        rt.name
    );
    host.assert_unchanged(needle);
}

#[test]
fn namespaced_sysctls_are_set_in_the_container_only() {
    for rt in runtimes() {
        let host = HostValues::read();
        let mut c = Container::new(&rt, "sysok");
        c.config["linux"]["sysctl"] = json!({
            "net.ipv4.ip_forward": "1",
            "net/ipv4/conf/all/forwarding": "1",
            "kernel.shmmax": "12345678",
            "kernel.msgmax": "4321",
            "fs.mqueue.msg_max": "17",
            "kernel.domainname": "sysctl.test",
        });
        c.script(
            "cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/all/forwarding \
             /proc/sys/kernel/shmmax /proc/sys/kernel/msgmax /proc/sys/fs/mqueue/msg_max \
             /proc/sys/kernel/domainname",
        );
        let out = c.output_of_run();
        assert_eq!(
            out, "1\n1\n12345678\n4321\n17\nsysctl.test\n",
            "[{}]",
            rt.name
        );
        c.finish();
        host.assert_unchanged(rt.name);
    }
}

#[test]
fn host_wide_sysctls_are_refused() {
    for rt in runtimes() {
        for key in [
            "vm.overcommit_ratio",
            "vm/overcommit_ratio",
            "kernel.printk_ratelimit",
        ] {
            let value = HostValues::read().bumped(&key.replace('.', "/"));
            refused(
                &rt,
                "sysvm",
                |c| c.config["linux"]["sysctl"] = json!({ key: value }),
                &format!(
                    "sysctl \"{}\" is not in a separate kernel namespace",
                    key.replace('/', ".")
                ),
            );
        }
    }
}

#[test]
fn ipc_sysctls_need_a_private_ipc_namespace() {
    for rt in runtimes() {
        for key in ["kernel.msgmax", "kernel.shmmax", "fs.mqueue.msg_max"] {
            let value = HostValues::read().bumped(&key.replace('.', "/"));
            refused(
                &rt,
                "sysipc",
                |c| {
                    without(c, "ipc");
                    c.config["linux"]["sysctl"] = json!({ key: value });
                },
                &format!("sysctl \"{key}\" is not allowed in the hosts ipc namespace"),
            );
        }
    }
}

#[test]
fn net_sysctls_need_a_network_namespace_other_than_the_runtimes() {
    for rt in runtimes() {
        let needle = "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace";
        let value = HostValues::read().bumped("net/ipv4/ip_forward");
        let v = value.clone();
        refused(
            &rt,
            "sysnet",
            |c| {
                without(c, "network");
                c.config["linux"]["sysctl"] = json!({ "net.ipv4.ip_forward": v });
            },
            needle,
        );
        // Joining the runtime's own network namespace by path is joining the host's.
        refused(
            &rt,
            "sysnetpath",
            |c| {
                without(c, "network");
                c.config["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "network", "path": "/proc/self/ns/net"}));
                c.config["linux"]["sysctl"] = json!({ "net.ipv4.ip_forward": value });
            },
            needle,
        );
    }
}

/// Kills (and reaps) the helper process holding a network namespace, also on failure.
struct NetnsHolder(Child);

impl Drop for NetnsHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn net_sysctls_apply_in_a_joined_network_namespace() {
    let child = Command::new("unshare")
        .args(["--net", "sleep", "600"])
        .stdin(Stdio::null())
        .spawn()
        .expect("unshare --net");
    let holder = NetnsHolder(child);
    let path = format!("/proc/{}/ns/net", holder.0.id());
    // Wait (bounded, on the namespace identity) until unshare has switched namespaces.
    let own = fs::read_link("/proc/self/ns/net").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fs::read_link(&path).ok().as_ref() == Some(&own) {
        assert!(
            std::time::Instant::now() < deadline,
            "unshare did not unshare"
        );
        std::thread::yield_now();
    }
    for rt in runtimes() {
        let host = HostValues::read();
        let mut c = Container::new(&rt, "sysjoin");
        without(&mut c, "network");
        c.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "network", "path": path}));
        c.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        c.script("cat /proc/sys/net/ipv4/ip_forward");
        assert_eq!(c.output_of_run(), "1\n", "[{}]", rt.name);
        c.finish();
        host.assert_unchanged(rt.name);
    }
    drop(holder);
}

#[test]
fn uts_sysctls() {
    for rt in runtimes() {
        refused(
            &rt,
            "sysuts",
            |c| c.config["linux"]["sysctl"] = json!({"kernel.hostname": "other"}),
            "sysctl \"kernel.hostname\" is not allowed as it conflicts with the OCI \"hostname\" field",
        );
        refused(
            &rt,
            "sysutshost",
            |c| {
                without(c, "uts");
                // runc refuses a hostname without a UTS namespace before it looks at sysctls.
                c.config.as_object_mut().unwrap().remove("hostname");
                c.config["linux"]["sysctl"] = json!({"kernel.domainname": "leak.test"});
            },
            "sysctl \"kernel.domainname\" is not in a separate kernel namespace",
        );
    }
}

#[test]
fn user_sysctls_need_a_user_namespace() {
    for rt in runtimes() {
        let value = HostValues::read().bumped("user/max_user_namespaces");
        // runc 1.1 predates its ucounts message and calls it not namespaced; both name the key.
        refused(
            &rt,
            "sysuser",
            |c| c.config["linux"]["sysctl"] = json!({ "user.max_user_namespaces": value }),
            "user.max_user_namespaces",
        );
    }
}

#[test]
fn keys_that_leave_proc_sys_are_refused() {
    for rt in runtimes() {
        let value = HostValues::read().bumped("vm/overcommit_ratio");
        for key in [
            "net/../../vm/overcommit_ratio",
            "net/ipv4/../../vm/overcommit_ratio",
            "net.ipv4.ip_forward\u{0}",
            "net..ipv4",
        ] {
            let host = HostValues::read();
            let mut c = Container::new(&rt, "syskey");
            c.config["linux"]["sysctl"] = json!({ key: value });
            // runc passes some of these (they start with "net.") and fails at the write;
            // berth-runtime refuses the key itself. Neither may get to start the container.
            let err = create_fails(c, key);
            if rt.is_berth() {
                let named = format!("{key:?}");
                assert!(
                    err.contains(&named) && err.contains("is not a valid key"),
                    "[{}] {key:?}: {err}",
                    rt.name
                );
            }
            host.assert_unchanged(key);
        }
    }
}
