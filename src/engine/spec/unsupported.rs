//! Honour or refuse: the settings a client can send that Berth does not carry out yet are
//! refused at create with a 400 naming them, never accepted and ignored (users would find
//! out in production). Each later feature removes its line here.
//!
//! Only what the client sent counts: an image's own HEALTHCHECK or VOLUME is not the client's
//! setting (and without a volume the data lives in the container's writable layer).

use super::error::SpecError;
use crate::models::{
    ContainerConfig, EndpointSettings, HostConfig, NetworkingConfig, RestartPolicyNameEnum,
};

/// Refuses the first setting of `config` (as the client sent it), `host` and `networking`
/// that Berth does not carry out.
pub fn refuse_unsupported(
    config: &ContainerConfig,
    host: &HostConfig,
    networking: Option<&NetworkingConfig>,
) -> Result<(), SpecError> {
    let refuse = |what: &str| Err(SpecError::Unsupported(what.to_string()));
    if host.port_bindings.as_ref().is_some_and(|p| !p.is_empty())
        && host.network_mode.as_deref() != Some("host")
    {
        return refuse("publishing ports (HostConfig.PortBindings, -p)");
    }
    if host.publish_all_ports == Some(true) {
        return refuse("publishing all ports (HostConfig.PublishAllPorts, -P)");
    }
    if let Some(policy) = &host.restart_policy
        && !matches!(
            policy.name,
            None | Some(RestartPolicyNameEnum::EMPTY) | Some(RestartPolicyNameEnum::NO)
        )
    {
        return refuse("restart policies (HostConfig.RestartPolicy, --restart)");
    }
    if let Some(hc) = &config.healthcheck {
        let test = hc.test.as_deref().unwrap_or_default();
        let disabled = test.first().is_some_and(|t| t == "NONE");
        if !test.is_empty() && !disabled {
            return refuse("health checks (Config.Healthcheck, --health-cmd)");
        }
    }
    // A path that a bind, mount or tmpfs already covers is no volume: dockerd skips it (docker-py
    // lists every bind's destination in Config.Volumes too).
    let covered: Vec<String> = super::binds::user_mounts(host)
        .map(|m| m.into_iter().map(|m| m.destination).collect())
        .unwrap_or_default();
    if config
        .volumes
        .iter()
        .flatten()
        .any(|path| !covered.contains(&super::binds::clean(path)))
    {
        return refuse("anonymous volumes (Config.Volumes, -v /path)");
    }
    if host.volumes_from.as_ref().is_some_and(|v| !v.is_empty()) {
        return refuse("HostConfig.VolumesFrom (--volumes-from)");
    }
    if host.links.as_ref().is_some_and(|v| !v.is_empty()) {
        return refuse("container links (HostConfig.Links, --link)");
    }
    if host
        .userns_mode
        .as_deref()
        .is_some_and(|m| !m.is_empty() && m != "host")
    {
        return refuse("user namespaces (HostConfig.UsernsMode, --userns)");
    }
    if host.storage_opt.as_ref().is_some_and(|o| !o.is_empty()) {
        return refuse("storage options (HostConfig.StorageOpt, --storage-opt)");
    }
    if host
        .volume_driver
        .as_deref()
        .is_some_and(|d| !d.is_empty() && d != "local")
    {
        return refuse("volume drivers (HostConfig.VolumeDriver)");
    }
    if host.cgroup.as_deref().is_some_and(|c| !c.is_empty()) {
        return refuse("HostConfig.Cgroup");
    }
    if config.network_disabled == Some(true) {
        return refuse("Config.NetworkDisabled (use NetworkMode none)");
    }
    if let Some(isolation) = host.isolation.as_ref().map(|i| i.to_string())
        && !isolation.is_empty()
        && isolation != "default"
    {
        return Err(SpecError::invalid(format!(
            "Invalid isolation: {isolation:?} - linux only supports 'default'"
        )));
    }
    network(host, networking)
}

/// The network modes Berth has: a container's own namespace (`bridge`, with loopback only until
/// the bridge driver lands), `none` and `host`. Any other network does not exist.
fn network(host: &HostConfig, networking: Option<&NetworkingConfig>) -> Result<(), SpecError> {
    let mode = host.network_mode.as_deref().unwrap_or("");
    let builtin = |m: &str| matches!(m, "" | "default" | "bridge" | "none" | "host");
    if !builtin(mode) && !mode.starts_with("container:") {
        return Err(SpecError::NetworkNotFound(mode.to_string()));
    }
    let endpoints = networking.and_then(|n| n.endpoints_config.as_ref());
    for (name, settings) in endpoints.into_iter().flatten() {
        let same = name == mode
            || (matches!(name.as_str(), "default" | "bridge")
                && matches!(mode, "" | "default" | "bridge"));
        if !same {
            return Err(SpecError::NetworkNotFound(name.clone()));
        }
        if let Some(field) = endpoint_setting(settings) {
            return Err(SpecError::Unsupported(format!(
                "endpoint settings ({field} on network {name})"
            )));
        }
    }
    Ok(())
}

/// The first endpoint setting that asks for something (the CLI sends all of them, zeroed).
fn endpoint_setting(e: &EndpointSettings) -> Option<&'static str> {
    let set = |s: &Option<String>| s.as_deref().is_some_and(|v| !v.is_empty());
    let listed = |l: &Option<Vec<String>>| l.as_ref().is_some_and(|v| !v.is_empty());
    if e.ipam_config
        .as_ref()
        .is_some_and(|i| set(&i.ipv4_address) || set(&i.ipv6_address) || listed(&i.link_local_ips))
    {
        return Some("IPAMConfig");
    }
    if listed(&e.aliases) {
        return Some("Aliases");
    }
    if listed(&e.links) {
        return Some("Links");
    }
    if set(&e.mac_address) {
        return Some("MacAddress");
    }
    if e.driver_opts.as_ref().is_some_and(|d| !d.is_empty()) {
        return Some("DriverOpts");
    }
    if e.gw_priority.unwrap_or(0) != 0 {
        return Some("GwPriority");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{HealthConfig, PortBinding, RestartPolicy};
    use std::collections::HashMap;

    fn check(config: ContainerConfig, host: HostConfig) -> Result<(), String> {
        refuse_unsupported(&config, &host, None).map_err(|e| e.to_string())
    }

    #[test]
    fn what_the_cli_sends_by_default_passes() {
        let host = HostConfig {
            network_mode: Some("default".into()),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: Some(0),
            }),
            ..Default::default()
        };
        let net = NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                "default".to_string(),
                EndpointSettings {
                    mac_address: Some(String::new()),
                    gw_priority: Some(0),
                    ..Default::default()
                },
            )])),
        };
        let config = ContainerConfig {
            volumes: Some(vec![]),
            healthcheck: Some(HealthConfig {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        refuse_unsupported(&config, &host, Some(&net)).unwrap();
    }

    #[test]
    fn unsupported_settings_are_named() {
        let ports = HostConfig {
            port_bindings: Some(HashMap::from([(
                "80/tcp".to_string(),
                Some(vec![PortBinding {
                    host_ip: None,
                    host_port: Some("8080".into()),
                }]),
            )])),
            ..Default::default()
        };
        assert!(check(Default::default(), ports).unwrap_err().contains("-p"));
        let restart = HostConfig {
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::ALWAYS),
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        assert!(
            check(Default::default(), restart)
                .unwrap_err()
                .contains("--restart")
        );
        let health = ContainerConfig {
            healthcheck: Some(HealthConfig {
                test: Some(vec!["CMD".into(), "true".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(
            check(health, Default::default())
                .unwrap_err()
                .contains("Healthcheck")
        );
        let net = HostConfig {
            network_mode: Some("myproject_default".into()),
            ..Default::default()
        };
        assert_eq!(
            check(Default::default(), net).unwrap_err(),
            "network myproject_default not found: user-defined networks are not supported yet"
        );
        let aliased = NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                "bridge".to_string(),
                EndpointSettings {
                    aliases: Some(vec!["web".into()]),
                    ..Default::default()
                },
            )])),
        };
        let e = refuse_unsupported(&Default::default(), &Default::default(), Some(&aliased));
        assert!(e.unwrap_err().to_string().contains("Aliases"));
    }
}
