//! cgroup v1 for real: this machine's hybrid layout under /sys/fs/cgroup (root only). Each test
//! makes /berth-test-<random> in every hierarchy and removes it, even on failure.

mod cgroups_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth::runtime::cgroups::{CgroupError, Manager};
use cgroups_support::{Scratch, read_file, read_some, read_until, serial, unique, wait_timeout};
use oci_spec::runtime::LinuxResources;

const ROOT: &str = "/sys/fs/cgroup";

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

fn scratch() -> (Scratch, String) {
    let name = unique("berth-test");
    (Scratch::new(Path::new(ROOT), &name), name)
}

fn dir(controller: &str, name: &str) -> PathBuf {
    Path::new(ROOT).join(controller).join(name)
}

fn knob(controller: &str, name: &str, file: &str) -> String {
    read_file(dir(controller, name).join(file))
        .trim()
        .to_string()
}

#[test]
fn detects_hybrid_v1_here() {
    let _serial = serial();
    let m = Manager::new(Path::new(ROOT), "", "abc").unwrap();
    assert_eq!(m.version(), 1);
    let dirs = m.dirs();
    assert!(
        dirs.contains(&PathBuf::from("/sys/fs/cgroup/memory/berth/abc")),
        "{dirs:?}"
    );
    assert!(
        dirs.contains(&PathBuf::from("/sys/fs/cgroup/unified/berth/abc")),
        "{dirs:?}"
    );
    // Nothing is created until asked.
    assert!(dirs.iter().all(|d| !d.exists()));
    let e = Manager::new(Path::new(ROOT), "system.slice:docker:abc", "abc").unwrap_err();
    assert!(matches!(e, CgroupError::SystemdPath { .. }), "{e}");
}

#[test]
fn limits_land_in_the_kernel_files() {
    let _serial = serial();
    let (s, name) = scratch();
    s.manager
        .apply(&resources(
            r#"{
              "memory": {"limit": 268435456, "reservation": 134217728, "swap": 536870912,
                         "swappiness": 10, "disableOOMKiller": true},
              "cpu": {"shares": 512, "quota": 150000, "period": 100000, "cpus": "1", "mems": "0"},
              "pids": {"limit": 100},
              "blockIO": {"throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}],
                          "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 100}]}
            }"#,
        ))
        .unwrap();
    assert_eq!(knob("memory", &name, "memory.limit_in_bytes"), "268435456");
    assert_eq!(
        knob("memory", &name, "memory.memsw.limit_in_bytes"),
        "536870912"
    );
    assert_eq!(
        knob("memory", &name, "memory.soft_limit_in_bytes"),
        "134217728"
    );
    assert_eq!(knob("memory", &name, "memory.swappiness"), "10");
    assert!(knob("memory", &name, "memory.oom_control").contains("oom_kill_disable 1"));
    assert_eq!(knob("cpu", &name, "cpu.shares"), "512");
    assert_eq!(knob("cpu", &name, "cpu.cfs_quota_us"), "150000");
    assert_eq!(knob("cpu", &name, "cpu.cfs_period_us"), "100000");
    assert_eq!(knob("cpuset", &name, "cpuset.cpus"), "1");
    assert_eq!(knob("cpuset", &name, "cpuset.mems"), "0");
    assert_eq!(knob("pids", &name, "pids.max"), "100");
    assert_eq!(
        knob("blkio", &name, "blkio.throttle.read_bps_device"),
        "254:0 1048576"
    );
    assert_eq!(
        knob("blkio", &name, "blkio.throttle.write_iops_device"),
        "254:0 100"
    );

    // docker update: grow memory past the old memory+swap (the write order must flip).
    s.manager
        .apply(&resources(
            r#"{"memory": {"limit": 1073741824, "swap": 2147483648}, "pids": {"limit": 0}}"#,
        ))
        .unwrap();
    assert_eq!(knob("memory", &name, "memory.limit_in_bytes"), "1073741824");
    assert_eq!(
        knob("memory", &name, "memory.memsw.limit_in_bytes"),
        "2147483648"
    );
    assert_eq!(knob("pids", &name, "pids.max"), "max");

    let stats = s.manager.stats().unwrap();
    assert_eq!(stats.memory.limit, 1_073_741_824);
    assert_eq!(stats.memory.swap_limit, Some(2_147_483_648));
    assert_eq!(stats.pids.limit, 0);
}

#[test]
fn blkio_weight_is_written_or_refused_clearly() {
    let _serial = serial();
    let (s, name) = scratch();
    let result = s
        .manager
        .apply(&resources(r#"{"blockIO": {"weight": 300}}"#));
    let blkio = dir("blkio", &name);
    if blkio.join("blkio.weight").exists() {
        result.unwrap();
        assert_eq!(knob("blkio", &name, "blkio.weight"), "300");
    } else if blkio.join("blkio.bfq.weight").exists() {
        result.unwrap();
        assert_eq!(knob("blkio", &name, "blkio.bfq.weight"), "300");
    } else {
        // This VM: no CFQ/BFQ scheduler, so no weight knob (dockerd drops --blkio-weight here).
        let e = result.unwrap_err();
        assert!(e.to_string().contains("blkio.bfq.weight"), "{e}");
    }
}

#[test]
fn process_joins_freezes_and_thaws() {
    let _serial = serial();
    let (mut s, name) = scratch();
    let i = s.spawn("read x; while :; do echo tick; sleep 0.05; done");
    let pid = s.pid(i);
    s.manager.add_task(pid).unwrap();
    assert_eq!(s.manager.pids().unwrap(), [pid]);
    // Every hierarchy, and the hybrid cgroup2 one.
    let membership = read_file(format!("/proc/{pid}/cgroup"));
    for line in membership.lines() {
        assert!(
            line.ends_with(&format!(":/{name}")),
            "{line} in\n{membership}"
        );
    }
    s.go(i);
    let out = s.children[i].stdout.as_mut().unwrap();
    assert!(read_until(out, "tick", Duration::from_secs(5)).contains("tick"));

    s.manager.freeze().unwrap();
    assert_eq!(knob("freezer", &name, "freezer.state"), "FROZEN");
    assert!(s.manager.is_frozen().unwrap());
    // Drain what was written before the freeze, then expect silence.
    let out = s.children[i].stdout.as_mut().unwrap();
    let _ = read_some(out, Duration::from_millis(100));
    assert!(
        read_some(out, Duration::from_millis(400)).is_empty(),
        "a frozen process kept writing"
    );

    s.manager.thaw().unwrap();
    assert!(!s.manager.is_frozen().unwrap());
    assert_eq!(knob("freezer", &name, "freezer.state"), "THAWED");
    let out = s.children[i].stdout.as_mut().unwrap();
    assert!(read_until(out, "tick", Duration::from_secs(5)).contains("tick"));

    let stats = s.manager.stats().unwrap();
    assert_eq!(stats.version, 1);
    assert!(stats.cpu.total_usage_ns > 0, "{stats:?}");
    assert_eq!(stats.cpu.percpu_usage_ns.len(), 2);
    assert!(stats.memory.usage > 0);
    assert!(stats.memory.stats.contains_key("total_rss"));
    assert!(stats.pids.current >= 1);
    assert_eq!(s.manager.oom_kill_count().unwrap(), 0);
}

#[test]
fn apply_before_add_task_and_sub_cgroups_are_destroyed() {
    let _serial = serial();
    let (mut s, name) = scratch();
    s.manager
        .apply(&resources(
            r#"{"cpu": {"cpus": "0"}, "pids": {"limit": 10}}"#,
        ))
        .unwrap();
    let i = s.spawn("read x");
    let pid = s.pid(i);
    s.manager.add_task(pid).unwrap();
    assert_eq!(knob("cpuset", &name, "cpuset.cpus"), "0");
    let status = read_file(format!("/proc/{pid}/status"));
    assert!(status.contains("Cpus_allowed_list:\t0\n"), "{status}");
    // A sub-cgroup (as a nested runtime would make) goes away with the container's.
    std::fs::create_dir(dir("memory", &name).join("nested")).unwrap();
    assert_eq!(s.manager.pids().unwrap(), [pid]);
}

#[test]
fn oom_kill_is_counted() {
    let _serial = serial();
    let (mut s, _name) = scratch();
    s.manager
        .apply(&resources(
            r#"{"memory": {"limit": 33554432, "swap": 33554432}}"#,
        ))
        .unwrap();
    // dd's 64MiB buffer is touched as /dev/zero fills it: far past the 32MiB limit.
    let i = s.spawn("read x; exec dd if=/dev/zero of=/dev/null bs=64M count=1");
    s.manager.add_task(s.pid(i)).unwrap();
    s.go(i);
    let status =
        wait_timeout(&mut s.children[i], Duration::from_secs(30)).expect("dd still running");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    assert!(s.manager.oom_kill_count().unwrap() >= 1);
    let stats = s.manager.stats().unwrap();
    assert!(stats.memory.events["oom_kill"] >= 1);
}

#[test]
fn memory_limit_below_usage_is_explained() {
    let _serial = serial();
    let (mut s, name) = scratch();
    // The shell holds 16MB of anonymous memory; with no swap the kernel cannot reclaim it.
    let i = s.spawn(
        "read x; big=$(head -c 16000000 /dev/zero | tr '\\0' a); echo held; read y; echo ${#big}",
    );
    s.manager.add_task(s.pid(i)).unwrap();
    s.go(i);
    let out = s.children[i].stdout.as_mut().unwrap();
    assert!(read_until(out, "held", Duration::from_secs(30)).contains("held"));
    let e = s
        .manager
        .apply(&resources(r#"{"memory": {"limit": 4194304}}"#))
        .unwrap_err();
    match &e {
        CgroupError::MemoryBelowUsage { usage, .. } => assert!(*usage > 4_194_304, "{e}"),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains(&name), "{e}");
}

#[test]
fn device_rules_are_enforced() {
    let _serial = serial();
    let (mut s, name) = scratch();
    s.manager
        .apply(&resources(
            r#"{"devices": [
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "w"}
            ]}"#,
        ))
        .unwrap();
    let list = knob("devices", &name, "devices.list");
    assert_eq!(list, "c 1:5 rwm\nc 1:3 w");
    let i = s.spawn(
        "read x; cat /dev/null; echo \"read-null=$?\"; echo hi > /dev/null; echo \"write-null=$?\"; head -c 3 /dev/zero | wc -c",
    );
    s.manager.add_task(s.pid(i)).unwrap();
    s.go(i);
    let out = s.children[i].stdout.as_mut().unwrap();
    let text = read_until(out, "\n3\n", Duration::from_secs(10));
    assert_eq!(text, "read-null=1\nwrite-null=0\n3\n");
    let mut err = String::new();
    let _ = wait_timeout(&mut s.children[i], Duration::from_secs(10));
    use std::io::Read;
    s.children[i]
        .stderr
        .as_mut()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("Operation not permitted"), "{err}");
    // The same policy again changes nothing (and never passes through "deny all").
    s.manager
        .apply(&resources(
            r#"{"devices": [
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "w"}
            ]}"#,
        ))
        .unwrap();
    assert_eq!(knob("devices", &name, "devices.list"), "c 1:5 rwm\nc 1:3 w");
}

/// The hybrid layout binds hugetlb to the cgroup2 mount; limits go there. Enabling hugetlb on
/// that mount's root is a host change, undone afterwards if it was off.
#[test]
fn hugepage_limits_use_the_hybrid_cgroup2_mount() {
    let _serial = serial();
    let unified = Path::new(ROOT).join("unified");
    let before = read_file(unified.join("cgroup.subtree_control"));
    {
        let (s, name) = scratch();
        s.manager
            .apply(&resources(
                r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"#,
            ))
            .unwrap();
        assert_eq!(
            read_file(unified.join(&name).join("hugetlb.2MB.max")).trim(),
            "4194304"
        );
    }
    if !before.contains("hugetlb") {
        std::fs::write(unified.join("cgroup.subtree_control"), "-hugetlb").unwrap();
    }
    assert_eq!(read_file(unified.join("cgroup.subtree_control")), before);
}

#[test]
fn destroy_of_a_missing_cgroup_is_fine() {
    let _serial = serial();
    let (s, _name) = scratch();
    s.manager.destroy().unwrap();
}
