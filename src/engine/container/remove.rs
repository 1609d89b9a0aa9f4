//! `docker rm`.

use super::state::ContainerState;
use crate::engine::{Engine, Error, Result};

impl Engine {
    pub async fn remove_container(&self, input: &str, force: bool) -> Result<()> {
        let row = self.resolve_container(input).await?;
        let state = ContainerState::parse(&row.state);
        if state.is_running() && !force {
            return Err(Error::conflict(format!(
                "cannot remove container \"{}\": container is {}: stop the container before removing or force remove",
                row.name,
                state.status.as_str()
            )));
        }
        self.store().delete_container(&row.id).await?;
        Ok(())
    }
}
