//! Docker's default profile (engine::spec) through the seccomp compiler (runtime): it is valid
//! OCI JSON, compiles within the kernel's limits, does what Docker's does for a dozen syscalls,
//! and really confines a busybox shell.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use berth::engine::spec::seccomp_default::{default_profile, default_profile_for_arch};
use berth::runtime::seccomp::{BPF_MAXINSNS, Filter, SeccompData, compile, simulate};
use oci_spec::runtime::{Arch, LinuxSeccomp};

/// Docker's default capability set (no CAP_SYS_ADMIN).
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

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
const X32_BIT: u32 = 0x4000_0000;

const ALLOW: u32 = 0x7fff_0000;
const KILL_THREAD: u32 = 0;
const EPERM: u32 = 0x0005_0000 | libc::EPERM as u32;
const ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

fn caps(extra: &[&str]) -> Vec<String> {
    DOCKER_CAPS
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

fn x86_64_program(p: &LinuxSeccomp) -> Vec<libc::sock_filter> {
    compile(p, Arch::ScmpArchX86_64).expect("Docker's profile compiles")
}

fn call(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let data = SeccompData {
        nr,
        arch,
        instruction_pointer: 0,
        args,
    };
    simulate(prog, &data).expect("program runs")
}

#[test]
fn json_is_a_valid_oci_linux_seccomp() {
    let p = default_profile_for_arch(&caps(&[]), "x86_64");
    let json = serde_json::to_value(&p).expect("serialises");
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["defaultErrnoRet"], 1);
    assert_eq!(
        json["architectures"],
        serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    let rules = json["syscalls"].as_array().expect("syscalls is a list");
    for rule in rules {
        let names = rule["names"].as_array().expect("names is a list");
        assert!(
            !names.is_empty()
                && names
                    .iter()
                    .all(|n| n.as_str().is_some_and(|s| !s.is_empty()))
        );
        assert!(
            rule["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("SCMP_ACT_"))
        );
        for arg in rule
            .get("args")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
        {
            assert!(arg["index"].as_u64().is_some_and(|i| i < 6));
            assert!(arg["value"].is_u64());
            assert!(
                arg["op"]
                    .as_str()
                    .is_some_and(|o| o.starts_with("SCMP_CMP_"))
            );
        }
    }
    // The text round-trips to the same profile, as runc would read it from config.json.
    let text = serde_json::to_string(&p).expect("serialises");
    let back: LinuxSeccomp = serde_json::from_str(&text).expect("parses back");
    assert_eq!(back, p);
}

#[test]
fn compiles_under_the_kernel_limit() {
    for (arch, native) in [
        ("x86_64", Arch::ScmpArchX86_64),
        ("aarch64", Arch::ScmpArchAarch64),
    ] {
        for extra in [&[][..], &["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"][..]] {
            let p = default_profile_for_arch(&caps(extra), arch);
            let prog = compile(&p, native).expect("compiles");
            println!("{arch} {extra:?}: {} BPF instructions", prog.len());
            assert!(prog.len() <= BPF_MAXINSNS);
        }
    }
    // The host's own profile loads as a Filter.
    assert!(Filter::new(&default_profile(&caps(&[]))).is_ok());
}

#[test]
fn spot_checks_without_sys_admin() {
    let prog = x86_64_program(&default_profile_for_arch(&caps(&[]), "x86_64"));
    let x = |nr: u32, args: [u64; 6]| call(&prog, AUDIT_ARCH_X86_64, nr, args);
    let a0 = |v: u64| [v, 0, 0, 0, 0, 0];
    // read, write, openat, execve, exit_group, chroot (CAP_SYS_CHROOT is a default cap).
    for nr in [0, 1, 257, 59, 231, 161] {
        assert_eq!(x(nr, [0; 6]), ALLOW, "nr {nr}");
    }
    // mount, umount2, unshare, setns, reboot, kexec_load, ptrace needs nothing (kernel >= 4.8).
    for nr in [165, 166, 272, 308, 169, 246] {
        assert_eq!(x(nr, [0; 6]), EPERM, "nr {nr}");
    }
    assert_eq!(x(101, [0; 6]), ALLOW, "ptrace");
    // clone: a plain fork is fine, new namespaces are not.
    let sigchld_settid = 0x0120_0011;
    assert_eq!(x(56, a0(sigchld_settid)), ALLOW);
    assert_eq!(x(56, a0(sigchld_settid | libc::CLONE_NEWNS as u64)), EPERM);
    assert_eq!(x(56, a0(libc::CLONE_NEWUSER as u64)), EPERM);
    assert_eq!(
        x(56, a0(1 << 32 | sigchld_settid)),
        ALLOW,
        "high bits are no namespace flags"
    );
    // clone3 hides its flags in memory: ENOSYS sends libcs back to clone.
    assert_eq!(x(435, [0; 6]), ENOSYS);
    // socket: AF_INET, AF_UNIX, AF_NETLINK, AF_QIPCRTR fine; AF_ALG and AF_VSOCK not.
    for (family, want) in [
        (2, ALLOW),
        (1, ALLOW),
        (16, ALLOW),
        (39, ALLOW),
        (38, EPERM),
        (40, EPERM),
    ] {
        assert_eq!(x(41, a0(family)), want, "socket family {family}");
    }
    // personality: PER_LINUX32 yes, ADDR_NO_RANDOMIZE no.
    assert_eq!(x(135, a0(8)), ALLOW);
    assert_eq!(x(135, a0(0xffff_ffff)), ALLOW);
    assert_eq!(x(135, a0(0x0004_0000)), EPERM);
    // Newer than anything the profile names: ENOSYS (runc's stub), not EPERM.
    assert_eq!(x(499, [0; 6]), ENOSYS);
    // i386: socketcall stays open; x32: read; aarch64 is a bad arch on this host.
    assert_eq!(call(&prog, AUDIT_ARCH_I386, 102, [0; 6]), ALLOW);
    assert_eq!(
        call(&prog, AUDIT_ARCH_I386, 21, [0; 6]),
        EPERM,
        "i386 mount"
    );
    assert_eq!(
        call(&prog, AUDIT_ARCH_X86_64, X32_BIT, [0; 6]),
        ALLOW,
        "x32 read"
    );
    assert_eq!(
        call(&prog, AUDIT_ARCH_X86_64, X32_BIT | 165, [0; 6]),
        EPERM,
        "x32 mount"
    );
    assert_eq!(call(&prog, AUDIT_ARCH_AARCH64, 63, [0; 6]), KILL_THREAD);
}

#[test]
fn spot_checks_with_sys_admin_and_on_arm64() {
    let prog = x86_64_program(&default_profile_for_arch(
        &caps(&["CAP_SYS_ADMIN"]),
        "x86_64",
    ));
    for nr in [165, 166, 272, 308, 435] {
        assert_eq!(call(&prog, AUDIT_ARCH_X86_64, nr, [0; 6]), ALLOW, "nr {nr}");
    }
    let ns = libc::CLONE_NEWNS as u64;
    assert_eq!(
        call(&prog, AUDIT_ARCH_X86_64, 56, [ns, 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        call(&prog, AUDIT_ARCH_X86_64, 169, [0; 6]),
        EPERM,
        "reboot needs CAP_SYS_BOOT"
    );

    let p = default_profile_for_arch(&caps(&[]), "aarch64");
    let prog = compile(&p, Arch::ScmpArchAarch64).expect("compiles");
    // aarch64: read 63, mount 40, clone 220; arm (EABI): read 3, set_tls 0xf0005.
    assert_eq!(call(&prog, AUDIT_ARCH_AARCH64, 63, [0; 6]), ALLOW);
    assert_eq!(call(&prog, AUDIT_ARCH_AARCH64, 40, [0; 6]), EPERM);
    assert_eq!(
        call(&prog, AUDIT_ARCH_AARCH64, 220, [ns, 0, 0, 0, 0, 0]),
        EPERM
    );
    assert_eq!(call(&prog, AUDIT_ARCH_ARM, 3, [0; 6]), ALLOW);
    assert_eq!(call(&prog, AUDIT_ARCH_ARM, 0x0f_0005, [0; 6]), ALLOW);
    assert_eq!(call(&prog, AUDIT_ARCH_X86_64, 0, [0; 6]), KILL_THREAD);
}

// ---- Real: a busybox shell under Docker's profile. ----

/// Runs `busybox sh -c script` in `dir`, in a private mount namespace of its own (so a mount
/// that wrongly succeeds vanishes with it), with no_new_privs and `filter` loaded before exec.
fn busybox_in_private_ns(filter: Option<&Filter>, dir: &Path, script: &str) -> Output {
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(["sh", "-c", script])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/bin:/usr/bin");
    let filter = filter.cloned();
    // SAFETY: runs between fork and exec; only raw syscalls, no allocation.
    unsafe {
        cmd.pre_exec(move || {
            let fail = || Err(std::io::Error::last_os_error());
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return fail();
            }
            let flags = libc::MS_REC | libc::MS_PRIVATE;
            if libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                flags,
                std::ptr::null(),
            ) != 0
            {
                return fail();
            }
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return fail();
            }
            match &filter {
                Some(f) => f
                    .load()
                    .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL)),
                None => Ok(()),
            }
        });
    }
    cmd.output().expect("busybox runs")
}

const SCRIPT: &str = "\
    ls / >/dev/null && echo ls=ok
    echo hello > f && cat f
    sh -c 'echo nested=$((1 + 2))'
    id -u
    ls -l f | grep -q rw && echo pipe=ok
    unshare -m true; echo unshare=$?
    mkdir m; mount -t tmpfs none m; echo mount=$?
";

#[test]
fn docker_profile_confines_a_real_shell() {
    let filter = Filter::new(&default_profile(&caps(&[]))).expect("compiles");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = busybox_in_private_ns(Some(&filter), dir.path(), SCRIPT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ctx = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    for line in ["ls=ok", "hello", "nested=3", "0", "pipe=ok"] {
        assert!(stdout.lines().any(|l| l == line), "missing {line:?}\n{ctx}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("unshare=") && l != "unshare=0"),
        "{ctx}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("mount=") && l != "mount=0"),
        "{ctx}"
    );
    assert!(stderr.contains("Operation not permitted"), "{ctx}");

    // Control: without the filter the same (root) shell may unshare and mount, so the denials
    // above are the filter's doing. The mount dies with the private namespace.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = busybox_in_private_ns(None, dir.path(), SCRIPT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("unshare=0") && stdout.contains("mount=0"),
        "{stdout}"
    );
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("reads mounts");
    assert!(
        !mounts.contains(&dir.path().display().to_string()),
        "mount leaked"
    );
}
