//! Usage from cpuacct.*, cpu.stat, memory.*, pids.*, blkio.*.

use std::path::Path;

use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;
use crate::runtime::cgroups::stats::{
    BlkioEntry, BlkioStats, CgroupStats, CpuStats, MemoryStats, PidsStats, ThrottlingStats,
};

/// USER_HZ: cpuacct.stat counts in clock ticks, 100 a second on every Linux ABI.
const NS_PER_TICK: u64 = 10_000_000;

pub(super) fn read(
    cpu: Option<&Path>,
    cpuacct: Option<&Path>,
    memory: Option<&Path>,
    pids: Option<&Path>,
    blkio: Option<&Path>,
) -> Result<CgroupStats, CgroupError> {
    let mut stats = CgroupStats {
        version: 1,
        ..Default::default()
    };
    if let Some(dir) = cpuacct {
        read_cpuacct(dir, &mut stats.cpu)?;
    }
    if let Some(dir) = cpu {
        let raw = fsio::read_keyed_opt(dir, "cpu.stat")?.unwrap_or_default();
        let get = |k: &str| raw.get(k).copied().unwrap_or(0);
        stats.cpu.throttling = ThrottlingStats {
            periods: get("nr_periods"),
            throttled_periods: get("nr_throttled"),
            throttled_time_ns: get("throttled_time"),
        };
        stats.cpu.raw = raw;
    }
    if let Some(dir) = memory {
        stats.memory = read_memory(dir)?;
    }
    if let Some(dir) = pids
        && let Some(current) = fsio::read_u64_opt(dir, "pids.current")?
    {
        let limit = fsio::read_u64(dir, "pids.max")?;
        stats.pids = PidsStats {
            current,
            limit: if limit == u64::MAX { 0 } else { limit },
        };
    }
    if let Some(dir) = blkio {
        stats.blkio = read_blkio(dir)?;
    }
    Ok(stats)
}

fn read_cpuacct(dir: &Path, cpu: &mut CpuStats) -> Result<(), CgroupError> {
    cpu.total_usage_ns = fsio::read_u64_opt(dir, "cpuacct.usage")?.unwrap_or(0);
    if let Some(text) = fsio::read_opt(dir, "cpuacct.usage_percpu")? {
        let path = dir.join("cpuacct.usage_percpu");
        cpu.percpu_usage_ns = text
            .split_whitespace()
            .map(|v| fsio::parse_u64(&path, v))
            .collect::<Result<_, _>>()?;
    }
    if let Some(ticks) = fsio::read_keyed_opt(dir, "cpuacct.stat")? {
        cpu.user_ns = ticks.get("user").copied().unwrap_or(0) * NS_PER_TICK;
        cpu.system_ns = ticks.get("system").copied().unwrap_or(0) * NS_PER_TICK;
    }
    Ok(())
}

fn read_memory(dir: &Path) -> Result<MemoryStats, CgroupError> {
    // memory.oom_control has a few numeric lines; keep them as the events map.
    Ok(MemoryStats {
        usage: fsio::read_u64_opt(dir, "memory.usage_in_bytes")?.unwrap_or(0),
        max_usage: fsio::read_u64_opt(dir, "memory.max_usage_in_bytes")?,
        limit: fsio::read_u64_opt(dir, "memory.limit_in_bytes")?.unwrap_or(u64::MAX),
        failcnt: fsio::read_u64_opt(dir, "memory.failcnt")?,
        swap_usage: fsio::read_u64_opt(dir, "memory.memsw.usage_in_bytes")?,
        swap_limit: fsio::read_u64_opt(dir, "memory.memsw.limit_in_bytes")?,
        stats: fsio::read_keyed_opt(dir, "memory.stat")?.unwrap_or_default(),
        events: fsio::read_keyed_opt(dir, "memory.oom_control")?.unwrap_or_default(),
    })
}

/// The first family of recursive files that has data, as runc picks them: BFQ, then CFQ, then
/// the throttle layer (which counts every I/O, whatever the scheduler).
fn read_blkio(dir: &Path) -> Result<BlkioStats, CgroupError> {
    const FAMILIES: [(&str, &str); 3] = [
        (
            "blkio.bfq.io_service_bytes_recursive",
            "blkio.bfq.io_serviced_recursive",
        ),
        (
            "blkio.io_service_bytes_recursive",
            "blkio.io_serviced_recursive",
        ),
        (
            "blkio.throttle.io_service_bytes_recursive",
            "blkio.throttle.io_serviced_recursive",
        ),
    ];
    for (bytes_file, ios_file) in FAMILIES {
        let bytes = read_entries(dir, bytes_file)?;
        if bytes.is_empty() {
            continue;
        }
        return Ok(BlkioStats {
            io_service_bytes_recursive: bytes,
            io_serviced_recursive: read_entries(dir, ios_file)?,
            raw: Default::default(),
        });
    }
    Ok(BlkioStats::default())
}

/// Lines "8:0 Read 1282048"; the trailing "Total N" line is skipped.
fn read_entries(dir: &Path, file: &str) -> Result<Vec<BlkioEntry>, CgroupError> {
    let Some(text) = fsio::read_opt(dir, file)? else {
        return Ok(Vec::new());
    };
    let path = dir.join(file);
    let bad = |line: &str| CgroupError::Parse {
        path: path.clone(),
        reason: format!("line {line:?}"),
    };
    let mut entries = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (device, op, value) = match fields.as_slice() {
            ["Total", _] => continue,
            [device, op, value] => (*device, *op, *value),
            [device, value] => (*device, "", *value),
            _ => return Err(bad(line)),
        };
        let (major, minor) = device.split_once(':').ok_or_else(|| bad(line))?;
        entries.push(BlkioEntry {
            major: major.parse().map_err(|_| bad(line))?,
            minor: minor.parse().map_err(|_| bad(line))?,
            op: op.to_string(),
            value: value.parse().map_err(|_| bad(line))?,
        });
    }
    Ok(entries)
}
