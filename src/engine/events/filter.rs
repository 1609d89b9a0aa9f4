//! `GET /events` filters, with moby's rules (daemon/events/filter.go): every key given must
//! match (`type`, `event`, `scope` exactly; `container`, `network`, `volume`, `daemon`, ... by
//! actor ID or name, a prefix matching too; `image` by ID or name, with or without its tag;
//! `label` as a key-value list). Unknown keys are refused (dockerd ignores them silently).

use crate::models::Filters;
use crate::models::filters::FilterError;

const KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// The object types whose filter matches the actor by ID or name.
const BY_NAME: &[&str] = &[
    "config",
    "container",
    "daemon",
    "network",
    "node",
    "plugin",
    "secret",
    "service",
    "volume",
];

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    filters: Filters,
}

impl EventFilter {
    pub fn new(filters: Filters) -> Result<EventFilter, FilterError> {
        filters.validate(KEYS)?;
        Ok(EventFilter { filters })
    }

    pub fn includes(&self, ev: &super::Event) -> bool {
        let f = &self.filters;
        self.event_matches(&ev.action)
            && exact(f, "type", ev.typ)
            && exact(f, "scope", "local")
            && BY_NAME.iter().all(|typ| {
                let name = ev.attributes.get("name").map(String::as_str).unwrap_or("");
                fuzzy(f, typ, &ev.actor_id) || fuzzy(f, typ, name)
            })
            && self.image_matches(ev)
            && f.match_kv("label", |k| ev.attributes.get(k).map(String::as_str))
    }

    /// `health_status`, `exec_create` and `exec_start` carry a suffix (`exec_start: sh -c ...`),
    /// so a filter naming one of them matches by prefix, as dockerd.
    fn event_matches(&self, action: &str) -> bool {
        let f = &self.filters;
        let prefixed = f
            .get("event")
            .any(|v| matches!(v, "health_status" | "exec_create" | "exec_start"));
        if prefixed {
            fuzzy(f, "event", action)
        } else {
            exact(f, "event", action)
        }
    }

    fn image_matches(&self, ev: &super::Event) -> bool {
        let f = &self.filters;
        if !f.contains("image") {
            return true;
        }
        let attr = if ev.typ == "image" { "name" } else { "image" };
        let name = ev.attributes.get(attr).map(String::as_str).unwrap_or("");
        [
            ev.actor_id.clone(),
            name.to_string(),
            strip_tag(&ev.actor_id),
            strip_tag(name),
        ]
        .iter()
        .any(|s| f.get("image").any(|v| v == s))
    }
}

fn exact(f: &Filters, key: &str, value: &str) -> bool {
    !f.contains(key) || f.get(key).any(|v| v == value)
}

fn fuzzy(f: &Filters, key: &str, value: &str) -> bool {
    !f.contains(key) || f.get(key).any(|v| value.starts_with(v))
}

/// `busybox:latest` -> `busybox`, `docker.io/library/x:1` -> `x` (reference.FamiliarName).
fn strip_tag(image: &str) -> String {
    match crate::image::reference::Reference::parse(image) {
        Ok(r) => r.familiar_name(),
        Err(_) => image.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Event;
    use super::*;

    fn f(json: &str) -> EventFilter {
        EventFilter::new(Filters::parse(json).unwrap()).unwrap()
    }

    fn started() -> Event {
        Event::new("container", "start", "abcdef0123")
            .with("name", "web")
            .with("image", "busybox:latest")
            .with("tier", "front")
    }

    #[test]
    fn every_key_given_must_match() {
        let ev = started();
        for yes in [
            "",
            r#"{"type":["container"]}"#,
            r#"{"event":["start","die"]}"#,
            r#"{"container":["web"]}"#,
            r#"{"container":["abc"]}"#,
            r#"{"image":["busybox"]}"#,
            r#"{"image":["busybox:latest"]}"#,
            r#"{"label":["tier"]}"#,
            r#"{"label":["tier=front"]}"#,
            r#"{"label":["tier!=back"]}"#,
            r#"{"scope":["local"]}"#,
            r#"{"type":["container"],"event":["start"],"label":["tier"]}"#,
        ] {
            assert!(f(yes).includes(&ev), "{yes}");
        }
        for no in [
            r#"{"type":["image"]}"#,
            r#"{"event":["die"]}"#,
            r#"{"container":["db"]}"#,
            r#"{"image":["alpine"]}"#,
            r#"{"label":["tier=back"]}"#,
            r#"{"label":["tier!=front"]}"#,
            r#"{"label":["other"]}"#,
            r#"{"network":["n1"]}"#,
            r#"{"volume":["v"]}"#,
            r#"{"scope":["swarm"]}"#,
            r#"{"type":["container"],"event":["die"]}"#,
        ] {
            assert!(!f(no).includes(&ev), "{no}");
        }
    }

    #[test]
    fn prefixed_actions_and_image_events() {
        let exec = Event::new("container", "exec_start: sh -c true", "c1");
        assert!(f(r#"{"event":["exec_start"]}"#).includes(&exec));
        assert!(!f(r#"{"event":["exec_create"]}"#).includes(&exec));
        let tag = Event::image("tag", "sha256:1234", "example:v1");
        assert!(f(r#"{"image":["example"]}"#).includes(&tag));
        assert!(f(r#"{"image":["sha256:1234"]}"#).includes(&tag));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = EventFilter::new(Filters::parse(r#"{"colour":["red"]}"#).unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "invalid filter 'colour'");
    }
}
