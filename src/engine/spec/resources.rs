//! Cgroup limits from `HostConfig`'s resources (moby daemon_unix.go getMemoryResources,
//! getCPUResources, getPidsLimit, WithResources).

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxThrottleDevice,
    LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
};

use super::devices;
use super::error::SpecError;
use crate::models::{HostConfig, ThrottleDevice};

/// `--cpus` is enforced over this period (100ms, in µs).
const CPU_PERIOD_US: u64 = 100_000;

pub(crate) fn memory(host: &HostConfig) -> Option<LinuxMemory> {
    let mut m = LinuxMemory::default();
    let positive = |v: Option<i64>| v.filter(|v| *v > 0);
    m.set_limit(positive(host.memory));
    m.set_reservation(positive(host.memory_reservation));
    m.set_swap(positive(host.memory_swap));
    // -1 means "unset" on the wire.
    m.set_swappiness(host.memory_swappiness.filter(|s| *s >= 0).map(|s| s as u64));
    m.set_disable_oom_killer(host.oom_kill_disable);
    (m != LinuxMemory::default()).then_some(m)
}

pub(crate) fn cpu(host: &HostConfig) -> Result<Option<LinuxCpu>, SpecError> {
    let mut c = LinuxCpu::default();
    match host.cpu_shares.unwrap_or(0) {
        0 => {}
        s if s < 0 => {
            return Err(SpecError::invalid(format!(
                "invalid CPU shares ({s}): value must be a positive integer"
            )));
        }
        s => {
            c.set_shares(Some(s as u64));
        }
    }
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    c.set_cpus(non_empty(&host.cpuset_cpus));
    c.set_mems(non_empty(&host.cpuset_mems));
    let nano = host.nano_cpus.unwrap_or(0);
    if nano > 0 {
        c.set_period(Some(CPU_PERIOD_US));
        c.set_quota(Some(nano * CPU_PERIOD_US as i64 / 1_000_000_000));
    }
    if let Some(p) = host.cpu_period.filter(|p| *p != 0) {
        c.set_period(Some(p as u64));
    }
    if let Some(q) = host.cpu_quota.filter(|q| *q != 0) {
        c.set_quota(Some(q));
    }
    if let Some(p) = host.cpu_realtime_period.filter(|p| *p != 0) {
        c.set_realtime_period(Some(p as u64));
    }
    if let Some(r) = host.cpu_realtime_runtime.filter(|r| *r != 0) {
        c.set_realtime_runtime(Some(r));
    }
    Ok((c != LinuxCpu::default()).then_some(c))
}

/// `--pids-limit`: zero or negative means unlimited, which runc wants as -1.
pub(crate) fn pids(host: &HostConfig) -> Option<LinuxPids> {
    let limit = host.pids_limit?;
    let mut p = LinuxPids::default();
    p.set_limit(if limit <= 0 { -1 } else { limit });
    Some(p)
}

/// Always present (possibly empty), as dockerd writes it. Device entries need the host devices'
/// numbers.
pub(crate) fn block_io(host: &HostConfig) -> Result<LinuxBlockIo, SpecError> {
    let mut b = LinuxBlockIo::default();
    if let Some(w) = host.blkio_weight.filter(|w| *w != 0) {
        b.set_weight(Some(w));
    }
    let mut weights = Vec::new();
    for wd in host.blkio_weight_device.iter().flatten() {
        let (major, minor) = devices::numbers(wd.path.as_deref().unwrap_or(""))?;
        let mut d = LinuxWeightDeviceBuilder::default()
            .major(major)
            .minor(minor);
        if let Some(w) = wd.weight {
            d = d.weight(w as u16);
        }
        weights.push(d.build()?);
    }
    b.set_weight_device(non_empty(weights));
    b.set_throttle_read_bps_device(throttle(&host.blkio_device_read_bps)?);
    b.set_throttle_write_bps_device(throttle(&host.blkio_device_write_bps)?);
    b.set_throttle_read_iops_device(throttle(&host.blkio_device_read_iops)?);
    b.set_throttle_write_iops_device(throttle(&host.blkio_device_write_iops)?);
    Ok(b)
}

fn throttle(
    list: &Option<Vec<ThrottleDevice>>,
) -> Result<Option<Vec<LinuxThrottleDevice>>, SpecError> {
    let mut out = Vec::new();
    for t in list.iter().flatten() {
        let (major, minor) = devices::numbers(t.path.as_deref().unwrap_or(""))?;
        out.push(
            LinuxThrottleDeviceBuilder::default()
                .major(major)
                .minor(minor)
                .rate(t.rate.unwrap_or(0) as u64)
                .build()?,
        );
    }
    Ok(non_empty(out))
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ResourcesBlkioWeightDevice;

    #[test]
    fn nothing_set_gives_no_memory_no_cpu_no_pids_empty_blkio() {
        let h = HostConfig::default();
        assert_eq!(memory(&h), None);
        assert!(cpu(&h).is_ok_and(|c| c.is_none()));
        assert_eq!(pids(&h), None);
        assert!(block_io(&h).is_ok_and(|b| b == LinuxBlockIo::default()));
    }

    #[test]
    fn memory_fields() {
        let h = HostConfig {
            memory: Some(64 << 20),
            memory_reservation: Some(32 << 20),
            memory_swap: Some(128 << 20),
            memory_swappiness: Some(10),
            oom_kill_disable: Some(true),
            ..Default::default()
        };
        let m = memory(&h).unwrap_or_default();
        assert_eq!(m.limit(), Some(67108864));
        assert_eq!(m.reservation(), Some(33554432));
        assert_eq!(m.swap(), Some(134217728));
        assert_eq!(m.swappiness(), Some(10));
        assert_eq!(m.disable_oom_killer(), Some(true));
    }

    #[test]
    fn oom_kill_disable_false_alone_still_makes_a_memory_section() {
        let h = HostConfig {
            oom_kill_disable: Some(false),
            ..Default::default()
        };
        assert_eq!(
            memory(&h).map(|m| m.disable_oom_killer()),
            Some(Some(false))
        );
    }

    #[test]
    fn unlimited_swap_and_unset_swappiness_are_left_out() {
        let h = HostConfig {
            memory: Some(64 << 20),
            memory_swap: Some(-1),
            memory_swappiness: Some(-1),
            ..Default::default()
        };
        let m = memory(&h).unwrap_or_default();
        assert_eq!((m.swap(), m.swappiness()), (None, None));
    }

    #[test]
    fn nano_cpus_become_quota_over_100ms() {
        let h = HostConfig {
            nano_cpus: Some(1_500_000_000),
            ..Default::default()
        };
        let c = cpu(&h).ok().flatten().unwrap_or_default();
        assert_eq!((c.period(), c.quota()), (Some(100000), Some(150000)));
        let h = HostConfig {
            nano_cpus: Some(10_000_000),
            ..Default::default()
        };
        let c = cpu(&h).ok().flatten().unwrap_or_default();
        assert_eq!(c.quota(), Some(1000));
    }

    #[test]
    fn explicit_period_and_quota_and_cpusets() {
        let h = HostConfig {
            cpu_period: Some(50000),
            cpu_quota: Some(25000),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0-1".into()),
            cpuset_mems: Some(String::new()),
            cpu_realtime_period: Some(1000),
            cpu_realtime_runtime: Some(500),
            ..Default::default()
        };
        let c = cpu(&h).ok().flatten().unwrap_or_default();
        assert_eq!(
            (c.period(), c.quota(), c.shares()),
            (Some(50000), Some(25000), Some(512))
        );
        assert_eq!(c.cpus().as_deref(), Some("0-1"));
        assert_eq!(c.mems(), &None);
        assert_eq!(
            (c.realtime_period(), c.realtime_runtime()),
            (Some(1000), Some(500))
        );
    }

    #[test]
    fn negative_shares_are_refused() {
        let h = HostConfig {
            cpu_shares: Some(-2),
            ..Default::default()
        };
        assert_eq!(
            cpu(&h).err().map(|e| e.to_string()).as_deref(),
            Some("invalid CPU shares (-2): value must be a positive integer")
        );
    }

    #[test]
    fn pids_limit_unlimited_is_minus_one() {
        for (given, want) in [(100, 100), (0, -1), (-5, -1)] {
            let h = HostConfig {
                pids_limit: Some(given),
                ..Default::default()
            };
            assert_eq!(pids(&h).map(|p| p.limit()), Some(want));
        }
    }

    #[test]
    fn blkio_weight_and_devices() {
        let h = HostConfig {
            blkio_weight: Some(300),
            blkio_weight_device: Some(vec![ResourcesBlkioWeightDevice {
                path: Some("/dev/null".into()),
                weight: Some(200),
            }]),
            blkio_device_read_bps: Some(vec![ThrottleDevice {
                path: Some("/dev/zero".into()),
                rate: Some(1024),
            }]),
            ..Default::default()
        };
        let b = match block_io(&h) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(b.weight(), Some(300));
        let wd = b.weight_device().clone().unwrap_or_default();
        assert_eq!(
            (wd[0].major(), wd[0].minor(), wd[0].weight()),
            (1, 3, Some(200))
        );
        let rd = b.throttle_read_bps_device().clone().unwrap_or_default();
        assert_eq!((rd[0].major(), rd[0].minor(), rd[0].rate()), (1, 5, 1024));
    }

    #[test]
    fn blkio_device_that_does_not_exist_is_an_error() {
        let h = HostConfig {
            blkio_device_write_iops: Some(vec![ThrottleDevice {
                path: Some("/dev/does-not-exist-berth".into()),
                rate: Some(1),
            }]),
            ..Default::default()
        };
        assert!(matches!(block_io(&h), Err(SpecError::Io { .. })));
    }
}
