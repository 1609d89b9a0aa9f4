//! `run`: create + start, then (without --detach) wait for the container in the foreground,
//! passing signals on, and delete it when it exits (unless --keep). Exits with its status.

use crate::runtime::cli::{CreateOpts, GlobalOpts};
use crate::runtime::commands::{create, delete, start};
use crate::runtime::error::RuntimeError;
use crate::runtime::log;
use crate::runtime::process::wait;

pub fn run(
    global: &GlobalOpts,
    o: &CreateOpts,
    detach: bool,
    keep: bool,
) -> Result<i32, RuntimeError> {
    let st = create::create_container(global, o)?;
    if let Err(e) = start::start_container(&global.root, &st) {
        let _ = delete::run(global, &o.id, true);
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    // The init is our child: the intermediate exited and we are a subreaper.
    let code = wait::wait_forwarding(st.init_pid).map_err(|source| RuntimeError::Sys {
        what: format!("wait for the container's init {}", st.init_pid),
        source,
    })?;
    if !keep && let Err(e) = delete::destroy(&global.root, &st) {
        log::warn(&format!("cannot delete container {}: {e}", st.id));
    }
    Ok(code)
}
