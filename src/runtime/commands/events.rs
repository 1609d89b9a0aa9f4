//! `events`: with --stats, one `{"type":"stats","id":...,"data":{...}}` line (the cgroup stats,
//! shaped like runc's); without, a stats line every --interval plus an `oom` event whenever the
//! OOM-kill count grows, until the container stops.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::runtime::cgroup;
use crate::runtime::cgroups::{CgroupStats, Manager};
use crate::runtime::cli::GlobalOpts;
use crate::runtime::container::{ContainerState, Status};
use crate::runtime::error::RuntimeError;
use crate::runtime::procfs;

fn print_line(v: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn stats_event(id: &str, cg: &Manager) -> Result<serde_json::Value, RuntimeError> {
    let stats = cg.stats()?;
    Ok(json!({"type": "stats", "id": id, "data": runc_shape(&stats)}))
}

/// The stats in runc's `events --stats` shape (libcontainer's types), so consumers of either
/// runtime read the same document.
fn runc_shape(s: &CgroupStats) -> serde_json::Value {
    let blkio = |entries: &[crate::runtime::cgroups::BlkioEntry]| -> Vec<serde_json::Value> {
        entries
            .iter()
            .map(|e| json!({"major": e.major, "minor": e.minor, "op": e.op, "value": e.value}))
            .collect()
    };
    json!({
        "cpu": {
            "usage": {
                "total": s.cpu.total_usage_ns,
                "percpu": s.cpu.percpu_usage_ns,
                "kernel": s.cpu.system_ns,
                "user": s.cpu.user_ns,
            },
            "throttling": {
                "periods": s.cpu.throttling.periods,
                "throttled_periods": s.cpu.throttling.throttled_periods,
                "throttled_time": s.cpu.throttling.throttled_time_ns,
            },
        },
        "memory": {
            "cache": s.memory.stats.get("cache").or(s.memory.stats.get("file")).copied().unwrap_or(0),
            "usage": {
                "limit": s.memory.limit,
                "usage": s.memory.usage,
                "max": s.memory.max_usage.unwrap_or(0),
                "failcnt": s.memory.failcnt.unwrap_or(0),
            },
            "swap": {
                "limit": s.memory.swap_limit.unwrap_or(0),
                "usage": s.memory.swap_usage.unwrap_or(0),
            },
            "raw": s.memory.stats,
        },
        "pids": {"current": s.pids.current, "limit": s.pids.limit},
        "blkio": {
            "ioServiceBytesRecursive": blkio(&s.blkio.io_service_bytes_recursive),
            "ioServicedRecursive": blkio(&s.blkio.io_serviced_recursive),
        },
        "cgroup_version": s.version,
    })
}

pub fn run(
    global: &GlobalOpts,
    id: &str,
    stats: bool,
    interval_secs: u64,
) -> Result<i32, RuntimeError> {
    let st = ContainerState::load(&global.root, id)?;
    if st.status(&global.root) == Status::Stopped {
        return Err(RuntimeError::EventsNotRunning(id.to_string()));
    }
    let cg =
        cgroup::for_container(&st)?.ok_or_else(|| RuntimeError::NoCgroup { id: id.to_string() })?;
    if stats {
        print_line(&stats_event(id, &cg)?);
        return Ok(0);
    }
    let pidfd = procfs::pidfd_for(st.init_pid, st.init_start_time)
        .map_err(|_| RuntimeError::EventsNotRunning(id.to_string()))?;
    let mut ooms = cg.oom_kill_count()?;
    loop {
        print_line(&stats_event(id, &cg)?);
        let now = cg.oom_kill_count()?;
        if now > ooms {
            print_line(&json!({"type": "oom", "id": id}));
            ooms = now;
        }
        // Sleeps until the next sample, or wakes at once when the container exits.
        if procfs::wait_pidfd(&pidfd, Duration::from_secs(interval_secs)) {
            return Ok(0);
        }
    }
}
