//! `delete [--force] ID`: a stopped container is removed; a created one is killed first (it never
//! ran user code); a running or paused one only with --force. Removing means: every remaining
//! process killed, the cgroup destroyed, the state directory gone, then the poststop hooks.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::runtime::cgroup;
use crate::runtime::cli::GlobalOpts;
use crate::runtime::commands::kill;
use crate::runtime::container::{self, ContainerError, ContainerState, Status};
use crate::runtime::error::{RuntimeError, io_err};
use crate::runtime::hooks::{self, HookKind};
use crate::runtime::log;
use crate::runtime::procfs;

/// How long a SIGKILLed process may take to go away.
const KILL_WAIT: Duration = Duration::from_secs(10);

pub fn run(global: &GlobalOpts, id: &str, force: bool) -> Result<i32, RuntimeError> {
    let mut st = match ContainerState::load(&global.root, id) {
        Ok(st) => st,
        Err(ContainerError::NotExist { .. }) => {
            // A create that died before writing state.json leaves only the directory.
            let dir = container::container_dir(&global.root, id);
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(io_err("remove", &dir))?;
            }
            if force {
                return Ok(0);
            }
            return Err(ContainerError::NotExist { id: id.to_string() }.into());
        }
        Err(e) => return Err(e.into()),
    };
    match st.status(&global.root) {
        Status::Stopped => {}
        Status::Created => kill_init(&global.root, &mut st)?,
        _ if force => kill_init(&global.root, &mut st)?,
        status => {
            return Err(RuntimeError::NotStopped {
                id: id.to_string(),
                status: status.as_str(),
            });
        }
    }
    destroy(&global.root, &st)?;
    Ok(0)
}

/// SIGKILL to the init, then wait (bounded) for it to be gone.
fn kill_init(root: &Path, st: &mut ContainerState) -> Result<(), RuntimeError> {
    let fd = procfs::pidfd_for(st.init_pid, st.init_start_time).ok();
    kill::signal_container(root, st, libc::SIGKILL, false)?;
    if let Some(fd) = fd
        && !procfs::wait_pidfd(&fd, KILL_WAIT)
    {
        log::warn(&format!(
            "init {} of container {} did not exit within {KILL_WAIT:?} of SIGKILL",
            st.init_pid, st.id
        ));
    }
    Ok(())
}

/// Removes everything the container holds. Also used by `run` once the container exits.
pub fn destroy(root: &Path, st: &ContainerState) -> Result<(), RuntimeError> {
    let cg = cgroup::for_container(st)?;
    if let Some(cg) = &cg {
        // Without a pid namespace of its own, processes can outlive the init.
        let pids = cg.pids()?;
        if !pids.is_empty() {
            let fds: Vec<_> = pids
                .iter()
                .filter_map(|&p| {
                    let st = procfs::read_stat(p).ok()?;
                    procfs::pidfd_for(p, st.start_time).ok()
                })
                .collect();
            let _ = cg.freeze();
            for fd in &fds {
                let _ = procfs::pidfd_signal(fd, libc::SIGKILL);
            }
            let _ = cg.thaw();
            for fd in &fds {
                procfs::wait_pidfd(fd, KILL_WAIT);
            }
        }
        cg.destroy()?;
        if let Err(e) = cgroup::remove_recorded_parents(root, cg) {
            log::warn(&format!("container {}: {e}", st.id));
        }
    }
    let dir = st.dir(root);
    fs::remove_dir_all(&dir).map_err(io_err("remove", &dir))?;
    let poststop = hooks::of_kind(st.spec.hooks().as_ref(), HookKind::Poststop);
    if !poststop.is_empty() {
        let state = container::hook_state(st, Status::Stopped.as_str(), 0);
        hooks::run_all(&poststop, HookKind::Poststop, &state)?;
    }
    Ok(())
}
