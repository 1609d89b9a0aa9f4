//! `kill [--all] ID [SIGNAL]`, with runc 1.1's rules: the init is signalled through a pidfd
//! (no pid-reuse race); `--all` signals every process of the container with the cgroup frozen
//! around it, so nothing forks away meanwhile; SIGKILL to a paused container thaws it, since a
//! frozen task cannot die.

use std::path::Path;

use crate::runtime::cgroup;
use crate::runtime::cgroups::Manager;
use crate::runtime::cli::GlobalOpts;
use crate::runtime::container::{ContainerState, Status};
use crate::runtime::error::RuntimeError;
use crate::runtime::namespaces::Kind;
use crate::runtime::procfs;

pub fn run(global: &GlobalOpts, id: &str, signal: i32, all: bool) -> Result<i32, RuntimeError> {
    let mut st = ContainerState::load(&global.root, id)?;
    signal_container(&global.root, &mut st, signal, all)?;
    Ok(0)
}

/// Every process of the container: from its cgroup, or, without one, everything in the init's
/// pid namespace when the container has its own.
pub fn container_pids(st: &ContainerState, cg: Option<&Manager>) -> Result<Vec<i32>, RuntimeError> {
    if let Some(cg) = cg {
        return Ok(cg.pids()?);
    }
    if !st.init_alive() {
        return Ok(Vec::new());
    }
    let own_pidns = st
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| Kind::from_oci(n.typ()) == Kind::Pid && n.path().is_none())
        });
    if own_pidns && let Ok(m) = std::fs::metadata(format!("/proc/{}/ns/pid", st.init_pid)) {
        return Ok(procfs::pids_in_pid_namespace(&m));
    }
    Ok(vec![st.init_pid])
}

pub fn signal_container(
    root: &Path,
    st: &mut ContainerState,
    signal: i32,
    all: bool,
) -> Result<(), RuntimeError> {
    let status = st.status(root);
    let cg = cgroup::for_container(st)?;
    if all {
        if status == Status::Stopped && cg.is_none() {
            return Ok(());
        }
        let was_paused = status == Status::Paused;
        if let Some(cg) = &cg {
            let _ = cg.freeze();
        }
        for pid in container_pids(st, cg.as_ref())? {
            // SAFETY: kill with a pid and a signal number.
            unsafe { libc::kill(pid, signal) };
        }
        if let Some(cg) = &cg
            && (!was_paused || signal == libc::SIGKILL)
        {
            let _ = cg.thaw();
            if was_paused {
                st.paused = false;
                st.save(root)?;
            }
        }
        return Ok(());
    }
    if !status.has_init() {
        return Err(RuntimeError::NotRunning);
    }
    let fd =
        procfs::pidfd_for(st.init_pid, st.init_start_time).map_err(|_| RuntimeError::NotRunning)?;
    procfs::pidfd_signal(&fd, signal).map_err(|source| RuntimeError::Sys {
        what: "unable to signal init".to_string(),
        source,
    })?;
    if status == Status::Paused
        && signal == libc::SIGKILL
        && let Some(cg) = &cg
    {
        let _ = cg.thaw();
        st.paused = false;
        st.save(root)?;
    }
    Ok(())
}
