//! A container as the engine works with it: the store's row parsed once, when read. A damaged
//! row is an error that names the container, never silent defaults (a start with a defaulted
//! config would mount no layers).

use super::state::ContainerState;
use crate::engine::events::Event;
use crate::engine::{Engine, Error, Result};
use crate::models::{ContainerConfig, HostConfig};
use crate::store::ContainerRow;

#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    /// With dockerd's leading slash.
    pub name: String,
    pub image_id: String,
    /// The image as the user named it.
    pub image_ref: String,
    /// Unix nanoseconds.
    pub created_at: i64,
    pub config: ContainerConfig,
    pub host: HostConfig,
    pub state: ContainerState,
    /// The diff IDs the root filesystem is built from, bottom first.
    pub layers: Vec<String>,
}

/// The error for a row whose `what` (config, state, ...) does not parse, naming the container.
pub(crate) fn damaged(row: &ContainerRow, what: &str, e: serde_json::Error) -> Error {
    Error::internal(format!(
        "container {} ({}) has a damaged {what} record: {e}",
        row.name.trim_start_matches('/'),
        row.id
    ))
}

impl Container {
    pub fn from_row(row: ContainerRow) -> Result<Container> {
        let damaged = |what: &str, e| damaged(&row, what, e);
        Ok(Container {
            config: serde_json::from_str(&row.config).map_err(|e| damaged("config", e))?,
            host: serde_json::from_str(&row.host_config).map_err(|e| damaged("host config", e))?,
            state: serde_json::from_str(&row.state).map_err(|e| damaged("state", e))?,
            layers: serde_json::from_str(&row.layers).map_err(|e| damaged("layer list", e))?,
            id: row.id,
            name: row.name,
            image_id: row.image_id,
            image_ref: row.image_ref,
            created_at: row.created_at,
        })
    }

    /// The name without dockerd's leading slash.
    pub fn bare_name(&self) -> &str {
        self.name.strip_prefix('/').unwrap_or(&self.name)
    }

    /// An event about this container, with dockerd's attributes (labels, image, name).
    pub fn event(&self, action: &str) -> Event {
        Event::container(
            action,
            &self.id,
            &self.name,
            &self.image_ref,
            self.config.labels.iter().flatten(),
        )
    }
}

impl Engine {
    /// Finds one container (full ID, exact name or unique ID prefix) and parses its record.
    pub(crate) async fn container(&self, input: &str) -> Result<Container> {
        Container::from_row(self.resolve_container(input).await?)
    }

    /// The container with this exact ID, read afresh (after taking its operation lock).
    pub(crate) async fn container_by_id(&self, id: &str) -> Result<Option<Container>> {
        self.store()
            .container(id)
            .await?
            .map(Container::from_row)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ContainerRow {
        ContainerRow {
            id: "0123456789abcdef".into(),
            name: "/web".into(),
            image_id: "sha256:i".into(),
            image_ref: "busybox".into(),
            created_at: 1,
            config: r#"{"Labels":{"a":"b"}}"#.into(),
            host_config: "{}".into(),
            state: r#"{"status":"exited","exit_code":3}"#.into(),
            layers: r#"["sha256:l"]"#.into(),
        }
    }

    #[test]
    fn parsed_once_with_its_event_attributes() {
        let c = Container::from_row(row()).unwrap();
        assert_eq!(c.state.exit_code, 3);
        assert_eq!(c.layers, ["sha256:l"]);
        let ev = c.event("start");
        assert_eq!(ev.attributes["name"], "web");
        assert_eq!(ev.attributes["image"], "busybox");
        assert_eq!(ev.attributes["a"], "b");
    }

    #[test]
    fn a_damaged_row_is_an_error_naming_the_container() {
        for (field, value) in [("config", "{"), ("state", "garbage"), ("layers", "[1]")] {
            let mut r = row();
            match field {
                "config" => r.config = value.into(),
                "state" => r.state = value.into(),
                _ => r.layers = value.into(),
            }
            let e = Container::from_row(r).unwrap_err();
            assert!(
                e.message.contains("container web (0123456789abcdef)"),
                "{e}"
            );
        }
    }
}
