//! `docker events`: a subscription to the event bus.

use crate::engine::events::{EventFilter, Subscription};
use crate::engine::{Engine, Error, Result};
use crate::models::Filters;

impl Engine {
    /// Past events within `since`..`until` (Unix nanoseconds), then live ones until `until`.
    pub fn subscribe_events(
        &self,
        since: Option<i64>,
        until: Option<i64>,
        filters: Filters,
    ) -> Result<Subscription> {
        if let (Some(s), Some(u)) = (since, until)
            && u < s
        {
            return Err(Error::invalid(format!(
                "`since` time ({}) cannot be after `until` time ({})",
                seconds(s),
                seconds(u)
            )));
        }
        let filter = EventFilter::new(filters).map_err(|e| Error::invalid(e.to_string()))?;
        Ok(self.events().subscribe(since, until, filter))
    }
}

/// Nanoseconds as the `seconds.nanoseconds` clients send.
fn seconds(nanos: i64) -> String {
    format!(
        "{}.{:09}",
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000)
    )
}
