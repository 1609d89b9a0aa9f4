//! The intermediate process: it exists because a process cannot move itself into a new pid
//! namespace, only its future children. It joins the cgroup (born in the cgroup2 directory
//! where clone3 allowed it; it moves itself into the v1 hierarchies), joins or creates the
//! namespaces (user first, and the main process writes the id maps of a new user namespace),
//! forks the init (pid 1 of a new pid namespace), reports the init's pid and exits. The init is
//! then re-parented to the main process, which is a subreaper.

use std::time::Duration;

use crate::runtime::namespaces::{self, Kind};
use crate::runtime::process::fork;
use crate::runtime::process::launch::{Launch, Target, report};
use crate::runtime::process::message::{
    InitReceiver, InitToMain, IntermediateReceiver, IntermediateToMain, Stage,
};
use crate::runtime::process::{init, sealed_exe, setup};
use crate::runtime::rootfs::cgroupfs;

const WAIT: Duration = Duration::from_secs(60);

pub fn run(
    l: &Launch,
    in_cgroup2: bool,
    to_main: &IntermediateToMain,
    from_main: &IntermediateReceiver,
    init_to_main: InitToMain,
    init_rx: InitReceiver,
) -> i32 {
    // Until it execs, nothing in a container may open our /proc files (see sealed_exe).
    if let Err(e) = sealed_exe::set_non_dumpable() {
        return report(
            to_main,
            Stage::Namespaces,
            format!("prctl(PR_SET_DUMPABLE): {e}"),
        );
    }
    // First, while still in the host's namespaces; the init inherits all of it at fork.
    if let Some(cg) = l.cgroup {
        let joined = cg.join_v1_self().and_then(|()| {
            if in_cgroup2 {
                Ok(())
            } else {
                cg.join_cgroup2_self()
            }
        });
        if let Err(e) = joined {
            return report(to_main, Stage::Cgroup, e);
        }
    }
    match &l.target {
        Target::Create(c) => {
            // Our cgroup paths, read now: absolute, before any cgroup namespace hides them.
            let needs_cgroup_mount = c
                .spec
                .mounts()
                .iter()
                .flatten()
                .any(|m| m.typ().as_deref() == Some("cgroup"));
            let cgroup_plan = if needs_cgroup_mount {
                match cgroupfs::plan() {
                    Ok(p) => p,
                    Err(e) => return report(to_main, Stage::Rootfs, e),
                }
            } else {
                cgroupfs::CgroupMountPlan::default()
            };
            let joins = match namespaces::open_join_fds(&c.ns) {
                Ok(j) => j,
                Err(e) => return report(to_main, Stage::Namespaces, e),
            };
            if let Err(e) = joins.join_all() {
                return report(to_main, Stage::Namespaces, e);
            }
            if c.ns.is_new(Kind::User) {
                if let Err(e) = namespaces::unshare(libc::CLONE_NEWUSER) {
                    return report(to_main, Stage::UserNamespace, e);
                }
                if let Err(e) = to_main.write_mappings() {
                    return report(to_main, Stage::UserNamespace, e);
                }
                if let Err(e) = from_main.wait_mappings_written(WAIT) {
                    return report(to_main, Stage::UserNamespace, e);
                }
                // Become root of the new namespace (uid 0 must be mapped, as in runc).
                if let Err(e) = setup::set_user(0, 0, &[]) {
                    return report(
                        to_main,
                        Stage::UserNamespace,
                        format!("cannot become root in the new user namespace (is 0 mapped?): {e}"),
                    );
                }
            }
            if let Err(e) = namespaces::unshare(c.ns.unshare_flags()) {
                return report(to_main, Stage::Namespaces, e);
            }
            // Clock offsets of a new time namespace can only be set before its first process.
            if c.ns.is_new(Kind::Time)
                && let Some(offsets) = c
                    .spec
                    .linux()
                    .as_ref()
                    .and_then(|l| l.time_offsets().as_ref())
                && let Err(e) =
                    std::fs::write("/proc/self/timens_offsets", time_offsets_text(offsets))
            {
                return report(
                    to_main,
                    Stage::Namespaces,
                    format!("write timens_offsets: {e}"),
                );
            }
            spawn_init(to_main, || {
                init::container_init(l, c, &cgroup_plan, &init_to_main, &init_rx)
            })
        }
        Target::Join(j) => {
            if let Err(e) = namespaces::join_pidfd(j.pidfd, j.init_pid, j.ns_flags) {
                return report(to_main, Stage::Namespaces, e);
            }
            spawn_init(to_main, || init::exec_init(l, &init_to_main))
        }
    }
}

/// `linux.timeOffsets` in /proc/<pid>/timens_offsets format ("<clock> <secs> <nanosecs>").
pub fn time_offsets_text(
    offsets: &std::collections::HashMap<String, oci_spec::runtime::LinuxTimeOffset>,
) -> String {
    let mut clocks: Vec<&String> = offsets.keys().collect();
    clocks.sort();
    clocks
        .into_iter()
        .map(|clock| {
            let o = &offsets[clock];
            format!(
                "{clock} {} {}\n",
                o.secs().unwrap_or(0),
                o.nanosecs().unwrap_or(0)
            )
        })
        .collect()
}

fn spawn_init(to_main: &IntermediateToMain, child: impl FnOnce() -> i32) -> i32 {
    let ours = to_main.raw_fd();
    let pid = match fork::fork_child(|| {
        // The init has no business on our channel; closing it lets the main process see EOF
        // if we die before reporting.
        // SAFETY: closing an inherited descriptor the init never uses.
        unsafe { libc::close(ours) };
        child()
    }) {
        Ok(p) => p,
        Err(e) => return report(to_main, Stage::Namespaces, e),
    };
    if let Err(e) = to_main.intermediate_done(pid) {
        // The main process is gone; take the init down with us.
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        return report(to_main, Stage::Namespaces, e);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_offsets_in_kernel_format() {
        let offsets: std::collections::HashMap<String, oci_spec::runtime::LinuxTimeOffset> =
            serde_json::from_str(
                r#"{"monotonic":{"secs":10},"boottime":{"secs":-5,"nanosecs":7}}"#,
            )
            .unwrap();
        assert_eq!(
            time_offsets_text(&offsets),
            "boottime -5 7\nmonotonic 10 0\n"
        );
    }
}
