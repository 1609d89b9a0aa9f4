//! cgroup v2 for real, on this machine's cgroup2 mount (/sys/fs/cgroup/unified, which holds only
//! the hugetlb controller): joining, freezing through cgroup.events, the eBPF device filter,
//! raw unified writes, destroy. Creating a cgroup there enables hugetlb on the mount's root;
//! each test puts the root's subtree_control back as it found it.

mod cgroups_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth::runtime::cgroups::CgroupError;
use cgroups_support::{Scratch, read_file, read_some, read_until, serial, unique, wait_timeout};
use oci_spec::runtime::LinuxResources;

const ROOT: &str = "/sys/fs/cgroup/unified";

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

/// Restores the mount root's cgroup.subtree_control on drop (after the Scratch is gone).
struct RootGuard(String);

impl Drop for RootGuard {
    fn drop(&mut self) {
        let file = Path::new(ROOT).join("cgroup.subtree_control");
        let now = std::fs::read_to_string(&file).unwrap_or_default();
        for c in now.split_whitespace() {
            if !self.0.split_whitespace().any(|b| b == c) {
                let _ = std::fs::write(&file, format!("-{c}"));
            }
        }
    }
}

fn scratch() -> (RootGuard, Scratch, PathBuf) {
    let guard = RootGuard(read_file(Path::new(ROOT).join("cgroup.subtree_control")));
    let name = unique("berth-test");
    let s = Scratch::new(Path::new(ROOT), &name);
    assert_eq!(s.manager.version(), 2);
    (guard, s, Path::new(ROOT).join(name))
}

#[test]
fn joins_freezes_on_cgroup_events_and_thaws() {
    let _serial = serial();
    let (_root, mut s, dir) = scratch();
    let i = s.spawn("read x; while :; do echo tick; sleep 0.05; done");
    let pid = s.pid(i);
    s.manager.add_task(pid).unwrap();
    assert_eq!(s.manager.pids().unwrap(), [pid]);
    let membership = read_file(format!("/proc/{pid}/cgroup"));
    assert!(membership.contains(&format!(
        "0::/{}\n",
        dir.file_name().unwrap().to_string_lossy()
    )));
    s.go(i);
    let out = s.children[i].stdout.as_mut().unwrap();
    assert!(read_until(out, "tick", Duration::from_secs(5)).contains("tick"));

    s.manager.freeze().unwrap();
    assert!(read_file(dir.join("cgroup.events")).contains("frozen 1"));
    assert!(s.manager.is_frozen().unwrap());
    let state = read_file(format!("/proc/{pid}/status"));
    // The freezer parks tasks in an interruptible or uninterruptible sleep, kernel timing decides.
    assert!(
        state.contains("State:\tS") || state.contains("State:\tD"),
        "frozen tasks sleep in the freezer: {state}"
    );
    let out = s.children[i].stdout.as_mut().unwrap();
    let _ = read_some(out, Duration::from_millis(100));
    assert!(
        read_some(out, Duration::from_millis(400)).is_empty(),
        "a frozen process kept writing"
    );

    s.manager.thaw().unwrap();
    assert!(!s.manager.is_frozen().unwrap());
    let out = s.children[i].stdout.as_mut().unwrap();
    assert!(read_until(out, "tick", Duration::from_secs(5)).contains("tick"));

    let stats = s.manager.stats().unwrap();
    assert_eq!(stats.version, 2);
    assert!(stats.cpu.total_usage_ns > 0, "{stats:?}");
    assert!(stats.cpu.raw.contains_key("usage_usec"));
    // No pids controller on this mount: counted from cgroup.procs (the shell, maybe a sleep).
    assert!((1..=2).contains(&stats.pids.current), "{stats:?}");
    assert_eq!(s.manager.oom_kill_count().unwrap(), 0);
}

#[test]
fn device_filter_is_enforced_and_replaced() {
    let _serial = serial();
    let (_root, mut s, _dir) = scratch();
    let deny_null = r#"{"devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "access": "m"},
        {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "w"}
    ]}"#;
    s.manager.apply(&resources(deny_null)).unwrap();
    let probe = "read x; cat /dev/null; echo \"read-null=$?\"; echo hi > /dev/null; echo \"write-null=$?\"; head -c 3 /dev/zero | wc -c; cat /dev/full | head -c 1 >/dev/zero; echo \"full=$?\"";
    let i = s.spawn(probe);
    s.manager.add_task(s.pid(i)).unwrap();
    s.go(i);
    let out = s.children[i].stdout.as_mut().unwrap();
    let text = read_until(out, "full=", Duration::from_secs(10));
    let text = text + &read_until(out, "\n", Duration::from_secs(2));
    assert_eq!(text, "read-null=1\nwrite-null=0\n3\nfull=0\n");
    // cat's failure on /dev/full shows up only on stderr (the pipeline reports head).
    let _ = wait_timeout(&mut s.children[i], Duration::from_secs(10));
    let mut err = String::new();
    use std::io::Read;
    s.children[i]
        .stderr
        .as_mut()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("/dev/null: Operation not permitted"), "{err}");
    assert!(err.contains("/dev/full: Operation not permitted"), "{err}");

    // An update replaces the program: if the old one stayed attached, /dev/null stayed denied.
    s.manager
        .apply(&resources(
            r#"{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]}"#,
        ))
        .unwrap();
    let j = s.spawn(
        "read x; cat /dev/null; echo \"read-null=$?\"; head -c 1 /dev/zero; echo \"zero=$?\"",
    );
    s.manager.add_task(s.pid(j)).unwrap();
    s.go(j);
    let out = s.children[j].stdout.as_mut().unwrap();
    let text = read_until(out, "zero=", Duration::from_secs(10));
    assert_eq!(text, "read-null=0\nzero=1\n");
}

#[test]
fn hugetlb_and_unified_writes() {
    let _serial = serial();
    let (_root, s, dir) = scratch();
    s.manager
        .apply(&resources(
            r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"#,
        ))
        .unwrap();
    assert_eq!(read_file(dir.join("hugetlb.2MB.max")).trim(), "4194304");
    s.manager
        .apply(&resources(r#"{"unified": {"hugetlb.2MB.max": "2097152"}}"#))
        .unwrap();
    assert_eq!(read_file(dir.join("hugetlb.2MB.max")).trim(), "2097152");
    // This mount has no memory controller: the error names it and the cgroup.
    let e = s
        .manager
        .apply(&resources(r#"{"memory": {"limit": 1048576}}"#))
        .unwrap_err();
    match &e {
        CgroupError::ControllerMissing {
            controller, path, ..
        } => {
            assert_eq!(controller, "memory");
            assert_eq!(path, &dir);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn destroy_waits_for_a_killed_task_to_leave() {
    let _serial = serial();
    let (_root, mut s, dir) = scratch();
    let i = s.spawn("read x");
    s.manager.add_task(s.pid(i)).unwrap();
    s.children[i].kill().unwrap();
    // Not reaped yet: the zombie may still be accounted; destroy waits on cgroup.events.
    s.manager.destroy().unwrap();
    assert!(!dir.exists());
    let _ = wait_timeout(&mut s.children[i], Duration::from_secs(10));
}
