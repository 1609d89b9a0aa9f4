//! cgroup v2 (unified hierarchy): one directory per container.

mod cpu;
mod cpuset;
pub(crate) mod create;
mod devices;
pub(crate) mod events;
mod freezer;
pub(crate) mod hugetlb;
mod io;
mod memory;
mod pids;
mod stats;
mod unified;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::error::CgroupError;
use super::stats::CgroupStats;
use super::{fsio, procs, remove};

#[derive(Debug, Clone)]
pub(crate) struct V2Manager {
    root: PathBuf,
    rel: PathBuf,
    dir: PathBuf,
}

impl V2Manager {
    pub fn new(root: &Path, rel: PathBuf) -> V2Manager {
        V2Manager {
            root: root.to_path_buf(),
            dir: root.join(&rel),
            rel,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn rel(&self) -> &Path {
        &self.rel
    }

    pub fn create(&self) -> Result<(), CgroupError> {
        create::create(&self.root, &self.rel).map(|_| ())
    }

    pub fn add_task(&self, pid: i32) -> Result<(), CgroupError> {
        self.create()?;
        procs::add(&self.dir, pid)
    }

    /// In runc's order; `unified` last so raw keys override converted values.
    pub fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        self.create()?;
        let dir = &self.dir;
        if let Some(p) = r.pids() {
            pids::apply(dir, p)?;
        }
        if let Some(m) = r.memory() {
            memory::apply(dir, m)?;
        }
        if let Some(b) = r.block_io() {
            io::apply(dir, b)?;
        }
        if let Some(c) = r.cpu() {
            cpu::apply(dir, c)?;
            cpuset::apply(dir, c)?;
        }
        if let Some(d) = r.devices() {
            devices::apply(dir, d)?;
        }
        if let Some(h) = r.hugepage_limits() {
            hugetlb::apply(dir, h)?;
        }
        if let Some(u) = r.unified() {
            unified::apply(dir, u)?;
        }
        Ok(())
    }

    pub fn freeze(&self) -> Result<(), CgroupError> {
        freezer::freeze(&self.dir, freezer::FREEZE_TIMEOUT)
    }

    pub fn thaw(&self) -> Result<(), CgroupError> {
        freezer::thaw(&self.dir)
    }

    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        freezer::is_frozen(&self.dir)
    }

    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        fsio::must_exist(&self.dir)?;
        stats::read(&self.dir)
    }

    /// A cgroup that does not exist (yet, or any more) has no processes.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        if !self.dir.exists() {
            return Ok(Vec::new());
        }
        procs::list_recursive(&self.dir)
    }

    /// memory.events counts the whole subtree; no memory controller means no OOM kills here.
    pub fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        Ok(fsio::read_keyed_opt(&self.dir, "memory.events")?
            .and_then(|m| m.get("oom_kill").copied())
            .unwrap_or(0))
    }

    /// Waits (bounded, on cgroup.events) for exiting tasks to leave, then removes the tree.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        if self.dir.exists() {
            let _ = events::wait_for(&self.dir, "populated", 0, freezer::FREEZE_TIMEOUT / 10);
        }
        remove::remove_tree(&self.dir)
    }
}

/// `freeze` with a short bound, to test the timeout path.
#[cfg(test)]
pub(crate) fn freezer_for_tests(
    dir: &Path,
    timeout: std::time::Duration,
) -> Result<(), CgroupError> {
    freezer::freeze(dir, timeout)
}

/// Writes a v2 knob; a missing file means its controller is not enabled for this cgroup.
pub(crate) fn set(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    fsio::write(dir, file, value).map_err(|e| {
        if e.is_not_found() && dir.is_dir() {
            let controller = file.split('.').next().unwrap_or(file);
            CgroupError::ControllerMissing {
                controller: controller.to_string(),
                what: format!("{file}={value:?}"),
                path: dir.to_path_buf(),
            }
        } else {
            e
        }
    })
}
