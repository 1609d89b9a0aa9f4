//! `pause` and `resume`: the cgroup freezer. The paused flag in state.json mirrors it so
//! `state` can say `paused` without asking the freezer.

use crate::runtime::cgroup;
use crate::runtime::cli::GlobalOpts;
use crate::runtime::container::{ContainerState, Status};
use crate::runtime::error::RuntimeError;

pub fn pause(global: &GlobalOpts, id: &str) -> Result<i32, RuntimeError> {
    let mut st = ContainerState::load(&global.root, id)?;
    if !st.status(&global.root).can_pause() {
        return Err(RuntimeError::NotRunning);
    }
    let cg =
        cgroup::for_container(&st)?.ok_or_else(|| RuntimeError::NoCgroup { id: id.to_string() })?;
    cg.freeze()?;
    st.paused = true;
    st.save(&global.root)?;
    Ok(0)
}

pub fn resume(global: &GlobalOpts, id: &str) -> Result<i32, RuntimeError> {
    let mut st = ContainerState::load(&global.root, id)?;
    if st.status(&global.root) != Status::Paused {
        return Err(RuntimeError::NotPaused);
    }
    let cg =
        cgroup::for_container(&st)?.ok_or_else(|| RuntimeError::NoCgroup { id: id.to_string() })?;
    cg.thaw()?;
    st.paused = false;
    st.save(&global.root)?;
    Ok(0)
}
