//! dockerd's create-time checks of a container's settings (moby daemon/container.go
//! verifyContainerSettings, daemon_unix.go verifyPlatformContainerResources and
//! verifyPlatformContainerSettings), with its messages. The host is assumed to support every
//! cgroup controller, so nothing is discarded with a warning for lack of kernel support.

use std::path::Path;

use super::binds;
use super::caps;
use super::defaults::{MAX_HOSTNAME_LEN, MIN_MEMORY};
use super::devices;
use super::error::SpecError;
use super::namespaces;
use super::rlimits;
use super::security;
use crate::models::{ContainerConfig, HostConfig, MountType};

/// Minimum healthcheck durations, in nanoseconds (1ms).
const MIN_HEALTH_DURATION: i64 = 1_000_000;

/// Everything dockerd checks at create: [`validate_settings`], then that `--mount` bind sources
/// exist. Returns dockerd's warnings.
pub fn validate(
    config: &ContainerConfig,
    host: &HostConfig,
    daemon_caps: &[String],
    host_cpus: usize,
) -> Result<Vec<String>, SpecError> {
    let warnings = validate_settings(config, host, daemon_caps, host_cpus)?;
    check_bind_sources(host)?;
    Ok(warnings)
}

/// The checks that need nothing from the host but its CPU count.
pub fn validate_settings(
    config: &ContainerConfig,
    host: &HostConfig,
    daemon_caps: &[String],
    host_cpus: usize,
) -> Result<Vec<String>, SpecError> {
    let mut warnings = Vec::new();
    container_config(config)?;

    // Binds, mounts and tmpfs destinations, duplicates included (volumes are refused here).
    binds::user_mounts(host)?;
    caps::validate(
        host.cap_add.as_deref().unwrap_or_default(),
        host.cap_drop.as_deref().unwrap_or_default(),
        daemon_caps,
    )?;
    if host.annotations.iter().flatten().any(|(k, _)| k.is_empty()) {
        return Err(SpecError::invalid(
            "invalid Annotations: the empty string is not permitted as an annotation key",
        ));
    }

    let hostname = config.hostname.as_deref().unwrap_or("");
    if hostname.len() > MAX_HOSTNAME_LEN {
        return Err(SpecError::invalid(format!(
            "hostname {hostname:?} is too long (maximum {MAX_HOSTNAME_LEN} bytes)"
        )));
    }
    resources(host, host_cpus, &mut warnings)?;
    namespaces::ipc_mode(host)?;
    namespaces::pid_is_private(host)?;
    namespaces::uts_is_host(host)?;
    super::sysctls::validate(host)?;
    if host.shm_size.unwrap_or(0) < 0 {
        return Err(SpecError::invalid("SHM size can not be less than 0"));
    }
    let oom = host.oom_score_adj.unwrap_or(0);
    if !(-1000..=1000).contains(&oom) {
        return Err(SpecError::invalid(format!(
            "Invalid value {oom}, range for oom score adj is [-1000, 1000]"
        )));
    }
    if host.network_mode.as_deref() == Some("host")
        && host.port_bindings.as_ref().is_some_and(|p| !p.is_empty())
    {
        warnings.push("Published ports are discarded when using host network mode".into());
    }
    security::parse(host.security_opt.as_deref().unwrap_or_default())?;
    for rule in host.device_cgroup_rules.iter().flatten() {
        devices::cgroup_rule(rule)?;
    }
    rlimits::rlimits(host.ulimits.as_deref().unwrap_or_default(), 0)?;
    Ok(warnings)
}

fn container_config(config: &ContainerConfig) -> Result<(), SpecError> {
    if let Some(wd) = config.working_dir.as_deref().filter(|w| !w.is_empty())
        && !wd.starts_with('/')
    {
        return Err(SpecError::invalid(format!(
            "the working directory '{wd}' is invalid, it needs to be an absolute path"
        )));
    }
    for var in config.env.iter().flatten() {
        if super::merge::env_name(var).is_empty() {
            return Err(SpecError::invalid(format!(
                "invalid environment variable: {var}"
            )));
        }
    }
    if let Some(hc) = &config.healthcheck {
        for (name, value) in [
            ("Interval", hc.interval),
            ("Timeout", hc.timeout),
            ("StartPeriod", hc.start_period),
            ("StartInterval", hc.start_interval),
        ] {
            let v = value.unwrap_or(0);
            if v != 0 && v < MIN_HEALTH_DURATION {
                return Err(SpecError::invalid(format!(
                    "{name} in Healthcheck cannot be less than 1ms"
                )));
            }
        }
        if hc.retries.unwrap_or(0) < 0 {
            return Err(SpecError::invalid(
                "Retries in Healthcheck cannot be negative",
            ));
        }
    }
    Ok(())
}

fn resources(
    host: &HostConfig,
    host_cpus: usize,
    warnings: &mut Vec<String>,
) -> Result<(), SpecError> {
    let memory = host.memory.unwrap_or(0);
    let swap = host.memory_swap.unwrap_or(0);
    let reservation = host.memory_reservation.unwrap_or(0);
    let fail = |m: &str| Err(SpecError::invalid(m));
    if memory != 0 && memory < MIN_MEMORY {
        return fail("Minimum memory limit allowed is 6MB");
    }
    if memory > 0 && swap > 0 && swap < memory {
        return fail("Minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if memory == 0 && swap > 0 {
        return fail(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        );
    }
    if let Some(s) = host.memory_swappiness.filter(|s| *s != -1)
        && !(0..=100).contains(&s)
    {
        return Err(SpecError::invalid(format!(
            "Invalid value: {s}, valid memory swappiness range is 0-100"
        )));
    }
    if reservation > 0 && reservation < MIN_MEMORY {
        return fail("Minimum memory reservation allowed is 6MB");
    }
    if memory > 0 && reservation > 0 && memory < reservation {
        return fail(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        );
    }
    if host.oom_kill_disable == Some(true) && memory == 0 {
        warnings.push("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.".into());
    }

    let nano = host.nano_cpus.unwrap_or(0);
    let period = host.cpu_period.unwrap_or(0);
    let quota = host.cpu_quota.unwrap_or(0);
    if nano > 0 && period > 0 {
        return fail("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    }
    if nano > 0 && quota > 0 {
        return fail("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    }
    if nano != 0 && (nano < 0 || nano > host_cpus as i64 * 1_000_000_000) {
        return Err(SpecError::invalid(format!(
            "range of CPUs is from 0.01 to {host_cpus}.00, as there are only {host_cpus} CPUs available"
        )));
    }
    if period != 0 && !(1000..=1_000_000).contains(&period) {
        return fail(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        );
    }
    if quota > 0 && quota < 1000 {
        return fail("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    }
    if host.cpu_percent.unwrap_or(0) > 0 {
        warnings.push("linux does not support CPU percent. Percent discarded.".into());
    }
    if host.cpu_shares.unwrap_or(0) < 0 {
        return Err(SpecError::invalid(format!(
            "invalid CPU shares ({}): value must be a positive integer",
            host.cpu_shares.unwrap_or(0)
        )));
    }

    if let Some(cpus) = host.cpuset_cpus.as_deref().filter(|c| !c.is_empty()) {
        let list = parse_cpu_list(cpus).ok_or_else(|| {
            SpecError::invalid(format!(
                "Invalid value {cpus} for cpuset cpus: invalid format: {cpus}"
            ))
        })?;
        if list.iter().any(|c| *c >= host_cpus as u64) {
            let available = match host_cpus {
                0 | 1 => "0".to_string(),
                n => format!("0-{}", n - 1),
            };
            return Err(SpecError::invalid(format!(
                "Requested CPUs are not available - requested {cpus}, available: {available}"
            )));
        }
    }
    if let Some(mems) = host.cpuset_mems.as_deref().filter(|c| !c.is_empty())
        && parse_cpu_list(mems).is_none()
    {
        return Err(SpecError::invalid(format!(
            "Invalid value {mems} for cpuset mems: invalid format: {mems}"
        )));
    }

    let weight = host.blkio_weight.unwrap_or(0);
    if weight > 0 && !(10..=1000).contains(&weight) {
        return fail("Range of blkio weight is from 10 to 1000");
    }
    if host.io_maximum_bandwidth.unwrap_or(0) != 0 || host.io_maximum_iops.unwrap_or(0) != 0 {
        return fail(
            "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps",
        );
    }
    Ok(())
}

/// "0-3,5" to its numbers, or `None` if malformed (Go's parsers.ParseUintList).
fn parse_cpu_list(s: &str) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            None => out.push(part.parse().ok()?),
            Some((lo, hi)) => {
                let (lo, hi): (u64, u64) = (lo.parse().ok()?, hi.parse().ok()?);
                if hi < lo {
                    return None;
                }
                out.extend(lo..=hi);
            }
        }
    }
    Some(out)
}

/// `--mount type=bind` sources must exist (unlike `-v`, which creates them).
fn check_bind_sources(host: &HostConfig) -> Result<(), SpecError> {
    for m in host.mounts.iter().flatten() {
        if m.typ != Some(MountType::BIND) {
            continue;
        }
        let create = m
            .bind_options
            .as_ref()
            .and_then(|o| o.create_mountpoint)
            .unwrap_or(false);
        let source = m.source.as_deref().unwrap_or("");
        if !create && !Path::new(source).exists() {
            return Err(SpecError::MountConfig {
                typ: "bind".into(),
                reason: format!("bind source path does not exist: {source}"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{HealthConfig, Mount};
    use std::collections::HashMap;

    fn check(host: HostConfig) -> Result<Vec<String>, String> {
        validate(&ContainerConfig::default(), &host, &[], 2).map_err(|e| e.to_string())
    }

    fn err(host: HostConfig) -> String {
        check(host).err().unwrap_or_default()
    }

    #[test]
    fn defaults_pass() {
        assert_eq!(check(HostConfig::default()), Ok(vec![]));
    }

    #[test]
    fn memory_rules() {
        let h = |m: i64, s: i64, r: i64| HostConfig {
            memory: Some(m),
            memory_swap: Some(s),
            memory_reservation: Some(r),
            ..Default::default()
        };
        assert_eq!(err(h(1 << 20, 0, 0)), "Minimum memory limit allowed is 6MB");
        assert_eq!(
            err(h(64 << 20, 32 << 20, 0)),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(
            err(h(0, 64 << 20, 0)),
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        );
        assert_eq!(
            err(h(0, 0, 1 << 20)),
            "Minimum memory reservation allowed is 6MB"
        );
        assert_eq!(
            err(h(64 << 20, 0, 128 << 20)),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        );
        assert!(check(h(64 << 20, -1, 32 << 20)).is_ok());
        assert_eq!(
            err(HostConfig {
                memory_swappiness: Some(101),
                ..Default::default()
            }),
            "Invalid value: 101, valid memory swappiness range is 0-100"
        );
        assert!(
            check(HostConfig {
                memory_swappiness: Some(-1),
                ..Default::default()
            })
            .is_ok()
        );
    }

    #[test]
    fn oom_kill_disable_without_memory_warns() {
        let w = check(HostConfig {
            oom_kill_disable: Some(true),
            ..Default::default()
        });
        assert_eq!(w.map(|w| w.len()), Ok(1));
    }

    #[test]
    fn cpu_rules() {
        let e = |h: HostConfig| err(h);
        assert_eq!(
            e(HostConfig {
                nano_cpus: Some(1_000_000_000),
                cpu_period: Some(100000),
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert_eq!(
            e(HostConfig {
                nano_cpus: Some(1_000_000_000),
                cpu_quota: Some(100000),
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
        );
        assert_eq!(
            e(HostConfig {
                nano_cpus: Some(3_000_000_000),
                ..Default::default()
            }),
            "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        assert_eq!(
            e(HostConfig {
                cpu_period: Some(999),
                ..Default::default()
            }),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        );
        assert_eq!(
            e(HostConfig {
                cpu_quota: Some(999),
                ..Default::default()
            }),
            "CPU cfs quota can not be less than 1ms (i.e. 1000)"
        );
        assert_eq!(
            e(HostConfig {
                cpuset_cpus: Some("0-2".into()),
                ..Default::default()
            }),
            "Requested CPUs are not available - requested 0-2, available: 0-1"
        );
        assert_eq!(
            e(HostConfig {
                cpuset_cpus: Some("1-0".into()),
                ..Default::default()
            }),
            "Invalid value 1-0 for cpuset cpus: invalid format: 1-0"
        );
        assert!(
            check(HostConfig {
                cpuset_cpus: Some("0,1".into()),
                cpuset_mems: Some("0".into()),
                nano_cpus: Some(1_500_000_000),
                ..Default::default()
            })
            .is_ok()
        );
    }

    #[test]
    fn blkio_and_io_rules() {
        assert_eq!(
            err(HostConfig {
                blkio_weight: Some(5),
                ..Default::default()
            }),
            "Range of blkio weight is from 10 to 1000"
        );
        assert_eq!(
            err(HostConfig {
                io_maximum_iops: Some(5),
                ..Default::default()
            }),
            "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps"
        );
    }

    #[test]
    fn settings_rules() {
        assert_eq!(
            err(HostConfig {
                oom_score_adj: Some(1001),
                ..Default::default()
            }),
            "Invalid value 1001, range for oom score adj is [-1000, 1000]"
        );
        assert_eq!(
            err(HostConfig {
                shm_size: Some(-1),
                ..Default::default()
            }),
            "SHM size can not be less than 0"
        );
        assert_eq!(
            err(HostConfig {
                cap_add: Some(vec!["CAP_FOO".into()]),
                ..Default::default()
            }),
            "invalid CapAdd: unknown capability: \"CAP_FOO\""
        );
        assert_eq!(
            err(HostConfig {
                annotations: Some(HashMap::from([(String::new(), "x".to_string())])),
                ..Default::default()
            }),
            "invalid Annotations: the empty string is not permitted as an annotation key"
        );
        assert_eq!(
            err(HostConfig {
                security_opt: Some(vec!["nonsense".into()]),
                ..Default::default()
            }),
            "invalid --security-opt 1: \"nonsense\""
        );
        assert_eq!(
            err(HostConfig {
                device_cgroup_rules: Some(vec!["z".into()]),
                ..Default::default()
            }),
            "invalid device cgroup rule format: 'z'"
        );
        assert_eq!(
            err(HostConfig {
                tmpfs: Some(HashMap::from([("/".to_string(), String::new())])),
                ..Default::default()
            }),
            "invalid specification: destination can't be '/'"
        );
        assert_eq!(
            err(HostConfig {
                ipc_mode: Some("bogus".into()),
                ..Default::default()
            }),
            "invalid IPC mode: bogus"
        );
    }

    #[test]
    fn host_network_with_ports_warns() {
        let mut ports = HashMap::new();
        ports.insert("80/tcp".to_string(), None);
        let w = check(HostConfig {
            network_mode: Some("host".into()),
            port_bindings: Some(ports),
            ..Default::default()
        });
        assert_eq!(
            w,
            Ok(vec![
                "Published ports are discarded when using host network mode".to_string()
            ])
        );
    }

    #[test]
    fn container_config_rules() {
        let e = |c: ContainerConfig| {
            validate(&c, &HostConfig::default(), &[], 2)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            e(ContainerConfig {
                working_dir: Some("rel".into()),
                ..Default::default()
            }),
            "the working directory 'rel' is invalid, it needs to be an absolute path"
        );
        assert_eq!(
            e(ContainerConfig {
                env: Some(vec!["=x".into()]),
                ..Default::default()
            }),
            "invalid environment variable: =x"
        );
        assert_eq!(
            e(ContainerConfig {
                hostname: Some("h".repeat(65)),
                ..Default::default()
            }),
            format!(
                "hostname \"{}\" is too long (maximum 64 bytes)",
                "h".repeat(65)
            )
        );
        assert_eq!(
            e(ContainerConfig {
                healthcheck: Some(HealthConfig {
                    interval: Some(10),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            "Interval in Healthcheck cannot be less than 1ms"
        );
        assert_eq!(
            e(ContainerConfig {
                healthcheck: Some(HealthConfig {
                    retries: Some(-1),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            "Retries in Healthcheck cannot be negative"
        );
    }

    #[test]
    fn bind_mount_source_must_exist_but_binds_need_not() {
        let mount = |src: &str| Mount {
            typ: Some(MountType::BIND),
            source: Some(src.into()),
            target: Some("/t".into()),
            ..Default::default()
        };
        assert_eq!(
            err(HostConfig {
                mounts: Some(vec![mount("/nonexistent-berth-src")]),
                ..Default::default()
            }),
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-berth-src"
        );
        assert!(
            check(HostConfig {
                mounts: Some(vec![mount("/tmp")]),
                binds: Some(vec!["/nonexistent-berth-src:/x".into()]),
                ..Default::default()
            })
            .is_ok()
        );
        assert!(
            validate_settings(
                &ContainerConfig::default(),
                &HostConfig {
                    mounts: Some(vec![mount("/nonexistent-berth-src")]),
                    ..Default::default()
                },
                &[],
                2
            )
            .is_ok()
        );
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-2,5"), Some(vec![0, 1, 2, 5]));
        assert_eq!(parse_cpu_list("a"), None);
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("1,"), None);
    }
}
