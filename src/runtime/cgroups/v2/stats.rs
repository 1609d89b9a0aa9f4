//! Usage from cpu.stat, memory.*, pids.*, io.stat. Files of controllers that are not enabled
//! are absent; their numbers stay zero.

use std::collections::BTreeMap;
use std::path::Path;

use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;
use crate::runtime::cgroups::stats::{
    BlkioEntry, BlkioStats, CgroupStats, CpuStats, MemoryStats, PidsStats, ThrottlingStats,
};

pub(super) fn read(dir: &Path) -> Result<CgroupStats, CgroupError> {
    Ok(CgroupStats {
        version: 2,
        cpu: cpu(dir)?,
        memory: memory(dir)?,
        pids: pids(dir)?,
        blkio: io(dir)?,
    })
}

fn cpu(dir: &Path) -> Result<CpuStats, CgroupError> {
    // cpu.stat exists even without the cpu controller (usage only).
    let raw = fsio::read_keyed_opt(dir, "cpu.stat")?.unwrap_or_default();
    let get = |k: &str| raw.get(k).copied().unwrap_or(0);
    Ok(CpuStats {
        total_usage_ns: get("usage_usec") * 1000,
        percpu_usage_ns: Vec::new(),
        user_ns: get("user_usec") * 1000,
        system_ns: get("system_usec") * 1000,
        throttling: ThrottlingStats {
            periods: get("nr_periods"),
            throttled_periods: get("nr_throttled"),
            throttled_time_ns: get("throttled_usec") * 1000,
        },
        raw,
    })
}

fn memory(dir: &Path) -> Result<MemoryStats, CgroupError> {
    Ok(MemoryStats {
        usage: fsio::read_u64_opt(dir, "memory.current")?.unwrap_or(0),
        max_usage: fsio::read_u64_opt(dir, "memory.peak")?,
        limit: fsio::read_u64_opt(dir, "memory.max")?.unwrap_or(u64::MAX),
        failcnt: None,
        swap_usage: fsio::read_u64_opt(dir, "memory.swap.current")?,
        swap_limit: fsio::read_u64_opt(dir, "memory.swap.max")?,
        stats: fsio::read_keyed_opt(dir, "memory.stat")?.unwrap_or_default(),
        events: fsio::read_keyed_opt(dir, "memory.events")?.unwrap_or_default(),
    })
}

fn pids(dir: &Path) -> Result<PidsStats, CgroupError> {
    match fsio::read_u64_opt(dir, "pids.current")? {
        Some(current) => {
            let limit = fsio::read_u64(dir, "pids.max")?;
            Ok(PidsStats {
                current,
                limit: if limit == u64::MAX { 0 } else { limit },
            })
        }
        // No pids controller: count the members instead.
        None => Ok(PidsStats {
            current: fsio::read(dir, "cgroup.procs")?.lines().count() as u64,
            limit: 0,
        }),
    }
}

/// io.stat lines: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0".
fn io(dir: &Path) -> Result<BlkioStats, CgroupError> {
    let Some(text) = fsio::read_opt(dir, "io.stat")? else {
        return Ok(BlkioStats::default());
    };
    let path = dir.join("io.stat");
    let bad = |line: &str| CgroupError::Parse {
        path: path.clone(),
        reason: format!("line {line:?}"),
    };
    let mut stats = BlkioStats::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.split_whitespace();
        let device = fields.next().ok_or_else(|| bad(line))?;
        let (major, minor) = device.split_once(':').ok_or_else(|| bad(line))?;
        let major: u64 = major.parse().map_err(|_| bad(line))?;
        let minor: u64 = minor.parse().map_err(|_| bad(line))?;
        let mut values = BTreeMap::new();
        for kv in fields {
            let (k, v) = kv.split_once('=').ok_or_else(|| bad(line))?;
            values.insert(k.to_string(), v.parse::<u64>().map_err(|_| bad(line))?);
        }
        let entry = |op: &str, key: &str| BlkioEntry {
            major,
            minor,
            op: op.to_string(),
            value: values.get(key).copied().unwrap_or(0),
        };
        stats
            .io_service_bytes_recursive
            .push(entry("read", "rbytes"));
        stats
            .io_service_bytes_recursive
            .push(entry("write", "wbytes"));
        stats.io_serviced_recursive.push(entry("read", "rios"));
        stats.io_serviced_recursive.push(entry("write", "wios"));
        stats.raw.insert(device.to_string(), values);
    }
    Ok(stats)
}
