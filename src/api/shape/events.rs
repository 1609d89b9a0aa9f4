//! `GET /events` records per API version: the newest shape, plus the legacy `status`, `id` and
//! `from` fields that dockerd sent before API 1.52.

use serde_json::{Value, json};

use crate::api::version::ApiVersion;
use crate::engine::events::Event;

pub fn event(v: ApiVersion, ev: &Event) -> Value {
    let mut doc = json!({
        "Type": ev.typ,
        "Action": ev.action,
        "Actor": {"ID": ev.actor_id, "Attributes": ev.attributes},
        "scope": "local",
        "time": ev.time_nano.div_euclid(1_000_000_000),
        "timeNano": ev.time_nano,
    });
    if v < ApiVersion(1, 52)
        && let Some(obj) = doc.as_object_mut()
    {
        match ev.typ {
            "container" => {
                obj.insert("status".into(), json!(ev.action));
                obj.insert("id".into(), json!(ev.actor_id));
                obj.insert(
                    "from".into(),
                    json!(ev.attributes.get("image").cloned().unwrap_or_default()),
                );
            }
            "image" => {
                obj.insert("status".into(), json!(ev.action));
                obj.insert("id".into(), json!(ev.actor_id));
            }
            _ => {}
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_fields_before_1_52_only() {
        let ev = Event::new("container", "start", "c1").with("image", "busybox");
        let old = event(ApiVersion(1, 51), &ev);
        assert_eq!(old["status"], "start");
        assert_eq!(old["id"], "c1");
        assert_eq!(old["from"], "busybox");
        assert_eq!(old["Actor"]["Attributes"]["image"], "busybox");
        let new = event(ApiVersion(1, 52), &ev);
        assert!(new.get("status").is_none() && new.get("from").is_none());
        assert_eq!(new["scope"], "local");
        assert_eq!(new["time"], ev.time_nano / 1_000_000_000);
    }
}
