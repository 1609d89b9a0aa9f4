//! Resource usage of one container's cgroup, shaped so the daemon can build Docker's stats JSON
//! for either cgroup version (v1-only fields are `Option`s; raw kernel maps are kept).

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CgroupStats {
    /// 1 or 2: which kernel files the numbers came from.
    pub version: u8,
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
    pub blkio: BlkioStats,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuStats {
    /// v1 cpuacct.usage; v2 cpu.stat usage_usec * 1000.
    pub total_usage_ns: u64,
    /// v1 cpuacct.usage_percpu; empty on v2 (the kernel has no per-cpu split there).
    pub percpu_usage_ns: Vec<u64>,
    /// v1 cpuacct.stat user ticks in ns; v2 user_usec * 1000.
    pub user_ns: u64,
    /// v1 cpuacct.stat system ticks in ns; v2 system_usec * 1000.
    pub system_ns: u64,
    pub throttling: ThrottlingStats,
    /// cpu.stat as the kernel wrote it.
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ThrottlingStats {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time_ns: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryStats {
    /// v1 memory.usage_in_bytes; v2 memory.current.
    pub usage: u64,
    /// v1 memory.max_usage_in_bytes; v2 memory.peak when the kernel has it.
    pub max_usage: Option<u64>,
    /// v1 memory.limit_in_bytes; v2 memory.max ("max" is u64::MAX).
    pub limit: u64,
    /// v1 memory.failcnt only.
    pub failcnt: Option<u64>,
    /// v1 memory.memsw.usage_in_bytes (memory+swap); v2 memory.swap.current (swap only).
    pub swap_usage: Option<u64>,
    /// v1 memory.memsw.limit_in_bytes; v2 memory.swap.max.
    pub swap_limit: Option<u64>,
    /// memory.stat as the kernel wrote it (v1: cache, rss, total_*...; v2: anon, file...).
    pub stats: BTreeMap<String, u64>,
    /// v2 memory.events; v1 memory.oom_control (oom_kill_disable, under_oom, oom_kill).
    pub events: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PidsStats {
    pub current: u64,
    /// 0 means no limit, as Docker reports it.
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlkioStats {
    /// v1 ops as the kernel names them ("Read", "Write", "Sync", "Async", "Discard", "Total");
    /// v2 "read"/"write" from io.stat rbytes/wbytes, as dockerd reports v2.
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// Same, counting operations (v2 rios/wios).
    pub io_serviced_recursive: Vec<BlkioEntry>,
    /// v2 io.stat by "major:minor", as the kernel wrote it; empty on v1.
    pub raw: BTreeMap<String, BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}
