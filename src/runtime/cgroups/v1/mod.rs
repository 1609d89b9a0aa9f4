//! cgroup v1 (legacy, or hybrid with a cgroup2 mount beside the v1 hierarchies): one directory
//! per hierarchy, all at the same relative path.

mod blkio;
mod cpu;
mod cpuset;
mod devices;
mod freezer;
mod hugetlb;
mod memory;
mod pids;
mod stats;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::detect::Hierarchy;
use super::error::CgroupError;
use super::stats::CgroupStats;
use super::{fsio, procs, remove};

#[derive(Debug, Clone)]
pub(crate) struct V1Manager {
    rel: PathBuf,
    hierarchies: Vec<Hierarchy>,
    /// The hybrid layout's cgroup2 mount: joined like runc does, and used for hugetlb when
    /// that controller lives only on v2.
    unified: Option<PathBuf>,
}

impl V1Manager {
    pub fn new(hierarchies: Vec<Hierarchy>, unified: Option<PathBuf>, rel: PathBuf) -> V1Manager {
        V1Manager {
            rel,
            hierarchies,
            unified,
        }
    }

    /// This container's directory in the hierarchy holding `controller`.
    fn dir(&self, controller: &str) -> Option<PathBuf> {
        self.hierarchies
            .iter()
            .find(|h| h.has(controller))
            .map(|h| h.mount.join(&self.rel))
    }

    fn need(&self, controller: &'static str, what: &'static str) -> Result<PathBuf, CgroupError> {
        self.dir(controller)
            .ok_or_else(|| CgroupError::ControllerMissing {
                controller: controller.to_string(),
                what: what.to_string(),
                path: self.rel.clone(),
            })
    }

    /// Every directory this manager owns, one per hierarchy (plus the hybrid v2 one).
    pub fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .hierarchies
            .iter()
            .map(|h| h.mount.join(&self.rel))
            .collect();
        dirs.extend(self.unified.iter().map(|u| u.join(&self.rel)));
        dirs
    }

    /// The hierarchy mounts the container's directories are under (plus the hybrid v2 one).
    pub fn bases(&self) -> Vec<PathBuf> {
        let mut bases: Vec<PathBuf> = self.hierarchies.iter().map(|h| h.mount.clone()).collect();
        bases.extend(self.unified.iter().cloned());
        bases
    }

    pub fn rel(&self) -> &Path {
        &self.rel
    }

    pub fn create(&self) -> Result<(), CgroupError> {
        for h in &self.hierarchies {
            if h.has("cpuset") {
                // Tasks cannot join a cpuset with empty cpus/mems: fill them from the parent.
                cpuset::create(&h.mount, &self.rel)?;
            } else {
                fsio::mkdir_all(&h.mount.join(&self.rel))?;
            }
        }
        if let Some(u) = &self.unified {
            fsio::mkdir_all(&u.join(&self.rel))?;
        }
        Ok(())
    }

    /// The hybrid layout's cgroup2 directory for this container.
    pub fn unified_dir(&self) -> Option<PathBuf> {
        self.unified.as_ref().map(|u| u.join(&self.rel))
    }

    /// See `Manager::join_v1_self`.
    pub fn join_self(&self) -> Result<(), CgroupError> {
        for h in &self.hierarchies {
            procs::add_current_thread_v1(&h.mount.join(&self.rel))?;
        }
        Ok(())
    }

    pub fn add_task(&self, pid: i32) -> Result<(), CgroupError> {
        self.create()?;
        for dir in self.dirs() {
            procs::add(&dir, pid)?;
        }
        Ok(())
    }

    /// In runc's subsystem order: cpuset, devices, memory, cpu, pids, blkio, hugetlb.
    pub fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(CgroupError::Resource {
                what: "unified resources",
                reason: "they need cgroup v2, and this host runs cgroup v1".into(),
            });
        }
        self.create()?;
        if let Some(c) = r.cpu().as_ref().filter(|c| cpuset::wants(c)) {
            cpuset::apply(&self.need("cpuset", "cpuset cpus/mems")?, c)?;
        }
        if let Some(d) = r.devices().as_ref().filter(|d| !d.is_empty()) {
            devices::apply(&self.need("devices", "device rules")?, d)?;
        }
        if let Some(m) = r.memory().as_ref().filter(|m| memory::wants(m)) {
            memory::apply(&self.need("memory", "memory limits")?, m)?;
        }
        if let Some(c) = r.cpu().as_ref().filter(|c| cpu::wants(c)) {
            cpu::apply(&self.need("cpu", "cpu shares/quota")?, c)?;
        }
        if let Some(p) = r.pids() {
            pids::apply(&self.need("pids", "pids limit")?, p)?;
        }
        if let Some(b) = r.block_io().as_ref().filter(|b| blkio::wants(b)) {
            blkio::apply(&self.need("blkio", "block I/O limits")?, b)?;
        }
        if let Some(h) = r.hugepage_limits().as_ref().filter(|h| !h.is_empty()) {
            hugetlb::apply(self.dir("hugetlb"), self.unified.as_deref(), &self.rel, h)?;
        }
        Ok(())
    }

    pub fn freeze(&self) -> Result<(), CgroupError> {
        freezer::freeze(&self.need("freezer", "freeze")?)
    }

    pub fn thaw(&self) -> Result<(), CgroupError> {
        freezer::thaw(&self.need("freezer", "thaw")?)
    }

    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self.dir("freezer") {
            Some(dir) => freezer::is_frozen(&dir),
            None => Ok(false),
        }
    }

    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        if let Some(dir) = self.dirs().first() {
            fsio::must_exist(dir)?;
        }
        stats::read(
            self.dir("cpu").as_deref(),
            self.dir("cpuacct").as_deref(),
            self.dir("memory").as_deref(),
            self.dir("pids").as_deref(),
            self.dir("blkio").as_deref(),
        )
    }

    /// Any hierarchy lists the same processes; prefer the ones every container joins.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = ["devices", "freezer", "pids", "memory"]
            .iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.dirs().into_iter().next());
        match dir {
            Some(dir) if dir.exists() => procs::list_recursive(&dir),
            _ => Ok(Vec::new()),
        }
    }

    /// memory.oom_control has "oom_kill N" since Linux 4.13.
    pub fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        let Some(dir) = self.dir("memory") else {
            return Ok(0);
        };
        Ok(fsio::read_keyed_opt(&dir, "memory.oom_control")?
            .and_then(|m| m.get("oom_kill").copied())
            .unwrap_or(0))
    }

    /// Removes the directory in every hierarchy, reporting the first failure after trying all.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut first_err = None;
        for dir in self.dirs() {
            if let Err(e) = remove::remove_tree(&dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Parent directories from the mount down to `rel`'s leaf, each paired with its parent.
fn chain(mount: &Path, rel: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut dir = mount.to_path_buf();
    for part in rel.components() {
        let parent = dir.clone();
        dir.push(part);
        out.push((dir.clone(), parent));
    }
    out
}
