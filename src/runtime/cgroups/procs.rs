//! Moving a process into a cgroup and listing a cgroup's processes.

use std::fs;
use std::path::Path;

use super::error::CgroupError;
use super::fsio;

pub(crate) fn add(dir: &Path, pid: i32) -> Result<(), CgroupError> {
    fsio::write(dir, "cgroup.procs", &pid.to_string())
}

/// The calling process (as "0"), through `cgroup.procs`.
pub(crate) fn add_self(dir: &Path) -> Result<(), CgroupError> {
    fsio::write(dir, "cgroup.procs", "0")
}

/// The calling thread (as "0"), through v1's `tasks`: in a single-threaded process, the process.
pub(crate) fn add_current_thread_v1(dir: &Path) -> Result<(), CgroupError> {
    fsio::write(dir, "tasks", "0")
}

/// Every process in `dir` and its sub-cgroups, sorted, without duplicates.
pub(crate) fn list_recursive(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let mut pids = Vec::new();
    collect(dir, &mut pids)?;
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

fn collect(dir: &Path, pids: &mut Vec<i32>) -> Result<(), CgroupError> {
    let path = dir.join("cgroup.procs");
    let text = fsio::read(dir, "cgroup.procs")?;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let pid = line.trim().parse::<i32>().map_err(|e| CgroupError::Parse {
            path: path.clone(),
            reason: format!("{line:?}: {e}"),
        })?;
        pids.push(pid);
    }
    let entries = fs::read_dir(dir).map_err(|source| CgroupError::Io {
        op: "read directory",
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect(&entry.path(), pids)?;
        }
    }
    Ok(())
}
