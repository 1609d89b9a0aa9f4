//! cgroup v1 against tempdirs shaped like one mount per controller.

use std::path::PathBuf;

use tempfile::TempDir;

use super::fixture::{DOCKER_LIKE, clear_journal, files, read, resources, take_journal, writes};
use crate::runtime::cgroups::detect::{Hierarchy, Layout};
use crate::runtime::cgroups::{CgroupError, Manager};

const REL: &str = "berth/abc";

fn leaf_files(controller: &str) -> Vec<(&'static str, &'static str)> {
    let mut f = vec![("cgroup.procs", ""), ("tasks", "")];
    f.extend(match controller {
        "cpu" => vec![
            ("cpu.shares", "1024\n"),
            ("cpu.cfs_period_us", "100000\n"),
            ("cpu.cfs_quota_us", "-1\n"),
            ("cpu.cfs_burst_us", "0\n"),
            ("cpu.rt_period_us", "1000000\n"),
            ("cpu.rt_runtime_us", "0\n"),
            ("cpu.idle", "0\n"),
        ],
        "cpuset" => vec![("cpuset.cpus", "\n"), ("cpuset.mems", "\n")],
        "memory" => vec![
            ("memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory.memsw.limit_in_bytes", "9223372036854771712\n"),
            ("memory.soft_limit_in_bytes", "9223372036854771712\n"),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
            ),
            ("memory.swappiness", "60\n"),
        ],
        "devices" => vec![
            ("devices.allow", ""),
            ("devices.deny", ""),
            ("devices.list", "a *:* rwm\n"),
        ],
        "freezer" => vec![
            ("freezer.state", "THAWED\n"),
            ("freezer.self_freezing", "0\n"),
        ],
        "blkio" => vec![
            ("blkio.weight", "500\n"),
            ("blkio.weight_device", ""),
            ("blkio.throttle.read_bps_device", ""),
            ("blkio.throttle.write_bps_device", ""),
            ("blkio.throttle.read_iops_device", ""),
            ("blkio.throttle.write_iops_device", ""),
        ],
        "pids" => vec![("pids.max", "max\n")],
        "hugetlb" => vec![
            ("hugetlb.2MB.limit_in_bytes", "9223372036854771712\n"),
            ("hugetlb.2MB.rsvd.limit_in_bytes", "9223372036854771712\n"),
        ],
        _ => vec![],
    });
    f
}

const ALL: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "hugetlb",
    "name=systemd",
];

/// One directory per hierarchy under a tempdir, with /berth and /berth/abc populated.
fn fixture_with(controllers: &[&str], unified: bool) -> (TempDir, Manager) {
    let tmp = tempfile::tempdir().unwrap();
    let mut hierarchies = Vec::new();
    for c in controllers {
        let mount = tmp.path().join(c.trim_start_matches("name="));
        files(&mount, &[("cgroup.procs", "")]);
        files(&mount.join("berth"), &[("cgroup.procs", "")]);
        files(&mount.join(REL), &leaf_files(c));
        if *c == "cpuset" {
            files(&mount, &[("cpuset.cpus", "0-1\n"), ("cpuset.mems", "0\n")]);
            files(
                &mount.join("berth"),
                &[("cpuset.cpus", "\n"), ("cpuset.mems", "\n")],
            );
        }
        hierarchies.push(Hierarchy {
            mount,
            controllers: vec![c.to_string()],
        });
    }
    let unified = unified.then(|| {
        let u = tmp.path().join("unified");
        let level = [
            ("cgroup.controllers", "hugetlb\n"),
            ("cgroup.subtree_control", ""),
            ("cgroup.procs", ""),
        ];
        files(&u, &level);
        files(&u.join("berth"), &level);
        files(
            &u.join(REL),
            &[
                ("cgroup.procs", ""),
                ("hugetlb.2MB.max", "max\n"),
                ("hugetlb.1GB.max", "max\n"),
            ],
        );
        u
    });
    let layout = Layout::Legacy {
        hierarchies,
        unified,
    };
    let m = Manager::with_layout(tmp.path(), layout, PathBuf::from(REL));
    clear_journal();
    (tmp, m)
}

fn fixture() -> (TempDir, Manager) {
    fixture_with(ALL, false)
}

fn leaf(tmp: &TempDir, controller: &str) -> PathBuf {
    tmp.path().join(controller).join(REL)
}

#[test]
fn docker_like_resources_write_exactly_these_files() {
    let (tmp, m) = fixture();
    assert_eq!(m.version(), 1);
    m.apply(&resources(DOCKER_LIKE)).unwrap();
    assert_eq!(
        take_journal(tmp.path()),
        writes(&[
            // A new cpuset is empty and refuses tasks: filled from its parent, top down.
            ("cpuset/berth/cpuset.cpus", "0-1"),
            ("cpuset/berth/cpuset.mems", "0"),
            ("cpuset/berth/abc/cpuset.cpus", "0-1"),
            ("cpuset/berth/abc/cpuset.mems", "0"),
            ("cpuset/berth/abc/cpuset.cpus", "0"),
            ("cpuset/berth/abc/cpuset.mems", "0"),
            ("devices/berth/abc/devices.deny", "a *:* rwm"),
            ("devices/berth/abc/devices.allow", "c *:* m"),
            ("devices/berth/abc/devices.allow", "b *:* m"),
            ("devices/berth/abc/devices.allow", "c 1:3 rwm"),
            ("devices/berth/abc/devices.allow", "c 1:5 rwm"),
            ("devices/berth/abc/devices.allow", "c 1:7 rwm"),
            ("devices/berth/abc/devices.allow", "c 1:8 rwm"),
            ("devices/berth/abc/devices.allow", "c 1:9 rwm"),
            ("devices/berth/abc/devices.allow", "c 5:0 rwm"),
            ("devices/berth/abc/devices.allow", "c 5:1 rwm"),
            ("devices/berth/abc/devices.allow", "c 5:2 rwm"),
            ("devices/berth/abc/devices.allow", "c 136:* rwm"),
            ("devices/berth/abc/devices.allow", "c 10:200 rwm"),
            // Shrinking from "unlimited": memory first, then memory+swap.
            ("memory/berth/abc/memory.limit_in_bytes", "268435456"),
            ("memory/berth/abc/memory.memsw.limit_in_bytes", "536870912"),
            ("memory/berth/abc/memory.soft_limit_in_bytes", "134217728"),
            ("memory/berth/abc/memory.oom_control", "1"),
            ("memory/berth/abc/memory.swappiness", "10"),
            ("cpu/berth/abc/cpu.shares", "512"),
            ("cpu/berth/abc/cpu.cfs_period_us", "100000"),
            ("cpu/berth/abc/cpu.cfs_quota_us", "150000"),
            ("pids/berth/abc/pids.max", "100"),
            ("blkio/berth/abc/blkio.weight", "300"),
            (
                "blkio/berth/abc/blkio.throttle.read_bps_device",
                "254:0 1048576"
            ),
            (
                "blkio/berth/abc/blkio.throttle.write_iops_device",
                "254:0 100"
            ),
            ("hugetlb/berth/abc/hugetlb.2MB.limit_in_bytes", "1073741824"),
            (
                "hugetlb/berth/abc/hugetlb.2MB.rsvd.limit_in_bytes",
                "1073741824"
            ),
        ])
    );
}

#[test]
fn add_task_joins_every_hierarchy_and_the_hybrid_v2_one() {
    let (tmp, m) = fixture_with(&["memory", "pids", "name=systemd"], true);
    m.add_task(4242).unwrap();
    assert_eq!(
        take_journal(tmp.path()),
        writes(&[
            ("memory/berth/abc/cgroup.procs", "4242"),
            ("pids/berth/abc/cgroup.procs", "4242"),
            ("systemd/berth/abc/cgroup.procs", "4242"),
            ("unified/berth/abc/cgroup.procs", "4242"),
        ])
    );
    assert_eq!(
        m.dirs(),
        ["memory", "pids", "systemd", "unified"].map(|c| tmp.path().join(c).join(REL))
    );
}

#[test]
fn memory_and_swap_write_order_follows_growth() {
    let (tmp, m) = fixture();
    let dir = leaf(&tmp, "memory");
    std::fs::write(dir.join("memory.limit_in_bytes"), "268435456\n").unwrap();
    m.apply(&resources(
        r#"{"memory": {"limit": 1073741824, "swap": 2147483648}}"#,
    ))
    .unwrap();
    // Growing: memory+swap first, or the kernel would see memory > memsw.
    assert_eq!(
        take_journal(tmp.path())[4..],
        writes(&[
            ("memory/berth/abc/memory.memsw.limit_in_bytes", "2147483648"),
            ("memory/berth/abc/memory.limit_in_bytes", "1073741824"),
        ])
    );
    m.apply(&resources(r#"{"memory": {"limit": -1}}"#)).unwrap();
    assert_eq!(
        take_journal(tmp.path())[..],
        writes(&[
            ("memory/berth/abc/memory.memsw.limit_in_bytes", "-1"),
            ("memory/berth/abc/memory.limit_in_bytes", "-1"),
        ])
    );
    let e = m
        .apply(&resources(r#"{"memory": {"swappiness": 101}}"#))
        .unwrap_err();
    assert!(e.to_string().contains("101"), "{e}");
    // Kernel memory alone asks for nothing.
    clear_journal();
    m.apply(&resources(
        r#"{"memory": {"kernel": 1000, "kernelTCP": 1000}}"#,
    ))
    .unwrap();
    assert_eq!(take_journal(tmp.path()).len(), 0);
}

#[test]
fn blkio_weight_falls_back_to_bfq_or_fails_clearly() {
    let (tmp, m) = fixture();
    let dir = leaf(&tmp, "blkio");
    std::fs::remove_file(dir.join("blkio.weight")).unwrap();
    std::fs::remove_file(dir.join("blkio.weight_device")).unwrap();
    let e = m
        .apply(&resources(r#"{"blockIO": {"weight": 300}}"#))
        .unwrap_err();
    assert!(e.to_string().contains("blkio.bfq.weight"), "{e}");
    // Throttles do not need a weight-capable scheduler.
    m.apply(&resources(
        r#"{"blockIO": {"throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 10}]}}"#,
    ))
    .unwrap();
    assert_eq!(read(&dir.join("blkio.throttle.write_bps_device")), "8:0 10");
    files(
        &dir,
        &[
            ("blkio.bfq.weight", "100\n"),
            ("blkio.bfq.weight_device", ""),
        ],
    );
    m.apply(&resources(
        r#"{"blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 700}]}}"#,
    ))
    .unwrap();
    assert_eq!(read(&dir.join("blkio.bfq.weight")), "300");
    assert_eq!(read(&dir.join("blkio.bfq.weight_device")), "8:0 700");
}

#[test]
fn cpu_realtime_and_cpuset_without_cpus() {
    let (tmp, m) = fixture();
    m.apply(&resources(
        r#"{"cpu": {"realtimePeriod": 500000, "realtimeRuntime": 100000, "burst": 2000, "idle": 0}}"#,
    ))
    .unwrap();
    assert_eq!(
        take_journal(tmp.path())[4..],
        writes(&[
            ("cpu/berth/abc/cpu.cfs_burst_us", "2000"),
            ("cpu/berth/abc/cpu.idle", "0"),
            ("cpu/berth/abc/cpu.rt_period_us", "500000"),
            ("cpu/berth/abc/cpu.rt_runtime_us", "100000"),
        ])
    );
}

#[test]
fn missing_controllers_are_named() {
    let (_tmp, m) = fixture_with(&["memory", "devices", "freezer"], false);
    let e = m
        .apply(&resources(r#"{"pids": {"limit": 5}}"#))
        .unwrap_err();
    match &e {
        CgroupError::ControllerMissing { controller, .. } => assert_eq!(controller, "pids"),
        other => panic!("{other}"),
    }
    // Hugepage limits with hugetlb neither on v1 nor on a cgroup2 mount.
    let e = m
        .apply(&resources(
            r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}"#,
        ))
        .unwrap_err();
    assert!(e.to_string().contains("hugetlb"), "{e}");
    let e = m
        .apply(&resources(r#"{"unified": {"memory.high": "1"}}"#))
        .unwrap_err();
    assert!(e.to_string().contains("cgroup v2"), "{e}");
    // Empty sections ask for nothing.
    m.apply(&resources(
        r#"{"cpu": {}, "blockIO": {}, "hugepageLimits": []}"#,
    ))
    .unwrap();
}

#[test]
fn hugetlb_on_the_hybrid_cgroup2_mount() {
    let (tmp, m) = fixture_with(&["memory", "pids"], true);
    m.apply(&resources(r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}, {"pageSize": "1GB", "limit": -1}]}"#))
        .unwrap();
    assert_eq!(
        take_journal(tmp.path()),
        writes(&[
            ("unified/cgroup.subtree_control", "+hugetlb"),
            ("unified/berth/cgroup.subtree_control", "+hugetlb"),
            ("unified/berth/abc/hugetlb.2MB.max", "4194304"),
            ("unified/berth/abc/hugetlb.1GB.max", "max"),
        ])
    );
}

#[test]
fn same_device_policy_again_writes_nothing() {
    let (tmp, m) = fixture();
    let r = resources(
        r#"{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}, {"allow": true, "type": "c", "access": "m"}]}"#,
    );
    std::fs::write(
        leaf(&tmp, "devices").join("devices.list"),
        "c *:* m\nc 1:3 rw\n",
    )
    .unwrap();
    m.apply(&r).unwrap();
    assert_eq!(
        take_journal(tmp.path()).len(),
        4,
        "only the cpuset initialisation"
    );
    std::fs::write(leaf(&tmp, "devices").join("devices.list"), "c 1:3 rw\n").unwrap();
    m.apply(&r).unwrap();
    assert_eq!(take_journal(tmp.path()).len(), 3);
}

#[test]
fn freezer_state_and_self_freezing() {
    let (tmp, m) = fixture();
    let dir = leaf(&tmp, "freezer");
    m.freeze().unwrap();
    assert_eq!(read(&dir.join("freezer.state")), "FROZEN");
    // self_freezing (kernel-maintained) decides, not the state an ancestor may have caused.
    assert!(!m.is_frozen().unwrap());
    std::fs::write(dir.join("freezer.self_freezing"), "1\n").unwrap();
    assert!(m.is_frozen().unwrap());
    m.thaw().unwrap();
    assert_eq!(read(&dir.join("freezer.state")), "THAWED");
    std::fs::remove_file(dir.join("freezer.self_freezing")).unwrap();
    assert!(!m.is_frozen().unwrap());
    let (_t, no_freezer) = fixture_with(&["memory"], false);
    assert!(
        no_freezer
            .freeze()
            .unwrap_err()
            .to_string()
            .contains("freezer")
    );
    assert!(!no_freezer.is_frozen().unwrap());
}

#[test]
fn pids_and_oom_kill_count() {
    let (tmp, m) = fixture();
    files(&leaf(&tmp, "devices"), &[("cgroup.procs", "100\n101\n")]);
    files(
        &leaf(&tmp, "devices").join("sub"),
        &[("cgroup.procs", "102\n")],
    );
    assert_eq!(m.pids().unwrap(), [100, 101, 102]);
    files(
        &leaf(&tmp, "memory"),
        &[(
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
        )],
    );
    assert_eq!(m.oom_kill_count().unwrap(), 4);
}

#[test]
fn stats_from_fixture_files() {
    let (tmp, m) = fixture();
    files(
        &leaf(&tmp, "cpuacct"),
        &[
            ("cpuacct.usage", "123456789\n"),
            ("cpuacct.usage_percpu", "100000000 23456789 \n"),
            ("cpuacct.stat", "user 7\nsystem 3\n"),
        ],
    );
    files(
        &leaf(&tmp, "cpu"),
        &[(
            "cpu.stat",
            "nr_periods 20\nnr_throttled 5\nthrottled_time 999\nnr_bursts 0\nburst_time 0\n",
        )],
    );
    files(
        &leaf(&tmp, "memory"),
        &[
            ("memory.usage_in_bytes", "4194304\n"),
            ("memory.max_usage_in_bytes", "8388608\n"),
            ("memory.limit_in_bytes", "268435456\n"),
            ("memory.failcnt", "2\n"),
            ("memory.memsw.usage_in_bytes", "4194304\n"),
            (
                "memory.stat",
                "cache 4096\nrss 8192\ntotal_inactive_file 4096\n",
            ),
        ],
    );
    files(
        &leaf(&tmp, "pids"),
        &[("pids.current", "2\n"), ("pids.max", "100\n")],
    );
    files(
        &leaf(&tmp, "blkio"),
        &[
            ("blkio.bfq.io_service_bytes_recursive", "Total 0\n"),
            (
                "blkio.throttle.io_service_bytes_recursive",
                "254:0 Read 4096\n254:0 Write 8192\n254:0 Sync 0\n254:0 Async 12288\n254:0 Discard 0\n254:0 Total 12288\nTotal 12288\n",
            ),
            (
                "blkio.throttle.io_serviced_recursive",
                "254:0 Read 1\n254:0 Write 2\nTotal 3\n",
            ),
        ],
    );
    let s = m.stats().unwrap();
    assert_eq!(s.version, 1);
    assert_eq!(s.cpu.total_usage_ns, 123_456_789);
    assert_eq!(s.cpu.percpu_usage_ns, [100_000_000, 23_456_789]);
    assert_eq!(s.cpu.user_ns, 70_000_000);
    assert_eq!(s.cpu.system_ns, 30_000_000);
    assert_eq!(s.cpu.throttling.periods, 20);
    assert_eq!(s.cpu.throttling.throttled_periods, 5);
    assert_eq!(s.cpu.throttling.throttled_time_ns, 999);
    assert_eq!(s.memory.usage, 4_194_304);
    assert_eq!(s.memory.max_usage, Some(8_388_608));
    assert_eq!(s.memory.limit, 268_435_456);
    assert_eq!(s.memory.failcnt, Some(2));
    assert_eq!(s.memory.swap_usage, Some(4_194_304));
    assert_eq!(s.memory.stats["rss"], 8192);
    assert_eq!(s.memory.events["oom_kill"], 0);
    assert_eq!((s.pids.current, s.pids.limit), (2, 100));
    let ops: Vec<_> = s
        .blkio
        .io_service_bytes_recursive
        .iter()
        .map(|e| format!("{}:{} {} {}", e.major, e.minor, e.op, e.value))
        .collect();
    assert_eq!(
        ops,
        [
            "254:0 Read 4096",
            "254:0 Write 8192",
            "254:0 Sync 0",
            "254:0 Async 12288",
            "254:0 Discard 0",
            "254:0 Total 12288"
        ]
    );
    assert_eq!(s.blkio.io_serviced_recursive.len(), 2);
}

#[test]
fn stats_with_garbage_name_the_file() {
    let (tmp, m) = fixture();
    files(
        &leaf(&tmp, "memory"),
        &[("memory.usage_in_bytes", "lots\n")],
    );
    let e = m.stats().unwrap_err();
    assert!(e.to_string().contains("memory.usage_in_bytes"), "{e}");
}
