//! The same Docker-like resources applied by Debian's runc 1.1.5 (`runc create` of a busybox
//! bundle) and by our Manager, on this machine's cgroup v1: the kernel files must read the same.

mod cgroups_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cgroups_support::{Scratch, read_file, serial, unique, wait_timeout};
use oci_spec::runtime::LinuxResources;

const RUNC: &str = "/usr/sbin/runc";
const BUSYBOX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/target/test-images/busybox.tar"
);
const ROOT: &str = "/sys/fs/cgroup";

/// `docker run -m 256m --memory-reservation 128m --memory-swap 512m --memory-swappiness 10
/// --oom-kill-disable --cpu-shares 512 --cpus 1.5 --cpuset-cpus 1 --cpuset-mems 0
/// --pids-limit 100 --device-read-bps /dev/vda:1mb --device-write-iops /dev/vda:100`, with
/// dockerd's default device rules. (No --blkio-weight: this kernel has no weight knob.)
const RESOURCES: &str = r#"{
  "devices": [
    {"allow": false, "access": "rwm"},
    {"allow": true, "type": "c", "access": "m"},
    {"allow": true, "type": "b", "access": "m"},
    {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    {"allow": true, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
    {"allow": true, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
    {"allow": true, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
    {"allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
    {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
    {"allow": true, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
    {"allow": true, "type": "c", "major": 136, "access": "rwm"},
    {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"}
  ],
  "memory": {
    "limit": 268435456, "reservation": 134217728, "swap": 536870912, "kernel": 67108864,
    "swappiness": 10, "disableOOMKiller": true
  },
  "cpu": {"shares": 512, "quota": 150000, "period": 100000, "cpus": "1", "mems": "0"},
  "pids": {"limit": 100},
  "blockIO": {
    "throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}],
    "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 100}]
  }
}"#;

const FILES: &[(&str, &str)] = &[
    ("memory", "memory.limit_in_bytes"),
    ("memory", "memory.memsw.limit_in_bytes"),
    ("memory", "memory.soft_limit_in_bytes"),
    ("memory", "memory.swappiness"),
    ("memory", "memory.oom_control"),
    ("memory", "memory.kmem.limit_in_bytes"),
    ("cpu", "cpu.shares"),
    ("cpu", "cpu.cfs_quota_us"),
    ("cpu", "cpu.cfs_period_us"),
    ("cpuset", "cpuset.cpus"),
    ("cpuset", "cpuset.mems"),
    ("pids", "pids.max"),
    ("blkio", "blkio.throttle.read_bps_device"),
    ("blkio", "blkio.throttle.write_iops_device"),
    ("devices", "devices.list"),
];

/// Extracts the image's single layer as a rootfs.
fn busybox_rootfs(dest: &Path) {
    let mut outer = tar::Archive::new(fs::File::open(BUSYBOX).unwrap());
    for entry in outer.entries().unwrap() {
        let entry = entry.unwrap();
        if entry
            .path()
            .unwrap()
            .to_string_lossy()
            .ends_with("layer.tar")
        {
            tar::Archive::new(entry).unpack(dest).unwrap();
            return;
        }
    }
    panic!("no layer.tar in {BUSYBOX}");
}

/// `runc delete --force` on drop, so the container and its cgroups go even if the test fails.
struct RuncContainer {
    state: PathBuf,
    id: String,
}

impl Drop for RuncContainer {
    fn drop(&mut self) {
        let mut child = Command::new(RUNC)
            .arg("--root")
            .arg(&self.state)
            .args(["delete", "--force", &self.id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let status = wait_timeout(&mut child, Duration::from_secs(30));
        if !std::thread::panicking() {
            assert!(
                status.is_some_and(|s| s.success()),
                "runc delete: {status:?}"
            );
        }
    }
}

fn values(name: &str) -> Vec<(String, String)> {
    FILES
        .iter()
        .map(|(controller, file)| {
            let text = read_file(Path::new(ROOT).join(controller).join(name).join(file));
            let mut lines: Vec<&str> = text.lines().collect();
            // Order in devices.list is the kernel's insertion order; compare as sets.
            lines.sort_unstable();
            (format!("{controller}/{file}"), lines.join("\n"))
        })
        .collect()
}

#[test]
fn same_kernel_values_as_runc() {
    let _serial = serial();
    assert!(Path::new(RUNC).exists(), "{RUNC} is the reference runtime");
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    fs::create_dir_all(bundle.join("rootfs")).unwrap();
    busybox_rootfs(&bundle.join("rootfs"));
    let spec = Command::new(RUNC)
        .arg("spec")
        .current_dir(&bundle)
        .output()
        .unwrap();
    assert!(spec.status.success(), "{spec:?}");

    let runc_name = unique("berth-test-runc");
    let mut config: serde_json::Value =
        serde_json::from_str(&read_file(bundle.join("config.json"))).unwrap();
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!(["sleep", "30"]);
    config["linux"]["cgroupsPath"] = format!("/{runc_name}").into();
    config["linux"]["resources"] = serde_json::from_str(RESOURCES).unwrap();
    fs::write(bundle.join("config.json"), config.to_string()).unwrap();

    let state = tmp.path().join("state");
    let runc = RuncContainer {
        state: state.clone(),
        id: runc_name.clone(),
    };
    // Not a pipe: runc init inherits runc's stdio and keeps it open while it waits.
    let err_path = tmp.path().join("runc-create.err");
    let mut create = Command::new(RUNC)
        .arg("--root")
        .arg(&state)
        .args(["create", "--bundle"])
        .arg(&bundle)
        .arg(&runc_name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let status = wait_timeout(&mut create, Duration::from_secs(60)).expect("runc create hung");
    assert!(status.success(), "runc create: {}", read_file(&err_path));

    let ours = unique("berth-test-ours");
    let mut s = Scratch::new(Path::new(ROOT), &ours);
    let resources: LinuxResources = serde_json::from_str(RESOURCES).unwrap();
    s.manager.apply(&resources).unwrap();
    let i = s.spawn("read x");
    s.manager.add_task(s.pid(i)).unwrap();

    let theirs = values(&runc_name);
    let mine = values(&ours);
    // Not vacuous: the limits really are set.
    assert!(mine.contains(&("memory/memory.limit_in_bytes".into(), "268435456".into())));
    assert!(mine.contains(&("cpu/cpu.cfs_quota_us".into(), "150000".into())));
    for ((file, want), (_, got)) in theirs.iter().zip(&mine) {
        assert_eq!(got, want, "{file}: runc wrote {want:?}, we wrote {got:?}");
    }
    drop(s);
    drop(runc);
}
