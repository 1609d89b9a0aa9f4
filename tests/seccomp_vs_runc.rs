//! Differential test: Docker's default profile loaded by runc (libseccomp) and by our compiler
//! must give the same verdicts. A small static probe (tests/support/seccomp_probe.c) calls
//! sensitive syscalls with harmless arguments and prints each result; it runs once as a runc
//! container with the profile in config.json, once on the host under our filter.

#![cfg(target_arch = "x86_64")]

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use berth::engine::spec::seccomp_default::default_profile;
use berth::runtime::seccomp::Filter;

const RUNC: &str = "/usr/sbin/runc";

/// Docker's default capability set, for both runs.
const DOCKER_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

fn build_probe(out: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/seccomp_probe.c");
    let status = Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(out)
        .arg(&src)
        .status()
        .expect("cc runs");
    assert!(status.success(), "building the probe failed");
}

fn run_under_ours(probe: &Path, profile: &oci_spec::runtime::LinuxSeccomp) -> String {
    let filter = Filter::new(profile).expect("compiles");
    let mut cmd = Command::new(probe);
    // SAFETY: runs between fork and exec; only raw syscalls, no allocation.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            filter
                .load()
                .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
        });
    }
    let out = cmd.output().expect("probe runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_under_runc(bundle: &Path, profile: &oci_spec::runtime::LinuxSeccomp) -> String {
    let spec = Command::new(RUNC)
        .args(["spec", "--bundle"])
        .arg(bundle)
        .status()
        .expect("runc spec runs");
    assert!(spec.success());
    let path = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("reads config.json")).expect("json");
    let caps = serde_json::json!(DOCKER_CAPS);
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!(["/probe"]);
    config["process"]["capabilities"] = serde_json::json!({
        "bounding": caps, "effective": caps, "permitted": caps
    });
    config["linux"]["seccomp"] = serde_json::to_value(profile).expect("profile serialises");
    std::fs::write(&path, serde_json::to_vec(&config).expect("json")).expect("writes config.json");

    let id = format!("berth-seccomp-diff-{}", std::process::id());
    // `runc run` in the foreground deletes the container (and its cgroups) when the probe exits.
    let out = Command::new("timeout")
        .args(["60", RUNC, "--root"])
        .arg(bundle.join("runc-state"))
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(&id)
        .output()
        .expect("runc runs");
    assert!(
        out.status.success(),
        "runc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn docker_profile_verdicts_match_runc() {
    assert!(
        Path::new(RUNC).exists(),
        "{RUNC} missing: scripts/install-test-deps.sh installs it"
    );
    let bundle = tempfile::tempdir().expect("tempdir");
    let rootfs = bundle.path().join("rootfs");
    std::fs::create_dir(&rootfs).expect("mkdir rootfs");
    let probe = rootfs.join("probe");
    build_probe(&probe);

    let caps: Vec<String> = DOCKER_CAPS.iter().map(|s| s.to_string()).collect();
    let profile = default_profile(&caps);
    let ours = run_under_ours(&probe, &profile);
    let runc = run_under_runc(bundle.path(), &profile);

    assert_eq!(ours.lines().count(), 28, "{ours}");
    assert!(
        ours.contains("mount -1 EPERM") && ours.contains("clone3 -1 ENOSYS"),
        "{ours}"
    );
    for (a, b) in ours.lines().zip(runc.lines()) {
        assert_eq!(a, b, "ours vs runc\n--- ours\n{ours}--- runc\n{runc}");
    }
    assert_eq!(ours.lines().count(), runc.lines().count());
}
