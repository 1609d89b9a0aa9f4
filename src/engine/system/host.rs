//! Facts about the host, read once: kernel, OS, CPUs, memory, cgroup layout.

use std::sync::OnceLock;

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
