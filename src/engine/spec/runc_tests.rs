//! Our specs run for real under Debian's runc 1.1.5 (root only): a busybox container reports
//! what it sees, and that must be what the spec asked for. Everything made here (network
//! namespace, runc state, cgroups, bundle) is removed again and checked gone.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use std::collections::HashMap;

use super::*;

const RUNC: &str = "/usr/sbin/runc";
const BUSYBOX: &str = "/bin/busybox";

/// A named network namespace, deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new(name: String) -> NetNs {
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name}");
        NetNs(name)
    }

    fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.0)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn busybox_bundle(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "run"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).unwrap_or_else(|e| panic!("{e}"));
    for applet in [
        "sh", "id", "grep", "cat", "hostname", "touch", "wc", "pwd", "head",
    ] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\nnobody:x:65534:\n")
        .unwrap_or_else(|e| panic!("{e}"));
    rootfs
}

/// Runs `script` in a container built from `config`/`host`; returns its stdout, then its stderr
/// after a marker line.
fn run(name: &str, config: ContainerConfig, host: HostConfig, script: &str) -> String {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rootfs = busybox_bundle(dir.path());
    let etc = dir.path().join("etc-files");
    std::fs::create_dir_all(&etc).unwrap_or_else(|e| panic!("{e}"));
    for (file, text) in [
        ("hostname", "spec-test\n"),
        ("hosts", "127.0.0.1 localhost\n"),
        ("resolv.conf", "nameserver 127.0.0.1\n"),
    ] {
        std::fs::write(etc.join(file), text).unwrap_or_else(|e| panic!("{e}"));
    }
    let id = format!("berth-spec-{name}-{}", std::process::id());
    let netns = NetNs::new(id.clone());
    let netns_path = netns.path();
    let cgroups_path = format!("/{id}");
    let mut config = config;
    config.cmd = Some(vec!["sh".into(), "-c".into(), script.into()]);
    let (hostname, hosts, resolv) = (
        etc.join("hostname"),
        etc.join("hosts"),
        etc.join("resolv.conf"),
    );
    let spec = build(&SpecInput {
        id: &id,
        config: &config,
        host: &host,
        rootfs: &rootfs,
        hostname: "spec-test",
        network: NetworkMode::Sandbox(&netns_path),
        etc_files: EtcFiles {
            hostname: Some(&hostname),
            hosts: Some(&hosts),
            resolv_conf: Some(&resolv),
        },
        cgroups_path: &cgroups_path,
        daemon_caps: &[],
        daemon_nofile_hard: 20000,
        cgroup_version: 1,
        init_path: None,
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let json = serde_json::to_vec_pretty(&spec).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("config.json"), json).unwrap_or_else(|e| panic!("{e}"));

    let state = dir.path().join("runc-state");
    // `run` (not detached) deletes the container and its cgroups when the process exits.
    let out = Command::new("timeout")
        .arg("60")
        .arg(RUNC)
        .arg("--root")
        .arg(&state)
        .args(["run", "--bundle"])
        .arg(dir.path())
        .arg(&id)
        .output()
        .unwrap_or_else(|e| panic!("runc: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name}: runc failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for ctrl in ["memory", "pids", "cpu", "devices"] {
        let leftover = Path::new("/sys/fs/cgroup").join(ctrl).join(&id);
        assert!(!leftover.exists(), "left behind {}", leftover.display());
    }
    drop(netns);
    assert!(!netns_path.exists(), "netns left behind");
    let rootfs_str = dir.path().to_string_lossy().into_owned();
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    assert!(
        !mounts.contains(&rootfs_str),
        "mounts left behind under {rootfs_str}"
    );
    format!(
        "{stdout}--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    )
}

fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key:?} in:\n{out}"))
        .trim()
}

#[test]
fn default_container_sees_dockers_defaults() {
    let script = "echo id=$(id); \
        grep -E '^(CapBnd|CapEff|NoNewPrivs)' /proc/self/status; \
        echo hostname=$(hostname); echo etc-hostname=$(cat /etc/hostname); \
        echo port-start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start); \
        echo kcore=$(cat /proc/kcore | wc -c); \
        echo sys-mount=$(grep ' /proc/sys ' /proc/mounts); \
        echo shm=$(grep ' /dev/shm ' /proc/mounts); \
        echo env=$PATH:$HOSTNAME; echo cwd=$(pwd); \
        touch /rootfs-writable && echo root=rw";
    let out = run(
        "default",
        ContainerConfig::default(),
        HostConfig::default(),
        script,
    );
    assert_eq!(line(&out, "id="), "uid=0(root) gid=0(root) groups=0(root)");
    // Docker's 14 default capabilities.
    assert_eq!(line(&out, "CapBnd:"), "00000000a80425fb");
    assert_eq!(line(&out, "CapEff:"), "00000000a80425fb");
    assert_eq!(line(&out, "NoNewPrivs:"), "0");
    assert_eq!(line(&out, "hostname="), "spec-test");
    assert_eq!(line(&out, "etc-hostname="), "spec-test");
    assert_eq!(line(&out, "port-start="), "0");
    assert_eq!(line(&out, "kcore="), "0", "/proc/kcore is masked");
    assert!(line(&out, "sys-mount=").contains(" ro,"), "{out}");
    assert!(line(&out, "shm=").contains("size=65536k"), "{out}");
    assert_eq!(
        line(&out, "env="),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:spec-test"
    );
    assert_eq!(line(&out, "cwd="), "/");
    assert_eq!(line(&out, "root="), "rw");
}

#[test]
fn options_take_effect() {
    let config = ContainerConfig {
        user: Some("nobody".into()),
        working_dir: Some("/tmp".into()),
        env: Some(vec!["FOO=bar".into()]),
        ..Default::default()
    };
    let host = HostConfig {
        readonly_rootfs: Some(true),
        // runc gives a tmpfs the mode of the directory it covers (1777 here).
        tmpfs: Some(HashMap::from([("/tmp".to_string(), "size=1m".to_string())])),
        binds: Some(vec![format!("{}:/host-bin:ro", "/bin")]),
        memory: Some(64 << 20),
        pids_limit: Some(100),
        cap_drop: Some(vec!["ALL".into()]),
        cap_add: Some(vec!["net_bind_service".into()]),
        group_add: Some(vec!["10".into()]),
        security_opt: Some(vec!["no-new-privileges".into()]),
        ulimits: Some(vec![crate::models::ResourcesUlimits {
            name: Some("nofile".into()),
            soft: Some(1024),
            hard: Some(2048),
        }]),
        shm_size: Some(2 << 20),
        sysctls: Some(HashMap::from([(
            "net.ipv4.ip_unprivileged_port_start".to_string(),
            "80".to_string(),
        )])),
        ..Default::default()
    };
    let script = "echo id=$(id); grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status; \
        echo cwd=$(pwd); echo foo=$FOO; \
        touch /x 2>/dev/null && echo root=rw || echo root=ro; \
        touch /tmp/x && echo tmp=rw; \
        touch /host-bin/x 2>/dev/null && echo bind=rw || echo bind=ro; \
        echo nofile=$(ulimit -n):$(ulimit -Hn); \
        echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); \
        echo pids=$(cat /sys/fs/cgroup/pids/pids.max); \
        echo shm=$(grep ' /dev/shm ' /proc/mounts); \
        echo port-start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)";
    let out = run("options", config, host, script);
    assert_eq!(
        line(&out, "id="),
        "uid=65534(nobody) gid=65534(nobody) groups=10,65534(nobody)"
    );
    assert_eq!(
        line(&out, "CapBnd:"),
        "0000000000000400",
        "only NET_BIND_SERVICE"
    );
    assert_eq!(line(&out, "NoNewPrivs:"), "1");
    assert_eq!(line(&out, "cwd="), "/tmp");
    assert_eq!(line(&out, "foo="), "bar");
    assert_eq!(line(&out, "root="), "ro");
    assert_eq!(line(&out, "tmp="), "rw");
    assert_eq!(line(&out, "bind="), "ro");
    assert_eq!(line(&out, "nofile="), "1024:2048");
    assert_eq!(line(&out, "mem="), "67108864");
    assert_eq!(line(&out, "pids="), "100");
    assert!(line(&out, "shm=").contains("size=2048k"), "{out}");
    assert_eq!(line(&out, "port-start="), "80");
}
