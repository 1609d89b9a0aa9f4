//! Facts about the host, read once: kernel, OS, CPUs, memory, cgroup layout.

use std::sync::OnceLock;

use crate::util::caps::CAP_NAMES;

#[derive(Debug, Clone)]
pub struct HostFacts {
    pub kernel_version: String,
    pub operating_system: String,
    pub os_version: String,
    pub hostname: String,
    pub ncpu: i64,
    pub mem_total: i64,
    pub cgroup_version: &'static str,
}

impl HostFacts {
    pub fn get() -> &'static HostFacts {
        static FACTS: OnceLock<HostFacts> = OnceLock::new();
        FACTS.get_or_init(read)
    }
}

fn read() -> HostFacts {
    let uts = nix::sys::utsname::uname().ok();
    let kernel_version = uts
        .as_ref()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let hostname = uts
        .as_ref()
        .map(|u| u.nodename().to_string_lossy().into_owned())
        .unwrap_or_default();
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let field = |key: &str| {
        os_release
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(|v| v.trim_matches('"').to_string())
    };
    HostFacts {
        kernel_version,
        operating_system: field("PRETTY_NAME").unwrap_or_else(|| "Linux".into()),
        os_version: field("VERSION_ID").unwrap_or_default(),
        hostname,
        ncpu: std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1),
        mem_total: mem_total().unwrap_or(0),
        cgroup_version: cgroup_version(),
    }
}

fn mem_total() -> Option<i64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: i64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// "2" when /sys/fs/cgroup is a cgroup2 mount (unified), else "1" (legacy or hybrid).
fn cgroup_version() -> &'static str {
    match nix::sys::statfs::statfs("/sys/fs/cgroup") {
        Ok(s) if s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC => "2",
        _ => "1",
    }
}

/// Docker's architecture names ("amd64"), from Rust's ("x86_64").
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "s390x" => "s390x",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The capabilities this daemon holds (its bounding set): `--privileged` grants these and no
/// more, since a runtime cannot give what its parent lacks.
pub fn daemon_caps() -> Vec<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    CAP_NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// The daemon's hard limit on open files: containers cannot be given more.
pub fn nofile_hard_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(_, hard)| hard)
        .unwrap_or(1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn daemon_caps_are_named() {
        let caps = super::daemon_caps();
        assert!(caps.iter().all(|c| c.starts_with("CAP_")));
        // Tests run as root.
        assert!(caps.contains(&"CAP_CHOWN".to_string()), "{caps:?}");
        assert!(super::nofile_hard_limit() > 0);
    }
}
