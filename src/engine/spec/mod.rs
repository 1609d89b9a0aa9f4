//! OCI runtime spec building: from a container's (merged) config and host config to the
//! `config.json` dockerd would give runc for `docker run` (moby daemon/oci_linux.go and friends).
//!
//! Pure apart from a few isolated reads: the container's /etc/passwd and /etc/group
//! (`rootfs_file`), host device nodes for `--device`, `--privileged` and blkio limits
//! (`devices`), the host's CPU count, and (in `validate` only) whether `--mount` bind sources
//! exist. Deliberate differences from dockerd are listed in `tests/golden-spec/README.md`.
//!
//! Use: at create, `merge_image_config`, `adapt_host_config` and `validate` (dockerd's create-time
//! defaults and checks, which inspect then shows); at start, `build`.

use std::path::Path;

use oci_spec::runtime::{Root, Spec};

use crate::models::{ContainerConfig, HostConfig};

mod adapt;
mod binds;
mod caps;
mod defaults;
mod devices;
mod env;
mod error;
mod exec;
mod linux;
mod merge;
mod mounts;
mod namespaces;
mod ports;
mod process;
mod resources;
mod rlimits;
mod rootfs_file;
pub mod seccomp_default;
mod security;
mod sysctls;
mod tmpfs;
mod unsupported;
mod user;
mod validate;

#[cfg(test)]
mod build_tests;
#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod runc_tests;

pub use adapt::adapt_host_config;
pub use binds::sources_to_create;
pub use error::SpecError;
pub use exec::{ExecProcess, exec_process, resolve as resolve_exec_user};
pub use merge::merge_image_config;
pub(crate) use rootfs_file::resolve_in_root;
pub use unsupported::refuse_unsupported;
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

/// The runtime spec for starting the container.
pub fn build(input: &SpecInput) -> Result<Spec, SpecError> {
    let mut host = input.host.clone();
    adapt_host_config(&mut host, input.cgroup_version);
    let host = &host;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    validate_settings(input.config, host, input.daemon_caps, cpus)?;

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
    if host.device_requests.as_ref().is_some_and(|r| !r.is_empty()) {
        return Err(SpecError::Unsupported("device requests (--gpus)".into()));
    }

    let process = process::process(
        input,
        host,
        &caps,
        security.no_new_privileges,
        init.is_some(),
    )?;
    let plan = mounts::plan(&mounts::MountInputs {
        host,
        etc_files: &input.etc_files,
        ipc: namespaces::ipc_mode(host)?,
        shm_size: host.shm_size.unwrap_or(defaults::DEFAULT_SHM_SIZE),
        privileged,
        writable_cgroups: security.writable_cgroups.unwrap_or(privileged),
        init,
    })?;
    let linux = linux::linux(input, host, &security, &caps, plan.rootfs_propagation)?;

    let mut root = Root::default();
    root.set_path(input.rootfs.to_path_buf());
    root.set_readonly(host.readonly_rootfs.unwrap_or(false).then_some(true));
    let hostname = !namespaces::uts_is_host(host)? && !input.hostname.is_empty();

    let mut spec = Spec::default();
    spec.set_version(defaults::OCI_VERSION.to_string());
    spec.set_root(Some(root));
    spec.set_mounts(Some(plan.mounts));
    spec.set_process(Some(process));
    spec.set_hostname(hostname.then(|| input.hostname.to_string()));
    spec.set_domainname(None);
    spec.set_annotations(host.annotations.clone().filter(|a| !a.is_empty()));
    spec.set_linux(Some(linux));
    Ok(spec)
}
