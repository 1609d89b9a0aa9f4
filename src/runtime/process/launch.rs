//! The main process's half of the dance, for `create`/`run` (a new container) and `exec` (a
//! process joining one):
//!
//! 1. create the container's cgroup and apply the resources (before any process is in it);
//! 2. fork the intermediate, straight into the cgroup2 directory where there is one (it joins
//!    the v1 hierarchies itself, first thing, before it can enter a user or cgroup namespace);
//!    close the children's channel ends at once;
//! 3. write uid/gid maps when it asks (it cannot write its own);
//! 4. learn the init's pid; reap the intermediate;
//! 5. run the createRuntime/prestart hooks when the init asks (it waits, mounts in place,
//!    before pivot_root);
//! 6. wait for the init's "ready" (and, for exec, for its channel end to close at execve);
//! 7. (the caller saves the state, then `Launched::commit`) tell the init to wait for `start`.
//!
//! On any failure the children are killed, so a failed create leaves no process behind.

use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use std::time::Duration;

use oci_spec::runtime::{LinuxIdMapping, LinuxResources, Spec};

use crate::runtime::cgroups::{CgroupError, Manager};
use crate::runtime::namespaces::NamespacePlan;
use crate::runtime::process::channel::ChannelError;
use crate::runtime::process::fork::{self, ForkError};
use crate::runtime::process::intermediate;
use crate::runtime::process::message::{
    self, ChildFailure, InitEvent, IntermediateEvent, MessageError,
};
use crate::runtime::process::setup::ProcessPlan;

/// A backstop against a wedged child; the real bounds are the hooks' own timeouts.
const CHILD_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error(transparent)]
    Fork(#[from] ForkError),
    #[error("cannot become a child subreaper: {0}")]
    Subreaper(io::Error),
    #[error("cgroup: {0}")]
    Cgroup(#[from] CgroupError),
    #[error("cannot write {path}: {source}")]
    Mappings { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Hooks(String),
}

impl LaunchError {
    /// The failure reported by a child, when that is what this is.
    pub fn child_failure(&self) -> Option<&ChildFailure> {
        match self {
            LaunchError::Message(MessageError::Child(f)) => Some(f),
            _ => None,
        }
    }
}

/// A new container.
pub struct CreateTarget<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    /// The exec fifo, opened read-write by the main process (the init inherits it; in a user
    /// namespace it could not open the state directory itself).
    pub fifo: std::fs::File,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub ns: NamespacePlan,
    /// Whether any hook needs the init to pause before pivot_root.
    pub pre_pivot_sync: bool,
}

/// A process joining an existing container's namespaces.
pub struct JoinTarget<'a> {
    pub init_pid: i32,
    pub pidfd: &'a OwnedFd,
    pub ns_flags: libc::c_int,
}

pub enum Target<'a> {
    Create(CreateTarget<'a>),
    Join(JoinTarget<'a>),
}

pub struct Launch<'a> {
    pub target: Target<'a>,
    pub process: ProcessPlan,
    /// Connected console socket, when the process gets a terminal.
    pub console: Option<OwnedFd>,
    pub cgroup: Option<&'a Manager>,
    /// Applied before any process is in the cgroup (create only).
    pub resources: Option<&'a LinuxResources>,
    pub uid_mappings: Vec<LinuxIdMapping>,
    pub gid_mappings: Vec<LinuxIdMapping>,
}

/// Kills what we started if we bail out early.
struct Children {
    pids: Vec<i32>,
    armed: bool,
}

impl Drop for Children {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for &pid in &self.pids {
            // SAFETY: signalling our own children.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for &pid in &self.pids {
            let _ = fork::wait_child(pid);
        }
    }
}

fn open_cgroup_dir(dir: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
}

fn mapping_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

fn write_mappings(l: &Launch, pid: i32) -> Result<(), LaunchError> {
    for (file, maps) in [("uid_map", &l.uid_mappings), ("gid_map", &l.gid_mappings)] {
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        fs::write(&path, mapping_text(maps))
            .map_err(|source| LaunchError::Mappings { path, source })?;
    }
    Ok(())
}

/// Runs the dance; returns the container's init (create) or the exec'd process.
/// `create_runtime_hooks(init_pid)` runs the runtime-namespace hooks and returns the state JSON
/// the init passes to its own hooks.
pub fn launch(
    l: &Launch,
    mut create_runtime_hooks: impl FnMut(i32) -> Result<String, String>,
) -> Result<Launched, LaunchError> {
    fork::become_subreaper().map_err(LaunchError::Subreaper)?;
    let message::Channels {
        from_intermediate,
        intermediate_to_main,
        from_init,
        init_to_main,
        to_intermediate,
        intermediate_rx,
        to_init,
        init_rx,
    } = message::channels()?;
    // The parent's ends are closed in the child by number (the child never runs destructors);
    // the children's ends move into the closure, which the parent drops right after the fork.
    let parent_fds = [
        from_intermediate.raw_fd(),
        from_init.raw_fd(),
        to_intermediate.raw_fd(),
        to_init.raw_fd(),
    ];
    let child_ends = (intermediate_to_main, intermediate_rx, init_to_main, init_rx);
    if let Some(cg) = l.cgroup {
        cg.create()?;
        if let Some(r) = l.resources {
            cg.apply(r)?;
        }
    }
    let cgroup2 = l
        .cgroup
        .and_then(Manager::cgroup2_dir)
        .and_then(|d| open_cgroup_dir(&d).ok());
    let intermediate_pid =
        fork::fork_child_into(cgroup2.as_ref().map(|f| f.as_fd()), move |in_cgroup2| {
            for fd in parent_fds {
                // SAFETY: closing descriptors this process inherited and will not use.
                unsafe { libc::close(fd) };
            }
            let (to_main, from_main, init_to_main, init_rx) = child_ends;
            intermediate::run(l, in_cgroup2, &to_main, &from_main, init_to_main, init_rx)
        })?;
    drop(cgroup2);
    let mut children = Children {
        pids: vec![intermediate_pid],
        armed: true,
    };

    let init_pid = loop {
        match from_intermediate.intermediate_event(CHILD_TIMEOUT)? {
            IntermediateEvent::WriteMappings => {
                write_mappings(l, intermediate_pid)?;
                to_intermediate.mappings_written()?;
            }
            IntermediateEvent::Done { init_pid } => break init_pid,
        }
    };
    // The init is our child too now (subreaper); kill it as well if we fail from here on.
    children.pids.push(init_pid);
    let _ = fork::wait_child(intermediate_pid);
    children.pids.retain(|&p| p != intermediate_pid);

    while let InitEvent::RunCreateRuntimeHooks = from_init.init_event(CHILD_TIMEOUT)? {
        let state = create_runtime_hooks(init_pid).map_err(LaunchError::Hooks)?;
        to_init.hooks_done(state)?;
    }
    let to_init = match l.target {
        Target::Join(_) => {
            from_init.wait_exec(CHILD_TIMEOUT)?;
            None
        }
        Target::Create(_) => Some(to_init),
    };
    Ok(Launched {
        pid: init_pid,
        to_init,
        children,
    })
}

/// A started process, killed again unless `commit` is called: a create that fails after this
/// point (saving the state, the pid file) leaves nothing running.
pub struct Launched {
    pub pid: i32,
    to_init: Option<message::InitSender>,
    children: Children,
}

impl Launched {
    /// Keeps the process. A container init is told the state is saved and it may now wait for
    /// `start`; it exits instead if the main process goes away before this.
    pub fn commit(mut self) -> Result<(), LaunchError> {
        if let Some(t) = &self.to_init {
            t.commit()?;
        }
        self.children.armed = false;
        Ok(())
    }
}

/// The init and intermediate both report failures through this, then exit non-zero.
pub(super) fn report(
    to_main: &dyn message::ReportFailure,
    stage: message::Stage,
    err: impl std::fmt::Display,
) -> i32 {
    let _ = to_main.failure(ChildFailure {
        stage,
        message: err.to_string(),
    });
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_kernel_format() {
        let m: LinuxIdMapping =
            serde_json::from_str(r#"{"containerID":0,"hostID":100000,"size":65536}"#).unwrap();
        assert_eq!(mapping_text(&[m]), "0 100000 65536\n");
    }
}
