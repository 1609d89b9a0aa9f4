//! The one door for container state changes: a compare-and-set of the stored state in one
//! transaction, dockerd's lifecycle rules checked, the list view and the in-memory lifecycle (what `wait`, `logs
//! -f` and `stop` watch) updated, and the event published. No other code writes the state.

use super::record::Container;
use super::state::ContainerState;
use crate::engine::events::Event;
use crate::engine::{Engine, Error, Result};

impl Engine {
    /// Moves `c` from the state it was read with to what `change` makes of it, publishing
    /// `event` (if any) once the change is stored. Fails, changing nothing, when the rules
    /// forbid the move or the stored state is no longer the one `c` was read with (another
    /// operation got there first: callers hold the container's operation lock, so that is a
    /// bug, said plainly).
    pub(crate) async fn transition(
        &self,
        c: &mut Container,
        change: impl FnOnce(&mut ContainerState),
        event: Option<Event>,
    ) -> Result<()> {
        let old = c.state.clone();
        self.record_transition(c, change, event).await?;
        self.live().observe(&c.id, &old, &c.state);
        Ok(())
    }

    /// [`Engine::transition`] without telling the lifecycle's watchers: for the exit, whose
    /// waiters (`stop`, `wait`, `kill`) are told once the container is also torn down, as
    /// dockerd tells them after its cleanup ([`super::live::Live::observe`]).
    pub(crate) async fn record_transition(
        &self,
        c: &mut Container,
        change: impl FnOnce(&mut ContainerState),
        event: Option<Event>,
    ) -> Result<()> {
        let old = c.state.clone();
        let mut new = old.clone();
        change(&mut new);
        if !old.status.can_become(new.status) {
            return Err(Error::conflict(format!(
                "container {} cannot go from {} to {}",
                c.bare_name(),
                old.status.as_str(),
                new.status.as_str()
            )));
        }
        let swapped = self
            .store()
            .swap_container_state_then(&c.id, &old.to_json(), &new.to_json(), || {
                self.view().set_state(&c.id, &new)
            })
            .await?;
        if !swapped {
            return Err(Error::conflict(format!(
                "container {} changed while it was being {}",
                c.bare_name(),
                match new.status {
                    super::state::Status::Running => "started",
                    super::state::Status::Removing => "removed",
                    _ => "updated",
                }
            )));
        }
        c.state = new;
        if let Some(ev) = event {
            self.events().publish(ev);
        }
        Ok(())
    }
}
