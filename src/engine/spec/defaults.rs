//! Docker's defaults for every container (moby daemon/pkg/oci/defaults.go, caps/defaults.go), as
//! our own data.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, Mount};

pub const OCI_VERSION: &str = "1.0.2-dev";

pub const DEFAULT_PATH_ENV: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `--shm-size` when not given: 64 MiB.
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

/// Below this a container cannot even start reliably; dockerd refuses it.
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;

pub const MAX_HOSTNAME_LEN: usize = 64;

/// Where `--init` puts docker-init inside the container.
pub const INIT_PATH_IN_CONTAINER: &str = "/sbin/docker-init";

/// The capabilities every container gets unless told otherwise, in Docker's order.
pub const DEFAULT_CAPS: [&str; 14] = [
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

/// Every capability the kernel headers name, in number order (0..=40).
pub const KNOWN_CAPS: [&str; 41] = crate::util::caps::CAP_NAMES;

/// Paths hidden from unprivileged containers (current moby's list, without the per-CPU
/// thermal_throttle entries, which depend on the host).
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
];

pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Docker's own mounts, in order; `/dev/shm` gets its size later.
pub fn mounts() -> Vec<Mount> {
    [
        ("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"][..]),
        (
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"][..],
        ),
        (
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ][..],
        ),
        (
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"][..],
        ),
        (
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"][..],
        ),
        (
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"][..],
        ),
        (
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777"][..],
        ),
    ]
    .into_iter()
    .map(|(dest, typ, source, opts)| mount(dest, typ, source, opts))
    .collect()
}

pub fn mount(dest: &str, typ: &str, source: &str, opts: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(dest.into());
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(source.into()));
    m.set_options(Some(opts.iter().map(|o| o.to_string()).collect()));
    m
}

/// The device cgroup: deny everything, then allow the few character devices every container has
/// (null, zero, full, tty, console, random/urandom), and keep /dev/fuse out explicitly.
pub fn device_rules() -> Vec<LinuxDeviceCgroup> {
    let mut rules = vec![device_rule(false, None, "rwm")];
    for (major, minor) in [(1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)] {
        rules.push(device_rule(
            true,
            Some((LinuxDeviceType::C, major, minor)),
            "rwm",
        ));
    }
    rules.push(device_rule(
        false,
        Some((LinuxDeviceType::C, 10, 229)),
        "rwm",
    ));
    rules
}

pub fn device_rule(
    allow: bool,
    dev: Option<(LinuxDeviceType, i64, i64)>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow);
    if let Some((typ, major, minor)) = dev {
        r.set_typ(Some(typ));
        r.set_major(Some(major));
        r.set_minor(Some(minor));
    }
    r.set_access(Some(access.to_string()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_caps_are_all_understood_by_oci_spec() {
        for name in KNOWN_CAPS {
            let parsed: Result<oci_spec::runtime::Capability, _> =
                serde_json::from_value(serde_json::Value::String(name.to_string()));
            let back = parsed.map(|c| serde_json::to_value(c).ok());
            assert_eq!(
                back.ok().flatten(),
                Some(serde_json::Value::String(name.to_string())),
                "{name}"
            );
        }
    }

    #[test]
    fn default_caps_are_known() {
        for c in DEFAULT_CAPS {
            assert!(KNOWN_CAPS.contains(&c), "{c}");
        }
    }

    #[test]
    fn default_device_rules_start_with_deny_all_and_end_with_fuse_denied() {
        let r = device_rules();
        assert_eq!(r.len(), 8);
        assert!(!r[0].allow() && r[0].typ().is_none());
        assert!(!r[7].allow());
        assert_eq!((r[7].major(), r[7].minor()), (Some(10), Some(229)));
    }
}
