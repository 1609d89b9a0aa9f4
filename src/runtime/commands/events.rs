//! `events`: with --stats, one `{"type":"stats","id":...,"data":{...}}` line (the cgroup stats,
//! shaped like runc's); without, a stats line every --interval plus an `oom` event whenever the
//! OOM-kill count grows, until the container stops.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::runtime::cgroup;
use crate::runtime::cgroups::Manager;
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
    Ok(json!({"type": "stats", "id": id, "data": stats}))
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
