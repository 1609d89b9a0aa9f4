//! Everything that goes through the container's cgroup, against berth-runtime and runc: the
//! cgroup at `linux.cgroupsPath` with the init in it and resources applied, pause/resume,
//! ps, kill --all, update, events --stats. berth-runtime's cgroup-backed iterations print
//! `SKIP [berth-runtime] ...` while `runtime::cgroups` is still the stub; they un-skip by
//! themselves once the cgroups branch is merged. `ps` and `kill --all` also work without a
//! cgroup (the pid namespace is used), so they always run.

mod runtime_support;

use std::fs;
use std::time::Duration;

use runtime_support::*;
use serde_json::json;

fn cgroup_file(c: &Container, controller: &str, file: &str) -> String {
    let p = format!("/sys/fs/cgroup/{controller}{}/{file}", cgroups_path(&c.id));
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("[{}] read {p}: {e}", c.rt.name))
}

#[test]
fn the_init_runs_in_its_cgroup_with_resources_applied() {
    for rt in runtimes() {
        if !cgroups_available(&rt) {
            skip(
                &rt,
                "the_init_runs_in_its_cgroup_with_resources_applied",
                CGROUPS_PENDING,
            );
            continue;
        }
        let mut c = Container::new(&rt, "cg-res");
        c.config["linux"]["resources"]["pids"] = json!({"limit": 100});
        c.config["linux"]["resources"]["memory"] = json!({"limit": 64 << 20});
        c.config["linux"]["resources"]["cpu"] = json!({"shares": 512});
        c.create();
        let pid = c.pid();
        let procs = cgroup_file(&c, "pids", "cgroup.procs");
        assert!(
            procs.lines().any(|l| l.trim() == pid.to_string()),
            "[{}] {pid} not in {procs}",
            rt.name
        );
        assert_eq!(
            cgroup_file(&c, "pids", "pids.max").trim(),
            "100",
            "[{}]",
            rt.name
        );
        assert_eq!(
            cgroup_file(&c, "memory", "memory.limit_in_bytes").trim(),
            (64u64 << 20).to_string(),
            "[{}]",
            rt.name
        );
        assert_eq!(
            cgroup_file(&c, "cpu", "cpu.shares").trim(),
            "512",
            "[{}]",
            rt.name
        );
        // The deny-all device rule of the config does not lock out the default devices.
        c.start();
        let (code, out, err) = c.exec(
            &[],
            &[
                "sh",
                "-c",
                "echo ok > /dev/null && head -c 1 /dev/zero | wc -c",
            ],
        );
        assert_eq!((code, out.as_str()), (0, "1\n"), "[{}] {err}", rt.name);
        c.finish();
    }
}

#[test]
fn pause_stops_progress_and_resume_restarts_it() {
    for rt in runtimes() {
        if !cgroups_available(&rt) {
            skip(
                &rt,
                "pause_stops_progress_and_resume_restarts_it",
                CGROUPS_PENDING,
            );
            continue;
        }
        let mut c = Container::new(&rt, "pause");
        c.script("i=0; while :; do i=$((i+1)); echo $i > /counter; sleep 0.02; done");
        c.launch();
        let counter = c.rootfs().join("counter");
        let read = || {
            fs::read_to_string(&counter)
                .unwrap_or_default()
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
        };
        let watch = Inotify::new(&c.rootfs());
        while read() < 3 {
            watch.wait(Duration::from_secs(5));
        }
        c.runtime_ok(&["pause", &c.id]);
        assert_eq!(c.status(), "paused", "[{}]", rt.name);
        let frozen = read();
        // Nothing signals "no progress": give it a fixed window to show some.
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(read(), frozen, "[{}] progress while paused", rt.name);
        let (code, _, err) = c.exec(&[], &["true"]);
        assert_ne!(code, 0, "[{}] exec into a paused container", rt.name);
        assert!(err.contains("paused"), "[{}] {err}", rt.name);
        c.runtime_err(&["pause", &c.id], "not running");
        c.runtime_ok(&["resume", &c.id]);
        assert_eq!(c.status(), "running", "[{}]", rt.name);
        c.runtime_err(&["resume", &c.id], "not paused");
        let watch = Inotify::new(&counter);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while read() <= frozen && std::time::Instant::now() < deadline {
            watch.wait(Duration::from_secs(1));
        }
        assert!(read() > frozen, "[{}] no progress after resume", rt.name);
        // A paused container can be force-deleted.
        c.runtime_ok(&["pause", &c.id]);
        c.finish();
    }
}

#[test]
fn ps_lists_the_containers_processes() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "ps");
        c.script("sleep 1001 & sleep 1002 & echo started; wait");
        c.launch();
        c.wait_stdout(|o| o.contains("started"), Duration::from_secs(20));
        let init = c.pid();
        let json: Vec<i32> =
            serde_json::from_str(&c.runtime_ok(&["ps", "--format", "json", &c.id])).unwrap();
        assert!(json.contains(&init), "[{}] {json:?}", rt.name);
        assert_eq!(json.len(), 3, "[{}] {json:?}", rt.name);
        let table = c.runtime_ok(&["ps", &c.id]);
        let mut lines = table.lines();
        assert!(
            lines.next().unwrap().contains("PID"),
            "[{}] {table}",
            rt.name
        );
        assert!(table.contains("sleep 1001"), "[{}] {table}", rt.name);
        assert!(table.contains("sleep 1002"), "[{}] {table}", rt.name);
        assert_eq!(table.lines().count(), 4, "[{}] {table}", rt.name);
        c.finish();
    }
}

#[test]
fn kill_all_reaches_every_process() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "killall");
        // The init survives TERM (a handler, which unlike an ignored signal its children do not
        // inherit); `read` on a fifo nobody writes keeps it waiting without a child of its own.
        c.script("trap 'echo term' TERM; sleep 1001 & sleep 1002 & mkfifo /f; echo started; while :; do read x < /f; done");
        c.launch();
        c.wait_stdout(|o| o.contains("started"), Duration::from_secs(20));
        let pids: Vec<i32> =
            serde_json::from_str(&c.runtime_ok(&["ps", "--format", "json", &c.id])).unwrap();
        let init = c.pid();
        let children: Vec<i32> = pids.iter().copied().filter(|p| *p != init).collect();
        assert_eq!(children.len(), 2, "[{}] {pids:?}", rt.name);
        c.runtime_ok(&["kill", "--all", &c.id, "TERM"]);
        for p in &children {
            assert!(
                wait_pid_gone(*p, Duration::from_secs(10)),
                "[{}] {p} survived",
                rt.name
            );
        }
        assert_eq!(
            c.status(),
            "running",
            "[{}] the init should have ignored TERM",
            rt.name
        );
        c.runtime_ok(&["kill", "--all", &c.id, "KILL"]);
        c.wait_exit(init);
        assert_eq!(c.status(), "stopped", "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn update_changes_limits() {
    for rt in runtimes() {
        if !cgroups_available(&rt) {
            skip(&rt, "update_changes_limits", CGROUPS_PENDING);
            continue;
        }
        let c = Container::new(&rt, "update");
        c.launch();
        let file = c.bundle.path().join("resources.json");
        fs::write(&file, json!({"pids": {"limit": 42}}).to_string()).unwrap();
        c.runtime_ok(&["update", "--resources", file.to_str().unwrap(), &c.id]);
        assert_eq!(
            cgroup_file(&c, "pids", "pids.max").trim(),
            "42",
            "[{}]",
            rt.name
        );
        c.runtime_ok(&["update", "--pids-limit", "43", "--memory", "96m", &c.id]);
        assert_eq!(
            cgroup_file(&c, "pids", "pids.max").trim(),
            "43",
            "[{}]",
            rt.name
        );
        assert_eq!(
            cgroup_file(&c, "memory", "memory.limit_in_bytes").trim(),
            (96u64 << 20).to_string(),
            "[{}]",
            rt.name
        );
        // `-r -` reads the document from stdin.
        let mut cmd = c.command(&["update", "-r", "-", &c.id]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(
            child.stdin.as_mut().unwrap(),
            json!({"cpu": {"shares": 256}}).to_string().as_bytes(),
        )
        .unwrap();
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "[{}] {}", rt.name, text(&out.stderr));
        assert_eq!(
            cgroup_file(&c, "cpu", "cpu.shares").trim(),
            "256",
            "[{}]",
            rt.name
        );
        c.finish();
    }
}

#[test]
fn events_stats_prints_one_stats_object() {
    for rt in runtimes() {
        if !cgroups_available(&rt) {
            skip(&rt, "events_stats_prints_one_stats_object", CGROUPS_PENDING);
            continue;
        }
        let c = Container::new(&rt, "events");
        c.launch();
        let out = c.runtime_ok(&["events", "--stats", &c.id]);
        let v: serde_json::Value = serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("[{}] not one JSON object: {out:?}: {e}", rt.name));
        assert_eq!(v["type"], "stats", "[{}] {v}", rt.name);
        assert_eq!(v["id"], c.id.as_str(), "[{}] {v}", rt.name);
        let data = &v["data"];
        for key in ["cpu", "memory", "pids", "blkio"] {
            assert!(
                data.get(key).is_some(),
                "[{}] data.{key} missing: {v}",
                rt.name
            );
        }
        assert!(
            data["pids"]["current"].as_u64().unwrap_or(0) >= 1,
            "[{}] {v}",
            rt.name
        );
        assert!(
            data["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
            "[{}] {v}",
            rt.name
        );
        c.finish();
    }
}

/// A unified (pure v2) host, made here in a private mount namespace: the v1 hierarchies are
/// unmounted and the kernel's cgroup2 hierarchy is mounted at /sys/fs/cgroup. The init is born
/// in its cgroup (CLONE_INTO_CGROUP for berth-runtime), and the `cgroup` mount shows cgroup2,
/// read-only; with a cgroup namespace the init sits at its root.
#[test]
fn on_a_unified_host_the_init_is_in_its_cgroup_and_sees_cgroup2() {
    for rt in runtimes() {
        for cgroupns in [false, true] {
            let mut c = Container::new(&rt, "unified");
            c.config["linux"]["cgroupsPath"] = json!(cgroups_path(&c.id));
            if cgroupns {
                c.config["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "cgroup"}));
            }
            c.script(
                "grep ' /sys/fs/cgroup ' /proc/self/mountinfo; grep '^0::' /proc/self/cgroup; \
                 touch /sys/fs/cgroup/x 2>/dev/null || echo read-only",
            );
            c.write_config();
            let wrapper = format!(
                "umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup || exit 99; \
                 {} --root {} run --bundle {} {}",
                rt.bin.display(),
                c.state_root.path().display(),
                c.bundle.path().display(),
                c.id
            );
            let mut cmd = std::process::Command::new("unshare");
            cmd.args(["-m", "--propagation", "private", "sh", "-c", &wrapper])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let out = run_bounded(cmd, COMMAND_TIMEOUT);
            let text = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert!(
                out.status.success(),
                "[{}] cgroupns={cgroupns}: {text}",
                rt.name
            );
            let mount = text.lines().next().unwrap_or_default();
            assert!(
                mount.contains(" - cgroup2 ") && mount.contains(" ro,"),
                "[{}] cgroupns={cgroupns}: /sys/fs/cgroup is not cgroup2, read-only: {text}",
                rt.name
            );
            let want = if cgroupns {
                "0::/".to_string()
            } else {
                format!("0::{}", cgroups_path(&c.id))
            };
            assert!(
                text.lines().any(|l| l == want),
                "[{}] cgroupns={cgroupns}: want {want}: {text}",
                rt.name
            );
            assert!(text.contains("read-only"), "[{}] {text}", rt.name);
        }
    }
}
