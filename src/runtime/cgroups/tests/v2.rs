//! cgroup v2 against a tempdir shaped like a unified cgroupfs.

use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

use super::fixture::{DOCKER_LIKE, clear_journal, files, read, resources, take_journal, writes};
use crate::runtime::cgroups::detect::Layout;
use crate::runtime::cgroups::{CgroupError, Manager};

const CONTROLLERS: &str = "cpuset cpu io memory hugetlb pids rdma misc\n";

/// A unified root with /berth and the leaf /berth/abc, as the kernel would populate them.
fn fixture() -> (TempDir, Manager, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let level = [
        ("cgroup.controllers", CONTROLLERS),
        ("cgroup.subtree_control", ""),
        ("cgroup.procs", ""),
    ];
    files(&root, &level);
    files(&root.join("berth"), &level);
    let leaf = root.join("berth/abc");
    files(
        &leaf,
        &[
            ("cgroup.controllers", CONTROLLERS),
            ("cgroup.subtree_control", ""),
            ("cgroup.procs", ""),
            ("cgroup.freeze", "0\n"),
            ("cgroup.events", "populated 0\nfrozen 0\n"),
            ("memory.max", "max\n"),
            ("memory.low", "0\n"),
            ("memory.high", "max\n"),
            ("memory.swap.max", "max\n"),
            ("cpu.max", "max 100000\n"),
            ("cpu.weight", "100\n"),
            ("cpu.max.burst", "0\n"),
            ("cpu.idle", "0\n"),
            ("io.weight", "default 100\n"),
            ("io.max", ""),
            ("pids.max", "max\n"),
            ("cpuset.cpus", ""),
            ("cpuset.mems", ""),
            ("hugetlb.2MB.max", "max\n"),
            ("hugetlb.2MB.rsvd.max", "max\n"),
        ],
    );
    let m = Manager::with_layout(&root, Layout::Unified, PathBuf::from("berth/abc"));
    clear_journal();
    (tmp, m, leaf)
}

#[test]
fn docker_like_resources_write_exactly_these_files() {
    let (tmp, m, _) = fixture();
    let mut r = resources(DOCKER_LIKE);
    // Device rules become an eBPF program, which a tempdir cannot take (see the real test).
    r.set_devices(None);
    m.apply(&r).unwrap();
    let all = "+cpu +cpuset +hugetlb +io +memory +misc +pids +rdma";
    assert_eq!(
        take_journal(tmp.path()),
        writes(&[
            ("cgroup.subtree_control", all),
            ("berth/cgroup.subtree_control", all),
            ("berth/abc/pids.max", "100"),
            // 512MiB memory+swap - 256MiB memory = 256MiB of swap.
            ("berth/abc/memory.swap.max", "268435456"),
            ("berth/abc/memory.max", "268435456"),
            ("berth/abc/memory.low", "134217728"),
            // 1 + (300 - 10) * 9999 / 990
            ("berth/abc/io.weight", "2930"),
            ("berth/abc/io.max", "254:0 rbps=1048576"),
            ("berth/abc/io.max", "254:0 wiops=100"),
            // 1 + ((512 - 2) * 9999) / 262142
            ("berth/abc/cpu.weight", "20"),
            ("berth/abc/cpu.max", "150000 100000"),
            ("berth/abc/cpuset.cpus", "0"),
            ("berth/abc/cpuset.mems", "0"),
            ("berth/abc/hugetlb.2MB.max", "1073741824"),
            ("berth/abc/hugetlb.2MB.rsvd.max", "1073741824"),
        ])
    );
}

#[test]
fn controllers_already_enabled_are_not_rewritten() {
    let (tmp, m, _) = fixture();
    std::fs::write(tmp.path().join("cgroup.subtree_control"), "cpu memory\n").unwrap();
    std::fs::write(
        tmp.path().join("berth/cgroup.subtree_control"),
        "cpuset cpu io memory hugetlb pids rdma misc\n",
    )
    .unwrap();
    m.add_task(4242).unwrap();
    assert_eq!(
        take_journal(tmp.path()),
        writes(&[
            (
                "cgroup.subtree_control",
                "+cpuset +hugetlb +io +misc +pids +rdma"
            ),
            ("berth/abc/cgroup.procs", "4242"),
        ])
    );
}

#[test]
fn add_task_creates_directories_top_down() {
    let tmp = tempfile::tempdir().unwrap();
    files(
        tmp.path(),
        &[
            ("cgroup.controllers", "memory\n"),
            ("cgroup.subtree_control", ""),
        ],
    );
    let m = Manager::with_layout(tmp.path(), Layout::Unified, PathBuf::from("x/y"));
    // A tempdir does not populate new directories as the kernel does, so the walk stops at
    // x's missing cgroup.controllers, after making x and enabling memory on the root.
    let e = m.add_task(1).unwrap_err();
    assert!(e.to_string().contains("x/cgroup.controllers"), "{e}");
    assert!(tmp.path().join("x").is_dir());
    assert_eq!(
        take_journal(tmp.path()),
        writes(&[("cgroup.subtree_control", "+memory")])
    );
}

#[test]
fn memory_conversions() {
    let (tmp, m, leaf) = fixture();
    m.apply(&resources(
        r#"{"memory": {"limit": 1073741824, "swap": 1073741824}}"#,
    ))
    .unwrap();
    // Equal limits: swap disabled.
    assert_eq!(read(&leaf.join("memory.swap.max")), "0");
    m.apply(&resources(r#"{"memory": {"limit": -1}}"#)).unwrap();
    assert_eq!(read(&leaf.join("memory.swap.max")), "max");
    assert_eq!(read(&leaf.join("memory.max")), "max");
    m.apply(&resources(r#"{"memory": {"limit": 1048576, "swap": -1}}"#))
        .unwrap();
    assert_eq!(read(&leaf.join("memory.swap.max")), "max");
    // Swappiness, kernel memory and the OOM-killer switch have no v2 knob.
    clear_journal();
    m.apply(&resources(
        r#"{"memory": {"swappiness": 50, "kernel": 1000, "disableOOMKiller": true}}"#,
    ))
    .unwrap();
    let knobs: Vec<_> = take_journal(tmp.path())
        .into_iter()
        .filter(|(p, _)| !p.ends_with("subtree_control"))
        .collect();
    assert_eq!(knobs, []);
    let e = m
        .apply(&resources(r#"{"memory": {"limit": 2000, "swap": 1000}}"#))
        .unwrap_err();
    assert!(matches!(e, CgroupError::Resource { .. }), "{e}");
}

#[test]
fn missing_swap_accounting_is_fine_for_max() {
    let (_tmp, m, leaf) = fixture();
    std::fs::remove_file(leaf.join("memory.swap.max")).unwrap();
    m.apply(&resources(r#"{"memory": {"limit": -1}}"#)).unwrap();
    assert_eq!(read(&leaf.join("memory.max")), "max");
    // A real swap limit without swap accounting is an error.
    let e = m
        .apply(&resources(r#"{"memory": {"limit": 1000, "swap": 3000}}"#))
        .unwrap_err();
    assert!(e.to_string().contains("memory.swap.max"), "{e}");
}

#[test]
fn disabled_controller_is_reported_by_name() {
    let (_tmp, m, leaf) = fixture();
    std::fs::remove_file(leaf.join("pids.max")).unwrap();
    let e = m
        .apply(&resources(r#"{"pids": {"limit": 5}}"#))
        .unwrap_err();
    match &e {
        CgroupError::ControllerMissing { controller, .. } => assert_eq!(controller, "pids"),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("berth/abc"), "{e}");
}

#[test]
fn cpu_and_pids_edge_values() {
    let (_tmp, m, leaf) = fixture();
    m.apply(&resources(
        r#"{"cpu": {"quota": -1, "period": 50000, "shares": 2}, "pids": {"limit": 0}}"#,
    ))
    .unwrap();
    assert_eq!(read(&leaf.join("cpu.max")), "max 50000");
    assert_eq!(read(&leaf.join("cpu.weight")), "1");
    assert_eq!(read(&leaf.join("pids.max")), "max");
    m.apply(&resources(
        r#"{"cpu": {"quota": 20000, "burst": 1000, "idle": 1}, "pids": {"limit": -1}}"#,
    ))
    .unwrap();
    assert_eq!(read(&leaf.join("cpu.max")), "20000 100000");
    assert_eq!(read(&leaf.join("cpu.max.burst")), "1000");
    assert_eq!(read(&leaf.join("cpu.idle")), "1");
    assert_eq!(read(&leaf.join("pids.max")), "max");
    let e = m
        .apply(&resources(r#"{"cpu": {"realtimeRuntime": 1000}}"#))
        .unwrap_err();
    assert!(e.to_string().contains("realtime"), "{e}");
}

#[test]
fn bfq_takes_the_raw_weight() {
    let (_tmp, m, leaf) = fixture();
    files(&leaf, &[("io.bfq.weight", "default 100\n")]);
    m.apply(&resources(
        r#"{"blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 500}]}}"#,
    ))
    .unwrap();
    assert_eq!(read(&leaf.join("io.bfq.weight")), "8:0 500");
    assert_eq!(read(&leaf.join("io.weight")), "default 100\n");
}

#[test]
fn unified_writes_raw_values_line_by_line() {
    let (tmp, m, _) = fixture();
    m.apply(&resources(
        r#"{"memory": {"limit": 1000}, "unified": {"memory.high": "500", "io.max": "8:0 rbps=1\n8:16 wbps=2\n"}}"#,
    ))
    .unwrap();
    let journal = take_journal(tmp.path());
    assert_eq!(
        journal[journal.len() - 4..],
        writes(&[
            ("berth/abc/memory.max", "1000"),
            ("berth/abc/io.max", "8:0 rbps=1"),
            ("berth/abc/io.max", "8:16 wbps=2"),
            ("berth/abc/memory.high", "500"),
        ])
    );
    for bad in [
        r#"{"unified": {"../x.y": "1"}}"#,
        r#"{"unified": {"nodot": "1"}}"#,
    ] {
        assert!(m.apply(&resources(bad)).is_err(), "{bad}");
    }
    let e = m
        .apply(&resources(r#"{"unified": {"rdma.max": "x"}}"#))
        .unwrap_err();
    assert!(e.to_string().contains("rdma"), "{e}");
}

#[test]
fn freeze_waits_for_frozen_in_cgroup_events() {
    let (_tmp, m, leaf) = fixture();
    let events = leaf.join("cgroup.events");
    let kernel = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        std::fs::write(&events, "populated 1\nfrozen 1\n").unwrap();
    });
    m.freeze().unwrap();
    kernel.join().unwrap();
    assert_eq!(read(&leaf.join("cgroup.freeze")), "1");
    assert!(m.is_frozen().unwrap());
    m.thaw().unwrap();
    assert_eq!(read(&leaf.join("cgroup.freeze")), "0");
    assert!(!m.is_frozen().unwrap());
}

#[test]
fn freeze_that_never_completes_thaws_and_fails() {
    let (_tmp, _m, leaf) = fixture();
    let e = crate::runtime::cgroups::v2::freezer_for_tests(&leaf, Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(e, CgroupError::Timeout { .. }), "{e}");
    assert_eq!(read(&leaf.join("cgroup.freeze")), "0");
}

#[test]
fn pids_are_recursive_and_oom_kills_come_from_memory_events() {
    let (_tmp, m, leaf) = fixture();
    files(&leaf, &[("cgroup.procs", "12\n34\n")]);
    files(&leaf.join("sub"), &[("cgroup.procs", "56\n12\n")]);
    assert_eq!(m.pids().unwrap(), [12, 34, 56]);
    assert_eq!(
        m.oom_kill_count().unwrap(),
        0,
        "no memory.events: no memory controller"
    );
    files(
        &leaf,
        &[(
            "memory.events",
            "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n",
        )],
    );
    assert_eq!(m.oom_kill_count().unwrap(), 2);
}

#[test]
fn stats_from_fixture_files() {
    let (_tmp, m, leaf) = fixture();
    files(
        &leaf,
        &[
            ("cgroup.procs", "1\n2\n3\n"),
            (
                "cpu.stat",
                "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 10\nnr_throttled 3\nthrottled_usec 700\nnr_bursts 0\nburst_usec 0\n",
            ),
            ("memory.current", "1048576\n"),
            ("memory.peak", "2097152\n"),
            ("memory.max", "268435456\n"),
            ("memory.swap.current", "0\n"),
            ("memory.stat", "anon 4096\nfile 8192\ninactive_file 4096\n"),
            ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
            ("pids.current", "3\n"),
            ("pids.max", "max\n"),
            (
                "io.stat",
                "254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
            ),
        ],
    );
    let s = m.stats().unwrap();
    assert_eq!(s.version, 2);
    assert_eq!(s.cpu.total_usage_ns, 2_500_000);
    assert_eq!(s.cpu.user_ns, 2_000_000);
    assert_eq!(s.cpu.system_ns, 500_000);
    assert!(s.cpu.percpu_usage_ns.is_empty());
    assert_eq!(s.cpu.throttling.periods, 10);
    assert_eq!(s.cpu.throttling.throttled_periods, 3);
    assert_eq!(s.cpu.throttling.throttled_time_ns, 700_000);
    assert_eq!(s.cpu.raw["nr_bursts"], 0);
    assert_eq!(s.memory.usage, 1_048_576);
    assert_eq!(s.memory.max_usage, Some(2_097_152));
    assert_eq!(s.memory.limit, 268_435_456);
    assert_eq!(s.memory.failcnt, None);
    assert_eq!(s.memory.swap_limit, Some(u64::MAX));
    assert_eq!(s.memory.stats["inactive_file"], 4096);
    assert_eq!(s.memory.events["oom_kill"], 0);
    assert_eq!((s.pids.current, s.pids.limit), (3, 0));
    let bytes: Vec<_> = s
        .blkio
        .io_service_bytes_recursive
        .iter()
        .map(|e| (e.major, e.minor, e.op.as_str(), e.value))
        .collect();
    assert_eq!(bytes, [(254, 0, "read", 4096), (254, 0, "write", 8192)]);
    assert_eq!(s.blkio.io_serviced_recursive[1].value, 2);
    assert_eq!(s.blkio.raw["254:0"]["dios"], 0);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["memory"]["stats"]["anon"], 4096);
}

#[test]
fn stats_without_controllers_count_procs() {
    let (_tmp, m, leaf) = fixture();
    files(&leaf, &[("cgroup.procs", "7\n8\n")]);
    std::fs::remove_file(leaf.join("memory.max")).unwrap();
    let s = m.stats().unwrap();
    assert_eq!(s.pids.current, 2);
    assert_eq!(s.memory.limit, u64::MAX);
}

#[test]
fn destroy_removes_nested_empty_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let m = Manager::with_layout(tmp.path(), Layout::Unified, PathBuf::from("berth/abc"));
    std::fs::create_dir_all(tmp.path().join("berth/abc/sub/deeper")).unwrap();
    m.destroy().unwrap();
    assert!(!tmp.path().join("berth/abc").exists());
    assert!(tmp.path().join("berth").is_dir(), "parents stay");
    m.destroy().unwrap();
}

#[test]
fn stats_of_a_missing_cgroup_is_an_error_and_pids_are_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let m = Manager::with_layout(tmp.path(), Layout::Unified, PathBuf::from("gone"));
    let e = m.stats().unwrap_err();
    assert!(e.to_string().contains("gone"), "{e}");
    assert_eq!(m.pids().unwrap(), Vec::<i32>::new());
    assert_eq!(m.oom_kill_count().unwrap(), 0);
}

#[test]
fn device_rules_need_a_real_cgroup_and_an_empty_list_is_left_alone() {
    let (_tmp, m, _) = fixture();
    // No program is loaded for an empty list, so the tempdir is fine...
    m.apply(&resources(r#"{"devices": []}"#)).unwrap();
    // ...while real rules go to bpf(2), which refuses a directory that is not a cgroup.
    let e = m
        .apply(&resources(
            r#"{"devices": [{"allow": false, "access": "rwm"}]}"#,
        ))
        .unwrap_err();
    assert!(matches!(e, CgroupError::Bpf { .. }), "{e}");
    assert!(e.to_string().contains("berth/abc"), "{e}");
}
