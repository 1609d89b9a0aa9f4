//! `POST /exec/{id}/resize`: the exec's terminal size.

use super::ExecPhase;
use crate::engine::{Engine, Error, Result};

impl Engine {
    pub async fn resize_exec(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let r = self
            .execs()
            .get(id)
            .ok_or_else(|| Error::not_found(format!("No such exec instance: {id}")))?;
        if !matches!(r.phase, ExecPhase::Running { .. }) {
            return Err(Error::conflict(format!("exec {id} is not running")));
        }
        let task = self.live().task(&r.container_id).ok_or_else(|| {
            Error::conflict(format!("container {} is not running", r.container_id))
        })?;
        task.exec_resize(id, width, height)
            .await
            .map_err(|e| Error::internal(e.to_string()))
    }
}
