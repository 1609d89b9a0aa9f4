//! An exec's process (moby daemon/exec_linux.go execSetPlatformOpt): the container's own
//! process as its spec has it (capabilities, rlimits, no-new-privileges, AppArmor, OOM score),
//! with the exec's command, environment, user, directory and terminal.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{BoxBuilder, LinuxCapabilities, Process, User};

use super::error::SpecError;
use super::{caps, env, user};

/// What the exec asks for, as `exec create` resolved it.
pub struct ExecProcess<'a> {
    pub cmd: &'a [String],
    /// The container's variables then the exec's (`-e`), merged as dockerd merges them.
    pub config_env: &'a [String],
    pub exec_env: &'a [String],
    pub hostname: &'a str,
    pub tty: bool,
    /// `[height, width]`.
    pub console_size: Option<[u16; 2]>,
    /// Empty: the container's user as its spec has it.
    pub user: &'a str,
    pub group_add: &'a [String],
    /// Empty: the container's working directory.
    pub working_dir: &'a str,
    pub privileged: bool,
    /// The daemon's capabilities (all of them for `--privileged`).
    pub daemon_caps: &'a [String],
}

pub fn exec_process(
    base: &Process,
    rootfs: &Path,
    req: &ExecProcess<'_>,
) -> Result<Process, SpecError> {
    let mut p = base.clone();
    p.set_args(Some(req.cmd.to_vec()));
    p.set_terminal(req.tty.then_some(true));
    p.set_console_size(match req.console_size {
        Some([h, w]) if req.tty && (h, w) != (0, 0) => Some(
            BoxBuilder::default()
                .height(h as u64)
                .width(w as u64)
                .build()?,
        ),
        _ => None,
    });
    let defaults = env::process_env(req.config_env, req.hostname, req.tty);
    p.set_env(Some(env::replace_or_append(defaults, req.exec_env)));
    if !req.user.is_empty() {
        p.set_user(resolve(rootfs, req.user, req.group_add)?);
    }
    if !req.working_dir.is_empty() {
        p.set_cwd(PathBuf::from(req.working_dir));
    }
    if req.privileged {
        let set = caps::to_oci(&caps::available(req.daemon_caps))?;
        let mut c = LinuxCapabilities::default();
        c.set_bounding(Some(set.clone()));
        c.set_effective(Some(set.clone()));
        c.set_permitted(Some(set));
        p.set_capabilities(Some(c));
        // As dockerd: a privileged exec runs unconfined.
        p.set_apparmor_profile(None);
        p.set_no_new_privileges(None);
    }
    Ok(p)
}

/// The exec's user inside the container's root (`exec create` checks it early, as dockerd).
pub fn resolve(rootfs: &Path, name: &str, group_add: &[String]) -> Result<User, SpecError> {
    let resolved = user::resolve_user(rootfs, name, group_add)?;
    let mut u = User::default();
    u.set_uid(resolved.uid);
    u.set_gid(resolved.gid);
    u.set_additional_gids(Some(resolved.additional_gids));
    Ok(u)
}
