//! The spec's `linux` section: namespaces, cgroup path and limits, devices, sysctls, masked
//! paths and seccomp (moby WithNamespaces, withCgroups, WithResources, WithDevices, WithSysctls,
//! WithSeccomp).

use std::collections::HashMap;
use std::path::PathBuf;

use oci_spec::runtime::{Linux, LinuxDevice, LinuxDeviceCgroup, LinuxResources};

use super::error::SpecError;
use super::security::{Seccomp, SecurityOptions};
use super::{NetworkMode, SpecInput, defaults, devices, namespaces, resources, seccomp_default};
use crate::models::HostConfig;

/// Sysctls dockerd sets in a container's own network namespace: ping without CAP_NET_RAW, and
/// low ports without CAP_NET_BIND_SERVICE.
const NETWORK_SYSCTLS: [(&str, &str); 2] = [
    ("net.ipv4.ping_group_range", "0 2147483647"),
    ("net.ipv4.ip_unprivileged_port_start", "0"),
];

pub(crate) fn linux(
    input: &SpecInput,
    host: &HostConfig,
    security: &SecurityOptions,
    caps: &[String],
    rootfs_propagation: Option<String>,
) -> Result<Linux, SpecError> {
    let privileged = host.privileged.unwrap_or(false);
    let (devs, device_rules) = devices_and_rules(host, privileged)?;
    let mut linux = Linux::default();
    linux.set_net_devices(None);
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    linux.set_sysctl(sysctls(input, host));
    linux.set_resources(Some(linux_resources(host, device_rules)?));
    linux.set_cgroups_path(Some(PathBuf::from(input.cgroups_path)));
    linux.set_namespaces(Some(namespaces::namespaces(
        host,
        &input.network,
        input.cgroup_version,
    )?));
    linux.set_devices((!devs.is_empty()).then_some(devs));
    linux.set_seccomp(match &security.seccomp {
        Seccomp::Unconfined => None,
        Seccomp::Custom(_) => return Err(SpecError::CustomSeccompUnsupported),
        Seccomp::Default if privileged => None,
        Seccomp::Default => Some(seccomp_default::default_profile(caps)),
    });
    linux.set_rootfs_propagation(rootfs_propagation);
    // HostConfig's lists (dockerd fills them at create) win; privileged containers get none.
    let paths = |given: &Option<Vec<String>>, defaults: &[&str]| {
        given
            .clone()
            .or_else(|| (!privileged).then(|| defaults.iter().map(|p| p.to_string()).collect()))
            .filter(|p: &Vec<String>| !p.is_empty())
    };
    linux.set_masked_paths(paths(&host.masked_paths, &defaults::MASKED_PATHS));
    linux.set_readonly_paths(paths(&host.readonly_paths, &defaults::READONLY_PATHS));
    linux.set_mount_label(None);
    linux.set_intel_rdt(None);
    linux.set_memory_policy(None);
    linux.set_personality(None);
    linux.set_time_offsets(None);
    Ok(linux)
}

/// Default network sysctls in a namespace of the container's own, the NIS domain name, then the
/// user's `--sysctl`s over them.
fn sysctls(input: &SpecInput, host: &HostConfig) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    let mode = host.network_mode.as_deref().unwrap_or("");
    let own_netns = !matches!(input.network, NetworkMode::Host) && !mode.starts_with("container:");
    if own_netns {
        for (k, v) in NETWORK_SYSCTLS {
            out.insert(k.to_string(), v.to_string());
        }
    }
    if let Some(domain) = input.config.domainname.as_deref().filter(|d| !d.is_empty()) {
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
