//! `exec`: a new process in a running container, joining the init's namespaces (through its
//! pidfd) and cgroup. Without --detach the runtime waits for it and exits with its status;
//! errors exit 255, as runc's.

use oci_spec::runtime::{Capability, Process};

use crate::runtime::cgroup;
use crate::runtime::cli::{ExecOpts, GlobalOpts};
use crate::runtime::commands::create::write_pid_file;
use crate::runtime::container::{ContainerState, Status};
use crate::runtime::error::RuntimeError;
use crate::runtime::log;
use crate::runtime::namespaces::NamespacePlan;
use crate::runtime::process::launch::{self, JoinTarget, Launch, Target};
use crate::runtime::process::setup::ProcessPlan;
use crate::runtime::process::wait;
use crate::runtime::procfs;
use crate::runtime::spec;
use crate::runtime::tty;

/// `uid[:gid]`.
pub fn parse_user(s: &str) -> Result<(u32, Option<u32>), RuntimeError> {
    let bad = || RuntimeError::BadUser(s.to_string());
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = g.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

/// The process to run: --process, or the container's own process with the flags applied.
fn build_process(
    o: &ExecOpts,
    st: &ContainerState,
    warnings: &mut Vec<String>,
) -> Result<Process, RuntimeError> {
    if let Some(p) = &o.process {
        return Ok(spec::load_process(p, warnings)?);
    }
    let mut p = st.spec.process().clone().unwrap_or_default();
    p.set_args(Some(o.args.clone()));
    p.set_terminal(Some(o.tty));
    if let Some(cwd) = &o.cwd {
        p.set_cwd(cwd.into());
    }
    if !o.env.is_empty() {
        // Later entries win, so an --env overrides the container's value.
        let mut env = p.env().clone().unwrap_or_default();
        for e in &o.env {
            let key = e.split('=').next().unwrap_or(e);
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        p.set_env(Some(env));
    }
    if let Some(u) = &o.user {
        let (uid, gid) = parse_user(u)?;
        let user = p.user_mut();
        user.set_uid(uid);
        if let Some(g) = gid {
            user.set_gid(g);
        }
    }
    if !o.additional_gids.is_empty() {
        let gids = o
            .additional_gids
            .iter()
            .map(|g| {
                g.parse::<u32>()
                    .map_err(|_| RuntimeError::BadUser(g.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        p.user_mut().set_additional_gids(Some(gids));
    }
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if !o.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for c in &o.caps {
            let cap: Capability = match serde_json::from_value(serde_json::Value::String(c.clone()))
            {
                Ok(cap) => cap,
                Err(_) => {
                    warnings.push(format!("ignoring unknown capability {c}"));
                    continue;
                }
            };
            let with = |set: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = set.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            let (b, e, pm) = (
                with(caps.bounding()),
                with(caps.effective()),
                with(caps.permitted()),
            );
            caps.set_bounding(b);
            caps.set_effective(e);
            caps.set_permitted(pm);
        }
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

pub fn run(global: &GlobalOpts, o: &ExecOpts) -> Result<i32, RuntimeError> {
    let st = ContainerState::load(&global.root, &o.id)?;
    match st.status(&global.root) {
        Status::Stopped => {
            return Err(RuntimeError::CannotExec(
                "cannot exec in a stopped container",
            ));
        }
        Status::Paused if !o.ignore_paused => {
            return Err(RuntimeError::CannotExec(
                "cannot exec in a paused container (use --ignore-paused to override)",
            ));
        }
        _ => {}
    }
    let mut warnings = Vec::new();
    let process = build_process(o, &st, &mut warnings)?;
    let seccomp = st.spec.linux().as_ref().and_then(|l| l.seccomp().clone());
    let (plan, more) = ProcessPlan::new(&process, seccomp.as_ref(), o.preserve_fds)?;
    for w in warnings.iter().chain(&more) {
        log::warn(w);
    }
    match (plan.terminal, o.console_socket.is_some()) {
        (true, false) => {
            return Err(RuntimeError::Console(
                "cannot allocate tty if runc will detach without setting console socket",
            ));
        }
        (false, true) => {
            return Err(RuntimeError::Console(
                "cannot use console socket if runc will not detach or allocate tty",
            ));
        }
        _ => {}
    }
    let ns = NamespacePlan::from_spec(
        st.spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_deref())
            .unwrap_or(&[]),
    )?;
    let pidfd = procfs::pidfd_for(st.init_pid, st.init_start_time)
        .map_err(|_| RuntimeError::CannotExec("cannot exec in a stopped container"))?;
    let console = o
        .console_socket
        .as_deref()
        .map(tty::connect_console_socket)
        .transpose()?;
    let manager = cgroup::for_container(&st)?;
    let l = Launch {
        target: Target::Join(JoinTarget {
            init_pid: st.init_pid,
            pidfd: &pidfd,
            ns_flags: ns.all_flags(),
        }),
        process: plan,
        console,
        cgroup: manager.as_ref(),
        resources: None,
        uid_mappings: Vec::new(),
        gid_mappings: Vec::new(),
    };
    let launched = launch::launch(&l, |_| Ok(String::new()))?;
    let pid = launched.pid;
    launched.commit()?;
    drop(l);
    if let Some(f) = &o.pid_file {
        write_pid_file(f, pid)?;
    }
    if o.detach {
        return Ok(0);
    }
    wait::wait_forwarding(pid).map_err(|source| RuntimeError::Sys {
        what: format!("wait for process {pid}"),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users() {
        assert_eq!(parse_user("1000").unwrap(), (1000, None));
        assert_eq!(parse_user("1000:100").unwrap(), (1000, Some(100)));
        assert!(parse_user("bob").is_err());
        assert!(parse_user("1:x").is_err());
    }
}
