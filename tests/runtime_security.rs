//! Security-relevant behaviour, against berth-runtime and runc: the CVE-2019-5736 protection
//! (a container can never write the runtime binary), hooks (order, state, failures, timeouts),
//! seccomp (skipped for berth-runtime until `runtime::seccomp` is merged), --no-pivot, and
//! AppArmor/SELinux labels being ignored.

mod runtime_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runtime_support::*;
use serde_json::json;

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

/// A private copy of a binary, so a failed protection damages only the copy.
fn copy_binary(src: &Path, dir: &Path) -> PathBuf {
    let dst = dir.join(src.file_name().unwrap());
    fs::copy(src, &dst).unwrap();
    dst
}

/// The attack from the CVE: a process in the container opens /proc/<pid>/exe of a process that
/// runs the target binary (while it is alive), tries to write it, waits until that process is
/// gone, and writes through the descriptor it kept. Returns the attacker's log.
/// With `ptrace`, the attacker holds CAP_SYS_PTRACE, which gets past the non-dumpable guard so
/// the protected copy is tested alone; without it, our processes' /proc/<pid>/exe must be closed.
fn attack(attacker: &Container, ptrace: bool, start_victim_gone: impl FnOnce()) -> String {
    let script = r#"
        for p in /proc/[0-9]*; do
            n=${p#/proc/}
            [ "$n" = "$$" ] && continue
            e=$(readlink $p/exe 2>/dev/null) || continue
            case "$e" in /bin/busybox|"") continue;; esac
            v=$n; echo "victim $v $e"; break
        done
        [ -n "$v" ] || { echo no-victim; exit 1; }
        exec 3< /proc/$v/exe && echo opened || { echo open-denied; echo done; exit 0; }
        (echo pwned >> /proc/$v/exe) 2>/dev/null && echo write-live-ok || echo write-live-denied
        while [ -e /proc/$v ]; do sleep 0.05; done
        (echo pwned >> /proc/self/fd/3) 2>/dev/null && echo write-after-ok || echo write-after-denied
        echo done
    "#;
    let caps = if ptrace {
        json!(["CAP_SYS_PTRACE", "CAP_KILL"])
    } else {
        json!(DOCKER_CAPS)
    };
    let process = json!({
        "terminal": false,
        "user": {"uid": 0, "gid": 0},
        "args": ["sh", "-c", format!("({script}) > /attack.log 2>&1")],
        "env": ["PATH=/bin"],
        "cwd": "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}
    });
    let pjson = attacker.bundle.path().join("attack-process.json");
    fs::write(&pjson, process.to_string()).unwrap();
    let log = attacker.rootfs().join("attack.log");
    fs::write(&log, "").unwrap();
    let mut cmd = attacker.command(&[
        "exec",
        "--detach",
        "--process",
        pjson.to_str().unwrap(),
        &attacker.id,
    ]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let out = run_bounded(cmd, COMMAND_TIMEOUT);
    assert!(
        out.status.success(),
        "[{}] attacker exec failed",
        attacker.rt.name
    );
    let watch = Inotify::new(&log);
    let deadline = Instant::now() + Duration::from_secs(20);
    let read = || fs::read_to_string(&log).unwrap_or_default();
    while !read().contains("opened") && !read().contains("denied") && !read().contains("no-victim")
    {
        assert!(
            Instant::now() < deadline,
            "[{}] attacker stuck: {}",
            attacker.rt.name,
            read()
        );
        watch.wait(Duration::from_secs(1));
    }
    start_victim_gone();
    while !read().contains("done") && !read().contains("no-victim") {
        assert!(
            Instant::now() < deadline,
            "[{}] attacker stuck: {}",
            attacker.rt.name,
            read()
        );
        watch.wait(Duration::from_secs(1));
    }
    read()
}

#[test]
fn cve_2019_5736_the_runtime_binary_cannot_be_overwritten() {
    for rt in runtimes() {
        let bin_dir = tempfile::tempdir().unwrap();
        let copy = copy_binary(&rt.bin, bin_dir.path());
        let before = sha256(&copy);
        let rt_copy = Runtime {
            name: rt.name,
            bin: copy.clone(),
        };
        // A: the attacker's container. B: a created container in A's pid namespace, whose init
        // waits for `start` running the runtime's code.
        let a = Container::new(&rt_copy, "cve-a");
        a.launch();
        let mut b = Container::new(&rt_copy, "cve-b");
        for n in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "pid" {
                n["path"] = json!(format!("/proc/{}/ns/pid", a.pid()));
            }
        }
        b.create();
        let b_pid = b.pid();
        let exe = fs::read_link(format!("/proc/{b_pid}/exe")).unwrap();
        if rt.is_berth() {
            // A detached read-only overlay view of the binary (or, where the kernel lacks one,
            // a sealed memfd), never the file on disk.
            let running = fs::File::open(format!("/proc/{b_pid}/exe")).unwrap();
            assert!(
                berth::runtime::process::sealed_exe::is_protected(&running),
                "the waiting init runs {exe:?}, not a protected copy"
            );
            assert_ne!(exe, copy, "the waiting init runs the binary on disk");
        }
        // Without CAP_SYS_PTRACE the waiting init is out of reach entirely (non-dumpable).
        let log = attack(&a, false, || {});
        eprintln!("[{}] unprivileged attacker log:\n{log}", rt.name);
        assert!(log.contains("no-victim"), "[{}] {log}", rt.name);
        let log = attack(&a, true, || {
            b.runtime_ok(&["delete", "--force", &b.id]);
            assert!(wait_pid_gone(b_pid, Duration::from_secs(10)));
        });
        eprintln!("[{}] attacker log:\n{log}", rt.name);
        assert!(
            log.contains("victim "),
            "[{}] the attacker found no runtime process: {log}",
            rt.name
        );
        assert!(!log.contains("write-live-ok"), "[{}] {log}", rt.name);
        assert!(!log.contains("write-after-ok"), "[{}] {log}", rt.name);
        assert_eq!(
            sha256(&copy),
            before,
            "[{}] the runtime binary changed: {log}",
            rt.name
        );
        b.finish();
        a.finish();
    }
}

#[test]
fn cve_2019_5736_control_the_attack_works_on_an_unprotected_binary() {
    // Proves the attack above can fail: a host binary run plainly inside the container's pid
    // namespace (what a runtime without the protection amounts to) gets overwritten.
    let rt = berth();
    let bin_dir = tempfile::tempdir().unwrap();
    let copy = copy_binary(Path::new("/bin/sleep"), bin_dir.path());
    let before = sha256(&copy);
    let a = Container::new(&rt, "cve-ctl");
    a.launch();
    let mut victim = Command::new("nsenter")
        .arg(format!("--pid=/proc/{}/ns/pid", a.pid()))
        .arg("--")
        .arg(&copy)
        .arg("600")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let log = attack(&a, true, || {
        // nsenter forks the victim into the pid namespace; kill nsenter's child via the pidns.
        let pids: Vec<i32> = fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|p: &i32| {
                fs::read_link(format!("/proc/{p}/exe"))
                    .map(|e| e == copy)
                    .unwrap_or(false)
            })
            .collect();
        for p in pids {
            // SAFETY: killing the victim process this test started.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        let _ = victim.wait();
    });
    assert!(
        log.contains("write-after-ok"),
        "control attack failed: {log}"
    );
    assert_ne!(sha256(&copy), before, "control binary unchanged: {log}");
    a.finish();
}

#[test]
fn hooks_run_in_order_with_the_state() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "hooks");
        let dir = c.bundle.path().to_str().unwrap().to_string();
        let host_hook = |kind: &str| {
            json!({"path": "/bin/sh", "args": ["sh", "-c",
                format!("cat > {dir}/{kind}.json; echo {kind} >> {dir}/order")]})
        };
        c.config["hooks"] = json!({
            "prestart": [host_hook("prestart")],
            "createRuntime": [host_hook("createRuntime")],
            "createContainer": [host_hook("createContainer")],
            // In the container, after pivot_root: its own /bin/sh, its own filesystem.
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /startContainer.json"]}],
            "poststart": [host_hook("poststart")],
            "poststop": [host_hook("poststop")]
        });
        c.create();
        let pid = c.pid();
        let order = || fs::read_to_string(c.bundle.path().join("order")).unwrap_or_default();
        // runc 1.1.5 runs poststart during `create` and then every hook again during `start`;
        // the runtime-spec (and berth-runtime) run each once, at its point of the lifecycle.
        let runc_1_1 = rt.name == "runc";
        if !runc_1_1 {
            assert_eq!(
                order(),
                "prestart\ncreateRuntime\ncreateContainer\n",
                "[{}]",
                rt.name
            );
        }
        c.start();
        if !runc_1_1 {
            assert_eq!(
                order(),
                "prestart\ncreateRuntime\ncreateContainer\npoststart\n",
                "[{}]",
                rt.name
            );
        }
        let start_state = c.rootfs().join("startContainer.json");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !start_state.exists() && Instant::now() < deadline {
            Inotify::new(&c.rootfs()).wait(Duration::from_secs(1));
        }
        for (kind, file) in [
            ("prestart", c.bundle.path().join("prestart.json")),
            ("createRuntime", c.bundle.path().join("createRuntime.json")),
            (
                "createContainer",
                c.bundle.path().join("createContainer.json"),
            ),
            ("startContainer", start_state.clone()),
            ("poststart", c.bundle.path().join("poststart.json")),
        ] {
            let text = fs::read_to_string(&file).unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("[{}] {kind} state {text:?}: {e}", rt.name));
            assert_eq!(v["id"], c.id.as_str(), "[{}] {kind}: {v}", rt.name);
            // runc puts the in-container pid (1) in the state of the hooks it runs inside the
            // container; the runtime-spec says the host's view, which berth-runtime passes.
            let in_container = matches!(kind, "createContainer" | "startContainer");
            if !(runc_1_1 && in_container) {
                assert_eq!(v["pid"], pid, "[{}] {kind}: {v}", rt.name);
            }
            assert_eq!(v["bundle"], dir.as_str(), "[{}] {kind}: {v}", rt.name);
        }
        c.runtime_ok(&["delete", "--force", &c.id]);
        assert!(
            order().ends_with("poststart\npoststop\n"),
            "[{}] {}",
            rt.name,
            order()
        );
        for kind in [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop",
        ] {
            assert!(
                order().contains(kind),
                "[{}] {kind} never ran: {}",
                rt.name,
                order()
            );
        }
        c.finish();
    }
}

#[test]
fn a_failing_hook_fails_create_and_leaves_nothing() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "hookfail");
        c.config["hooks"] = json!({"createRuntime": [
            {"path": "/bin/sh", "args": ["sh", "-c", "echo hook-says-no >&2; exit 3"]}
        ]});
        let out = c.create_with(&[]);
        assert!(!out.status.success(), "[{}] create succeeded", rt.name);
        c.runtime_err(&["state", &c.id], "does not exist");
        c.finish();
    }
}

#[test]
fn a_hook_that_overruns_its_timeout_is_killed() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "hooktimeout");
        // berth-runtime gets a hook whose own child would outlive it (and hold a pipe open): the
        // whole process group is killed. runc 1.1 kills only the hook and then waits for its
        // output pipes, so it gets a hook without a child of its own (`exec`) to stay bounded.
        let hook = if rt.is_berth() {
            "sleep 30"
        } else {
            "exec sleep 30"
        };
        c.config["hooks"] = json!({"prestart": [
            {"path": "/bin/sh", "args": ["sh", "-c", hook], "timeout": 1}
        ]});
        let started = Instant::now();
        let out = c.create_with(&[]);
        assert!(!out.status.success(), "[{}] create succeeded", rt.name);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "[{}] not bounded",
            rt.name
        );
        if rt.is_berth() {
            assert!(c.stderr().contains("timeout"), "{}", c.stderr());
        }
        c.runtime_err(&["state", &c.id], "does not exist");
        c.finish();
    }
}

#[test]
fn seccomp_profile_is_installed() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "seccomp");
        c.config["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        });
        c.script("mkdir /should-fail 2>&1 || echo blocked; grep Seccomp: /proc/self/status");
        let out = c.create_with(&[]);
        if !out.status.success()
            && rt.is_berth()
            && c.stderr().contains("seccomp is not implemented")
        {
            skip(&rt, "seccomp_profile_is_installed", SECCOMP_PENDING);
            c.finish();
            continue;
        }
        assert!(out.status.success(), "[{}] {}", rt.name, c.stderr());
        let pid = c.pid();
        c.start();
        c.wait_exit(pid);
        let got = c.stdout();
        assert!(got.contains("blocked"), "[{}] {got}", rt.name);
        assert!(got.contains("Seccomp:\t2"), "[{}] {got}", rt.name);
        assert!(!c.rootfs().join("should-fail").exists());
        c.finish();
    }
}

#[test]
fn no_pivot_still_confines_the_root() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "nopivot");
        c.script("ls / | tr '\\n' ' '");
        let out = c.create_with(&["--no-pivot"]);
        assert!(out.status.success(), "[{}] {}", rt.name, c.stderr());
        let pid = c.pid();
        c.start();
        c.wait_exit(pid);
        assert!(
            c.stdout().starts_with("bin dev etc proc"),
            "[{}] {}",
            rt.name,
            c.stdout()
        );
        c.finish();
    }
}

#[test]
fn apparmor_and_selinux_labels_are_ignored_here() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "labels");
        c.config["process"]["apparmorProfile"] = json!("docker-default");
        c.args(&["true"]);
        let out = c.create_with(&[]);
        if rt.name == "runc" {
            // runc applies the profile and fails: AppArmor is built into this kernel but has no
            // policy loaded. berth-runtime does not do AppArmor and says so.
            assert!(!out.status.success());
            assert!(c.stderr().contains("apparmor"), "{}", c.stderr());
        } else {
            assert!(out.status.success(), "[{}] {}", rt.name, c.stderr());
            assert!(
                c.stderr().contains("AppArmor is not supported"),
                "{}",
                c.stderr()
            );
        }
        c.finish();
    }
}
