//! OCI runtime spec building: from a container's (merged) config and host config to the
//! `config.json` dockerd would give runc for `docker run` (moby daemon/oci_linux.go and friends).
//!
//! Pure apart from three isolated reads: the container's /etc/passwd and /etc/group
//! (`rootfs_file`), and host device nodes for `--device`, `--privileged` and blkio limits
//! (`devices`). Deliberate differences from dockerd are listed in `tests/golden-spec/README.md`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    BoxBuilder, Linux, LinuxCapabilities, LinuxDevice, LinuxDeviceCgroup, LinuxResources, Process,
    Root, Spec, User,
};

use crate::models::{ContainerConfig, HostConfig};

mod adapt;
mod binds;
mod caps;
mod defaults;
mod devices;
mod env;
mod error;
mod merge;
mod mounts;
mod namespaces;
mod resources;
mod rlimits;
mod rootfs_file;
pub mod seccomp_default;
mod security;
mod tmpfs;
mod user;
mod validate;

#[cfg(test)]
mod build_tests;
#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod runc_tests;

pub use adapt::adapt_host_config;
pub use error::SpecError;
pub use merge::merge_image_config;
pub use user::{ResolvedUser, resolve_user};
pub use validate::{validate, validate_settings};

/// The container's network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode<'a> {
    /// The host's: no network namespace of its own.
    Host,
    /// `--network none`: its own namespace with only `lo`, already created at this path.
    None_(&'a Path),
    /// A namespace the daemon made and wired up, at this path.
    Sandbox(&'a Path),
}

/// Host-side files bind-mounted over the container's /etc files; `None` skips one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EtcFiles<'a> {
    pub hostname: Option<&'a Path>,
    pub hosts: Option<&'a Path>,
    pub resolv_conf: Option<&'a Path>,
}

pub struct SpecInput<'a> {
    pub id: &'a str,
    /// Already merged with the image's config.
    pub config: &'a ContainerConfig,
    pub host: &'a HostConfig,
    /// The mounted rootfs (bundle/rootfs).
    pub rootfs: &'a Path,
    pub hostname: &'a str,
    pub network: NetworkMode<'a>,
    pub etc_files: EtcFiles<'a>,
    /// e.g. "/berth/<id>" (cgroupfs driver).
    pub cgroups_path: &'a str,
    /// Capabilities the daemon holds: `--privileged` and `--cap-add ALL` grant these, not more.
    /// Empty means unknown (then every capability the kernel names).
    pub daemon_caps: &'a [String],
    /// `--ulimit nofile` cannot go above this; 0 means unknown.
    pub daemon_nofile_hard: u64,
    pub cgroup_version: u8,
    /// docker-init on the host, for `--init`; `None` makes `--init` an error.
    pub init_path: Option<&'a Path>,
}

/// Sysctls dockerd sets in a container's own network namespace: ping without CAP_NET_RAW, and
/// low ports without CAP_NET_BIND_SERVICE.
const NETWORK_SYSCTLS: [(&str, &str); 2] = [
    ("net.ipv4.ping_group_range", "0 2147483647"),
    ("net.ipv4.ip_unprivileged_port_start", "0"),
];

/// The runtime spec for starting the container.
pub fn build(input: &SpecInput) -> Result<Spec, SpecError> {
    let mut host = input.host.clone();
    adapt_host_config(&mut host, input.cgroup_version);
    let host = &host;
    let config = input.config;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    validate_settings(config, host, input.daemon_caps, cpus)?;

    let privileged = host.privileged.unwrap_or(false);
    let security = security::parse(host.security_opt.as_deref().unwrap_or_default())?;
    let caps = caps::effective(
        host.cap_add.as_deref().unwrap_or_default(),
        host.cap_drop.as_deref().unwrap_or_default(),
        privileged,
        input.daemon_caps,
    )?;
    let init = match host.init == Some(true) && namespaces::pid_is_private(host)? {
        true => Some(input.init_path.ok_or(SpecError::NoInitBinary)?),
        false => None,
    };
    let ipc = namespaces::ipc_mode(host)?;
    if host.device_requests.as_ref().is_some_and(|r| !r.is_empty()) {
        return Err(SpecError::Unsupported("device requests (--gpus)".into()));
    }

    let process = process(
        input,
        host,
        &caps,
        security.no_new_privileges,
        init.is_some(),
    )?;
    let plan = mounts::plan(&mounts::MountInputs {
        host,
        etc_files: &input.etc_files,
        ipc,
        shm_size: host.shm_size.unwrap_or(defaults::DEFAULT_SHM_SIZE),
        privileged,
        writable_cgroups: security.writable_cgroups.unwrap_or(privileged),
        init,
    })?;

    let mut linux = Linux::default();
    linux.set_net_devices(None);
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    linux.set_sysctl(sysctls(input, config, host));
    let (devs, device_rules) = devices_and_rules(host, privileged)?;
    linux.set_resources(Some(linux_resources(host, device_rules)?));
    linux.set_cgroups_path(Some(PathBuf::from(input.cgroups_path)));
    linux.set_namespaces(Some(namespaces::namespaces(
        host,
        &input.network,
        input.cgroup_version,
    )?));
    linux.set_devices(non_empty(devs));
    linux.set_seccomp(match security.seccomp {
        security::Seccomp::Unconfined => None,
        security::Seccomp::Custom(_) => return Err(SpecError::CustomSeccompUnsupported),
        security::Seccomp::Default if privileged => None,
        security::Seccomp::Default => Some(seccomp_default::default_profile(&caps)),
    });
    linux.set_rootfs_propagation(plan.rootfs_propagation);
    let default_paths =
        |list: &[&str]| (!privileged).then(|| list.iter().map(|p| p.to_string()).collect());
    linux.set_masked_paths(non_empty_opt(
        host.masked_paths
            .clone()
            .or_else(|| default_paths(&defaults::MASKED_PATHS)),
    ));
    linux.set_readonly_paths(non_empty_opt(
        host.readonly_paths
            .clone()
            .or_else(|| default_paths(&defaults::READONLY_PATHS)),
    ));
    linux.set_mount_label(None);
    linux.set_intel_rdt(None);
    linux.set_memory_policy(None);
    linux.set_personality(None);
    linux.set_time_offsets(None);

    let mut root = Root::default();
    root.set_path(input.rootfs.to_path_buf());
    root.set_readonly(host.readonly_rootfs.unwrap_or(false).then_some(true));

    let mut spec = Spec::default();
    spec.set_version(defaults::OCI_VERSION.to_string());
    spec.set_root(Some(root));
    spec.set_mounts(Some(plan.mounts));
    spec.set_process(Some(process));
    spec.set_hostname(
        (!namespaces::uts_is_host(host)? && !input.hostname.is_empty())
            .then(|| input.hostname.to_string()),
    );
    spec.set_domainname(None);
    spec.set_annotations(host.annotations.clone().filter(|a| !a.is_empty()));
    spec.set_linux(Some(linux));
    Ok(spec)
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn non_empty_opt<T>(v: Option<Vec<T>>) -> Option<Vec<T>> {
    v.filter(|v| !v.is_empty())
}

fn process(
    input: &SpecInput,
    host: &HostConfig,
    caps: &[String],
    no_new_privileges: bool,
    init: bool,
) -> Result<Process, SpecError> {
    let config = input.config;
    let resolved = resolve_user(
        input.rootfs,
        config.user.as_deref().unwrap_or(""),
        host.group_add.as_deref().unwrap_or_default(),
    )?;
    let mut user = User::default();
    user.set_uid(resolved.uid);
    user.set_gid(resolved.gid);
    user.set_additional_gids(Some(resolved.additional_gids));

    let mut args: Vec<String> = config.entrypoint.clone().unwrap_or_default();
    args.extend(config.cmd.iter().flatten().cloned());
    if args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    if init {
        let mut with_init = vec![defaults::INIT_PATH_IN_CONTAINER.to_string(), "--".into()];
        with_init.extend(args);
        args = with_init;
    }

    let set = caps::to_oci(caps)?;
    let mut capabilities = LinuxCapabilities::default();
    capabilities.set_bounding(Some(set.clone()));
    capabilities.set_effective(Some(set.clone()));
    capabilities.set_permitted(Some(set));
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);

    let tty = config.tty.unwrap_or(false);
    let console = host.console_size.as_deref().unwrap_or_default();
    let (height, width) = (
        console.first().copied().unwrap_or(0),
        console.get(1).copied().unwrap_or(0),
    );
    let console_size = match tty && (height > 0 || width > 0) {
        true => Some(
            BoxBuilder::default()
                .height(height as u64)
                .width(width as u64)
                .build()?,
        ),
        false => None,
    };

    let mut p = Process::default();
    p.set_terminal(tty.then_some(true));
    p.set_console_size(console_size);
    p.set_user(user);
    p.set_args(Some(args));
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
    p.set_capabilities(Some(capabilities));
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

/// Default network sysctls in a namespace of the container's own, the NIS domain name, then the
/// user's `--sysctl`s over them.
fn sysctls(
    input: &SpecInput,
    config: &ContainerConfig,
    host: &HostConfig,
) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    let mode = host.network_mode.as_deref().unwrap_or("");
    let own_netns = !matches!(input.network, NetworkMode::Host) && !mode.starts_with("container:");
    if own_netns {
        for (k, v) in NETWORK_SYSCTLS {
            out.insert(k.to_string(), v.to_string());
        }
    }
    if let Some(domain) = config.domainname.as_deref().filter(|d| !d.is_empty()) {
        out.insert("kernel.domainname".into(), domain.to_string());
    }
    for (k, v) in host.sysctls.iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    (!out.is_empty()).then_some(out)
}

/// Device nodes to create and the device cgroup rules: Docker's defaults plus `--device` and
/// `--device-cgroup-rule`, or for `--privileged` every host device and no restriction.
fn devices_and_rules(
    host: &HostConfig,
    privileged: bool,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), SpecError> {
    if privileged {
        let mut devs = devices::host_devices()?;
        for mapping in host.devices.iter().flatten() {
            // The host's /dev is already there; only renamed devices are added.
            if mapping.path_on_host != mapping.path_in_container {
                devs.extend(devices::from_mapping(mapping, Some("rwm"))?.0);
            }
        }
        return Ok((devs, vec![defaults::device_rule(true, None, "rwm")]));
    }
    let mut devs = Vec::new();
    let mut rules = defaults::device_rules();
    for mapping in host.devices.iter().flatten() {
        let (d, r) = devices::from_mapping(mapping, None)?;
        devs.extend(d);
        rules.extend(r);
    }
    for rule in host.device_cgroup_rules.iter().flatten() {
        rules.push(devices::cgroup_rule(rule)?);
    }
    Ok((devs, rules))
}

fn linux_resources(
    host: &HostConfig,
    rules: Vec<LinuxDeviceCgroup>,
) -> Result<LinuxResources, SpecError> {
    let mut r = LinuxResources::default();
    r.set_devices(Some(rules));
    r.set_memory(resources::memory(host));
    r.set_cpu(resources::cpu(host)?);
    r.set_pids(resources::pids(host));
    r.set_block_io(Some(resources::block_io(host)?));
    Ok(r)
}
