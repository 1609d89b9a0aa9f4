//! The spec's `process`: command, environment, user, capabilities and limits of the container's
//! first process (moby withCommonOptions, WithUser, WithCapabilities, withRlimits, WithOOMScore).

use std::path::PathBuf;

use oci_spec::runtime::{BoxBuilder, LinuxCapabilities, Process, User};

use super::defaults::INIT_PATH_IN_CONTAINER;
use super::error::SpecError;
use super::{SpecInput, caps, env, rlimits, user};
use crate::models::{ContainerConfig, HostConfig};

pub(crate) fn process(
    input: &SpecInput,
    host: &HostConfig,
    caps: &[String],
    no_new_privileges: bool,
    init: bool,
) -> Result<Process, SpecError> {
    let config = input.config;
    let tty = config.tty.unwrap_or(false);
    let mut p = Process::default();
    p.set_terminal(tty.then_some(true));
    p.set_console_size(console_size(host, tty)?);
    p.set_user(oci_user(input, host)?);
    p.set_args(Some(args(config, init)?));
    p.set_command_line(None);
    p.set_env(Some(env::process_env(
        config.env.as_deref().unwrap_or_default(),
        input.hostname,
        tty,
    )));
    p.set_cwd(PathBuf::from(
        config
            .working_dir
            .as_deref()
            .filter(|w| !w.is_empty())
            .unwrap_or("/"),
    ));
    p.set_capabilities(Some(capabilities(caps)?));
    p.set_rlimits(rlimits::rlimits(
        host.ulimits.as_deref().unwrap_or_default(),
        input.daemon_nofile_hard,
    )?);
    p.set_no_new_privileges(no_new_privileges.then_some(true));
    p.set_apparmor_profile(None);
    p.set_oom_score_adj(Some(host.oom_score_adj.unwrap_or(0) as i32));
    p.set_selinux_label(None);
    p.set_io_priority(None);
    p.set_scheduler(None);
    p.set_exec_cpu_affinity(None);
    Ok(p)
}

/// Entrypoint then Cmd, behind docker-init for `--init`.
fn args(config: &ContainerConfig, init: bool) -> Result<Vec<String>, SpecError> {
    let mut args: Vec<String> = Vec::new();
    if init {
        args.extend([INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]);
    }
    let command: Vec<String> = config
        .entrypoint
        .iter()
        .flatten()
        .chain(config.cmd.iter().flatten())
        .cloned()
        .collect();
    if command.is_empty() {
        return Err(SpecError::NoCommand);
    }
    args.extend(command);
    Ok(args)
}

fn oci_user(input: &SpecInput, host: &HostConfig) -> Result<User, SpecError> {
    let resolved = user::resolve_user(
        input.rootfs,
        input.config.user.as_deref().unwrap_or(""),
        host.group_add.as_deref().unwrap_or_default(),
    )?;
    let mut user = User::default();
    user.set_uid(resolved.uid);
    user.set_gid(resolved.gid);
    user.set_additional_gids(Some(resolved.additional_gids));
    Ok(user)
}

/// The same set bounding, effective and permitted, for root and other users alike (current
/// dockerd); nothing inheritable or ambient.
fn capabilities(caps: &[String]) -> Result<LinuxCapabilities, SpecError> {
    let set = caps::to_oci(caps)?;
    let mut c = LinuxCapabilities::default();
    c.set_bounding(Some(set.clone()));
    c.set_effective(Some(set.clone()));
    c.set_permitted(Some(set));
    c.set_inheritable(None);
    c.set_ambient(None);
    Ok(c)
}

/// The terminal's initial size (`[height, width]`), when there is a terminal and a size.
fn console_size(host: &HostConfig, tty: bool) -> Result<Option<oci_spec::runtime::Box>, SpecError> {
    let console = host.console_size.as_deref().unwrap_or_default();
    let height = console.first().copied().unwrap_or(0);
    let width = console.get(1).copied().unwrap_or(0);
    if !tty || (height == 0 && width == 0) {
        return Ok(None);
    }
    Ok(Some(
        BoxBuilder::default()
            .height(height as u64)
            .width(width as u64)
            .build()?,
    ))
}
