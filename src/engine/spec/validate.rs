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
    check_device_nodes(host)?;
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
    settings_reaching_the_host(config, host)?;
    super::ports::validate(config.exposed_ports.as_deref(), host)?;

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

// Settings that reach the kernel, the runtime or the container's /etc files: refused at create
// rather than failing (or worse, being written as given) at start.

/// Signal names and numbers the stop path understands, restart policies, the log driver, DNS
/// and `--add-host` values, devices, and strings that cannot carry a NUL (or a newline, where
/// they become lines of a file).
fn settings_reaching_the_host(
    config: &ContainerConfig,
    host: &HostConfig,
) -> Result<(), SpecError> {
    if let Some(sig) = config.stop_signal.as_deref().filter(|s| !s.is_empty()) {
        // moby/sys/signal's message; stricter than dockerd on numbers (1-64, as `docker stop` takes).
        if crate::engine::container::kill::parse_signal(sig).is_err() {
            return Err(SpecError::invalid(format!("invalid signal: {sig}")));
        }
    }
    restart_policy(host)?;
    log_config(host)?;
    strings(config, host)?;
    network_files(host)?;
    for mapping in host.devices.iter().flatten() {
        device_mapping(mapping)?;
    }
    Ok(())
}

/// dockerd's validateHostConfig and ValidateRestartPolicy.
fn restart_policy(host: &HostConfig) -> Result<(), SpecError> {
    use crate::models::RestartPolicyNameEnum as R;
    let policy = host.restart_policy.clone().unwrap_or_default();
    let name = policy.name.unwrap_or(R::EMPTY);
    let retries = policy.maximum_retry_count.unwrap_or(0);
    if host.auto_remove == Some(true) && !matches!(name, R::EMPTY | R::NO) {
        return Err(SpecError::invalid(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    match name {
        R::ALWAYS | R::UNLESS_STOPPED | R::NO if retries != 0 => {
            let mut msg = String::from(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'",
            );
            if retries < 0 {
                msg.push_str(" and cannot be negative");
            }
            Err(SpecError::Invalid(msg))
        }
        R::ON_FAILURE if retries < 0 => Err(SpecError::invalid(
            "invalid restart policy: maximum retry count cannot be negative",
        )),
        _ => Ok(()),
    }
}

/// Log drivers dockerd has built in; Berth writes json-file only, and refuses the others by name
/// rather than accept them and log to json-file anyway.
const OTHER_LOG_DRIVERS: [&str; 11] = [
    "none",
    "local",
    "syslog",
    "journald",
    "gelf",
    "fluentd",
    "awslogs",
    "splunk",
    "etwlogs",
    "gcplogs",
    "logentries",
];

/// dockerd's logger.ValidateLogOpts and the json-file driver's option check. Empty means the
/// daemon's default (json-file), filled in before this runs at create.
fn log_config(host: &HostConfig) -> Result<(), SpecError> {
    let Some(log) = &host.log_config else {
        return Ok(());
    };
    let driver = log.typ.as_deref().unwrap_or("");
    let empty = Default::default();
    let opts = log.config.as_ref().unwrap_or(&empty);
    match driver {
        "" | "json-file" => {}
        d if OTHER_LOG_DRIVERS.contains(&d) => {
            return Err(SpecError::invalid(format!(
                "logger: the '{d}' log driver is not supported yet (only json-file is)"
            )));
        }
        d => {
            return Err(SpecError::invalid(format!(
                "logger: no log driver named '{d}' is registered"
            )));
        }
    }
    let mode = opts.get("mode").map(String::as_str).unwrap_or("");
    if !matches!(mode, "" | "blocking" | "non-blocking") {
        return Err(SpecError::invalid(format!(
            "logger: logging mode not supported: {mode}"
        )));
    }
    if opts.contains_key("max-buffer-size") && mode != "non-blocking" {
        return Err(SpecError::invalid(
            "logger: max-buffer-size option is only supported with 'mode=non-blocking'",
        ));
    }
    let mut keys: Vec<&String> = opts.keys().collect();
    keys.sort();
    for key in keys {
        match key.as_str() {
            "mode" | "max-buffer-size" | "max-size" | "max-file" => {}
            "compress" if opts.get("compress").is_some_and(|v| v == "false") => {}
            // json-file options dockerd has that Berth would silently ignore.
            "compress" | "env" | "env-regex" | "labels" | "labels-regex" | "tag" => {
                return Err(SpecError::invalid(format!(
                    "log opt '{key}' of the json-file log driver is not supported yet"
                )));
            }
            _ => {
                return Err(SpecError::invalid(format!(
                    "unknown log opt '{key}' for json-file log driver"
                )));
            }
        }
    }
    Ok(())
}

fn no_nul(field: &str, value: &str) -> Result<(), SpecError> {
    if value.contains('\0') {
        return Err(SpecError::invalid(format!(
            "invalid {field} {value:?}: it must not contain NUL bytes"
        )));
    }
    Ok(())
}

/// Strings that become C strings (paths, names, arguments, environment): a NUL cuts them short
/// or fails execve at start. Hostname and Domainname also become lines of /etc/hostname and
/// /etc/hosts, so no control character either.
fn strings(config: &ContainerConfig, host: &HostConfig) -> Result<(), SpecError> {
    for (field, value) in [
        ("Hostname", &config.hostname),
        ("Domainname", &config.domainname),
    ] {
        if let Some(v) = value.as_deref()
            && v.chars().any(|c| c.is_control())
        {
            return Err(SpecError::invalid(format!(
                "invalid {field} {v:?}: it must not contain NUL bytes or control characters"
            )));
        }
    }
    let single = [
        ("User", &config.user),
        ("WorkingDir", &config.working_dir),
        ("CgroupParent", &host.cgroup_parent),
        ("VolumeDriver", &host.volume_driver),
    ];
    for (field, value) in single {
        no_nul(field, value.as_deref().unwrap_or(""))?;
    }
    let lists = [
        ("Env", &config.env),
        ("Cmd", &config.cmd),
        ("Entrypoint", &config.entrypoint),
        ("Binds", &host.binds),
        ("GroupAdd", &host.group_add),
        ("MaskedPaths", &host.masked_paths),
        ("ReadonlyPaths", &host.readonly_paths),
        ("SecurityOpt", &host.security_opt),
    ];
    for (field, values) in lists {
        for v in values.iter().flatten() {
            no_nul(field, v)?;
        }
    }
    for (dest, opts) in host.tmpfs.iter().flatten() {
        no_nul("Tmpfs", dest)?;
        no_nul("Tmpfs", opts)?;
    }
    for m in host.mounts.iter().flatten() {
        no_nul("Mounts", m.source.as_deref().unwrap_or(""))?;
        no_nul("Mounts", m.target.as_deref().unwrap_or(""))?;
    }
    for v in host
        .log_config
        .iter()
        .flat_map(|l| l.config.iter().flatten())
    {
        no_nul("LogConfig", v.1)?;
    }
    // The cgroup path is the parent joined with the ID: ".." would place it elsewhere in the
    // hierarchy (or outside it).
    if let Some(parent) = host.cgroup_parent.as_deref()
        && parent.split('/').any(|c| c == "..")
    {
        return Err(SpecError::invalid(format!(
            "invalid CgroupParent {parent:?}: it must not contain '..'"
        )));
    }
    Ok(())
}

/// `--dns`, `--dns-search`, `--dns-option` and `--add-host`, as /etc/resolv.conf and /etc/hosts
/// are written at start (Berth is stricter than dockerd's API here, on purpose: what is written
/// as given must not add lines of its own).
fn network_files(host: &HostConfig) -> Result<(), SpecError> {
    use crate::network::etc;
    for entry in host.extra_hosts.iter().flatten() {
        etc::parse_extra_host(entry).map_err(|e| SpecError::Invalid(e.to_string()))?;
    }
    for s in host.dns.iter().flatten() {
        etc::parse_dns_server(s).map_err(SpecError::Invalid)?;
    }
    for s in host.dns_search.iter().flatten() {
        etc::check_dns_search(s).map_err(SpecError::Invalid)?;
    }
    for s in host.dns_options.iter().flatten() {
        etc::check_dns_option(s).map_err(SpecError::Invalid)?;
    }
    Ok(())
}

/// `--device HOST[:CONTAINER[:PERMS]]`: the host path is a node under /dev, the container path
/// absolute, the permissions a combination of r, w and m (the docker CLI's checks, which the
/// API would otherwise let through to the runtime).
fn device_mapping(mapping: &crate::models::DeviceMapping) -> Result<(), SpecError> {
    let on_host = mapping.path_on_host.as_deref().unwrap_or("");
    let in_container = mapping.path_in_container.as_deref().unwrap_or("");
    let perms = mapping.cgroup_permissions.as_deref().unwrap_or("");
    let bad = |reason: &str| {
        Err(SpecError::invalid(format!(
            "invalid device {on_host:?}: {reason}"
        )))
    };
    if on_host.contains('\0') || in_container.contains('\0') {
        return bad("paths must not contain NUL bytes");
    }
    let has_dotdot = |p: &str| p.split('/').any(|c| c == "..");
    if !on_host.starts_with("/dev/") || has_dotdot(on_host) {
        return bad("the path on the host must be under /dev");
    }
    if !in_container.is_empty() && (!in_container.starts_with('/') || has_dotdot(in_container)) {
        return bad(&format!(
            "{in_container} is not an absolute path in the container"
        ));
    }
    let mut seen = [false; 3];
    let mode_ok = perms.len() <= 3
        && perms
            .bytes()
            .all(|b| match b"rwm".iter().position(|c| *c == b) {
                Some(i) => !std::mem::replace(&mut seen[i], true),
                None => false,
            });
    if !mode_ok {
        return Err(SpecError::invalid(format!(
            "invalid device mode {perms:?} for device {on_host:?}: it must combine r, w and m"
        )));
    }
    Ok(())
}

/// The device nodes themselves, looked up as start will (devices::from_mapping): a path that is
/// not a device fails here, with the message start would give.
fn check_device_nodes(host: &HostConfig) -> Result<(), SpecError> {
    let privileged = host.privileged.unwrap_or(false);
    for mapping in host.devices.iter().flatten() {
        // --privileged already has the host's /dev; only renamed devices are looked up.
        if privileged && mapping.path_on_host == mapping.path_in_container {
            continue;
        }
        devices::from_mapping(mapping, None)?;
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

    fn config_err(c: ContainerConfig) -> String {
        validate(&c, &HostConfig::default(), &[], 2)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn stop_signal_must_parse() {
        let c = |s: &str| ContainerConfig {
            stop_signal: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(config_err(c("SIGFOO")), "invalid signal: SIGFOO");
        assert_eq!(config_err(c("0")), "invalid signal: 0");
        assert_eq!(config_err(c("SIGUSR1")), "");
        assert_eq!(config_err(c("term")), "");
        assert_eq!(config_err(c("9")), "");
    }

    #[test]
    fn restart_policy_rules() {
        use crate::models::{RestartPolicy, RestartPolicyNameEnum as R};
        let h = |name: R, retries: i64, auto_remove: bool| HostConfig {
            restart_policy: Some(RestartPolicy {
                name: Some(name),
                maximum_retry_count: Some(retries),
            }),
            auto_remove: Some(auto_remove),
            ..Default::default()
        };
        assert_eq!(
            err(h(R::ALWAYS, 0, true)),
            "can't create 'AutoRemove' container with restart policy"
        );
        assert_eq!(
            err(h(R::ON_FAILURE, 3, true)),
            "can't create 'AutoRemove' container with restart policy"
        );
        assert!(check(h(R::NO, 0, true)).is_ok());
        assert!(check(h(R::EMPTY, 0, true)).is_ok());
        assert_eq!(
            err(h(R::ON_FAILURE, -1, false)),
            "invalid restart policy: maximum retry count cannot be negative"
        );
        assert!(check(h(R::ON_FAILURE, 5, false)).is_ok());
        assert_eq!(
            err(h(R::ALWAYS, 2, false)),
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        );
        assert_eq!(
            err(h(R::UNLESS_STOPPED, -2, false)),
            "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"
        );
    }

    #[test]
    fn log_drivers_and_options() {
        use crate::models::HostConfigLogConfig;
        let h = |typ: &str, opts: &[(&str, &str)]| HostConfig {
            log_config: Some(HostConfigLogConfig {
                typ: Some(typ.into()),
                config: Some(
                    opts.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            ..Default::default()
        };
        assert_eq!(
            err(h("foo", &[])),
            "logger: no log driver named 'foo' is registered"
        );
        for known in ["none", "local", "syslog", "journald"] {
            assert_eq!(
                err(h(known, &[])),
                format!(
                    "logger: the '{known}' log driver is not supported yet (only json-file is)"
                )
            );
        }
        assert!(check(h("json-file", &[("max-size", "10m"), ("max-file", "3")])).is_ok());
        assert!(check(h("", &[])).is_ok());
        assert!(
            check(h(
                "json-file",
                &[
                    ("compress", "false"),
                    ("mode", "non-blocking"),
                    ("max-buffer-size", "4m")
                ]
            ))
            .is_ok()
        );
        assert_eq!(
            err(h("json-file", &[("foo", "1")])),
            "unknown log opt 'foo' for json-file log driver"
        );
        assert_eq!(
            err(h("json-file", &[("tag", "x")])),
            "log opt 'tag' of the json-file log driver is not supported yet"
        );
        assert_eq!(
            err(h("json-file", &[("mode", "fast")])),
            "logger: logging mode not supported: fast"
        );
        assert_eq!(
            err(h("json-file", &[("max-buffer-size", "1m")])),
            "logger: max-buffer-size option is only supported with 'mode=non-blocking'"
        );
    }

    #[test]
    fn dns_and_extra_hosts() {
        let h = |dns: &[&str], search: &[&str], opts: &[&str], extra: &[&str]| HostConfig {
            dns: Some(dns.iter().map(|s| s.to_string()).collect()),
            dns_search: Some(search.iter().map(|s| s.to_string()).collect()),
            dns_options: Some(opts.iter().map(|s| s.to_string()).collect()),
            extra_hosts: Some(extra.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        assert!(
            check(h(
                &["10.0.0.1"],
                &["example.com"],
                &["ndots:2"],
                &["h:10.1.2.3"]
            ))
            .is_ok()
        );
        assert_eq!(
            err(h(&[], &[], &[], &["nocolon"])),
            "bad format for add-host: \"nocolon\""
        );
        assert_eq!(
            err(h(&[], &[], &[], &["h\nx:1.2.3.4"])),
            "bad format for add-host: \"h\\nx:1.2.3.4\""
        );
        assert_eq!(
            err(h(&[], &[], &[], &["h:1.2.3.999"])),
            "invalid IP address in add-host: \"1.2.3.999\""
        );
        assert_eq!(
            err(h(&["x"], &[], &[], &[])),
            "invalid DNS server address \"x\": IP address is not correctly formatted"
        );
        assert_eq!(
            err(h(&[], &["a.com\nnameserver 6.6.6.6"], &[], &[])),
            "invalid DNS search domain \"a.com\\nnameserver 6.6.6.6\": a.com\nnameserver 6.6.6.6 is not a valid domain"
        );
        assert!(
            err(h(&[], &[], &["ndots:1\nnameserver 6.6.6.6"], &[]))
                .starts_with("invalid DNS option")
        );
    }

    #[test]
    fn devices_paths_and_modes() {
        use crate::models::DeviceMapping;
        let h = |on_host: &str, in_container: &str, perms: &str| HostConfig {
            devices: Some(vec![DeviceMapping {
                path_on_host: Some(on_host.into()),
                path_in_container: Some(in_container.into()),
                cgroup_permissions: Some(perms.into()),
            }]),
            ..Default::default()
        };
        assert_eq!(
            err(h("/etc/passwd", "/dev/x", "rwm")),
            "invalid device \"/etc/passwd\": the path on the host must be under /dev"
        );
        assert_eq!(
            err(h("/dev/../etc/passwd", "/dev/x", "rwm")),
            "invalid device \"/dev/../etc/passwd\": the path on the host must be under /dev"
        );
        assert_eq!(
            err(h("/dev/null", "rel", "rwm")),
            "invalid device \"/dev/null\": rel is not an absolute path in the container"
        );
        assert_eq!(
            err(h("/dev/null", "/dev/null", "rwx")),
            "invalid device mode \"rwx\" for device \"/dev/null\": it must combine r, w and m"
        );
        assert_eq!(
            err(h("/dev/null", "/dev/null", "rr")),
            "invalid device mode \"rr\" for device \"/dev/null\": it must combine r, w and m"
        );
        assert!(
            err(h("/dev/berth-no-such-device", "/dev/x", "rw"))
                .starts_with("error gathering device information while adding custom device \"/dev/berth-no-such-device\"")
        );
        assert!(check(h("/dev/null", "/dev/mynull", "rw")).is_ok());
        assert!(check(h("/dev/null", "", "")).is_ok());
    }

    #[test]
    fn nul_bytes_and_cgroup_parent() {
        let host = |h: HostConfig| err(h);
        assert_eq!(
            config_err(ContainerConfig {
                hostname: Some("a\0b".into()),
                ..Default::default()
            }),
            "invalid Hostname \"a\\0b\": it must not contain NUL bytes or control characters"
        );
        assert_eq!(
            config_err(ContainerConfig {
                domainname: Some("a\nb".into()),
                ..Default::default()
            }),
            "invalid Domainname \"a\\nb\": it must not contain NUL bytes or control characters"
        );
        for (c, field) in [
            (
                ContainerConfig {
                    user: Some("a\0".into()),
                    ..Default::default()
                },
                "User",
            ),
            (
                ContainerConfig {
                    working_dir: Some("/a\0".into()),
                    ..Default::default()
                },
                "WorkingDir",
            ),
            (
                ContainerConfig {
                    env: Some(vec!["A=\0".into()]),
                    ..Default::default()
                },
                "Env",
            ),
            (
                ContainerConfig {
                    cmd: Some(vec!["a\0".into()]),
                    ..Default::default()
                },
                "Cmd",
            ),
            (
                ContainerConfig {
                    entrypoint: Some(vec!["a\0".into()]),
                    ..Default::default()
                },
                "Entrypoint",
            ),
        ] {
            let e = config_err(c);
            assert!(
                e.starts_with(&format!("invalid {field} "))
                    && e.ends_with("it must not contain NUL bytes"),
                "{e}"
            );
        }
        assert_eq!(
            host(HostConfig {
                cgroup_parent: Some("a\0b".into()),
                ..Default::default()
            }),
            "invalid CgroupParent \"a\\0b\": it must not contain NUL bytes"
        );
        assert_eq!(
            host(HostConfig {
                cgroup_parent: Some("/x/../../escape".into()),
                ..Default::default()
            }),
            "invalid CgroupParent \"/x/../../escape\": it must not contain '..'"
        );
        assert!(
            check(HostConfig {
                cgroup_parent: Some("/my..group/x".into()),
                ..Default::default()
            })
            .is_ok()
        );
        assert!(
            host(HostConfig {
                binds: Some(vec!["/a\0:/b".into()]),
                ..Default::default()
            })
            .starts_with("invalid Binds")
        );
        assert!(
            host(HostConfig {
                tmpfs: Some(HashMap::from([("/t".to_string(), "size=1m\0".to_string())])),
                ..Default::default()
            })
            .starts_with("invalid Tmpfs")
        );
    }
}
