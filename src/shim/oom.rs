//! Whether the kernel OOM-killed something in the container: its memory cgroup's `oom_kill`
//! counter (v1 `memory.oom_control`, v2 `memory.events`), read once at create and once at exit.

use std::fs;
use std::path::{Path, PathBuf};

pub struct OomCounter {
    file: PathBuf,
    base: u64,
}

impl OomCounter {
    /// Finds the counter of the cgroup `pid` lives in; `None` when it cannot be read.
    pub fn for_pid(pid: i32) -> Option<OomCounter> {
        let cgroups = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let file = counter_file(&cgroups, Path::new("/sys/fs/cgroup"))?;
        let base = read_counter(&file)?;
        Some(OomCounter { file, base })
    }

    pub fn killed(&self) -> bool {
        read_counter(&self.file).is_some_and(|n| n > self.base)
    }
}

/// The counter file for a `/proc/<pid>/cgroup` text: the v1 memory controller's if there is one,
/// else the unified hierarchy's (mounted at the root, or at `unified/` on hybrid hosts).
fn counter_file(proc_cgroup: &str, root: &Path) -> Option<PathBuf> {
    let mut unified = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let rel = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "memory") {
            return Some(root.join("memory").join(rel).join("memory.oom_control"));
        }
        if controllers.is_empty() {
            unified = Some(rel.to_string());
        }
    }
    let rel = unified?;
    let base = if root.join("cgroup.controllers").exists() {
        root.to_path_buf()
    } else {
        root.join("unified")
    };
    Some(base.join(rel).join("memory.events"))
}

fn read_counter(file: &Path) -> Option<u64> {
    parse_oom_kill(&fs::read_to_string(file).ok()?)
}

fn parse_oom_kill(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_v1_memory_then_unified() {
        let root = Path::new("/r");
        let v1 = "9:name=systemd:/\n4:memory:/berth/c1\n0::/\n";
        assert_eq!(
            counter_file(v1, root).unwrap(),
            Path::new("/r/memory/berth/c1/memory.oom_control")
        );
        let v2 = "0::/berth/c1\n";
        assert_eq!(
            counter_file(v2, root).unwrap(),
            Path::new("/r/unified/berth/c1/memory.events")
        );
    }

    #[test]
    fn parses_the_counter() {
        assert_eq!(
            parse_oom_kill("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
            Some(2)
        );
        assert_eq!(parse_oom_kill("low 0\noom 1\noom_kill 0\n"), Some(0));
        assert_eq!(parse_oom_kill("nothing"), None);
    }
}
