//! The event bus: every action dockerd reports (container `create`, `start`, `die`, ...; image
//! `tag`, `load`, ...) is published here once, in dockerd's shape, and served by `GET /events`.
//!
//! A bounded history (dockerd keeps 256 events; we keep more) answers `since`; live events go
//! through a broadcast channel. A subscriber that falls more than the channel's capacity behind
//! is dropped with a log line: the engine never waits for a reader.

mod filter;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

pub use filter::EventFilter;

/// How many past events `since` can replay.
const HISTORY: usize = 1024;
/// How far a live reader may fall behind before it is dropped.
const LAG: usize = 1024;

/// dockerd's `events.Message`, newest shape (API-version variants are the API layer's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `container`, `image`, `network`, `volume`, `daemon`, ...
    pub typ: &'static str,
    pub action: String,
    pub actor_id: String,
    pub attributes: BTreeMap<String, String>,
    /// Unix nanoseconds.
    pub time_nano: i64,
}

impl Event {
    pub fn new(typ: &'static str, action: impl Into<String>, actor_id: impl Into<String>) -> Event {
        Event {
            typ,
            action: action.into(),
            actor_id: actor_id.into(),
            attributes: BTreeMap::new(),
            time_nano: crate::util::time::now_nanos(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Event {
        self.attributes.insert(key.to_string(), value.into());
        self
    }

    /// A container event with dockerd's attributes: every label, `image` (as the user named it)
    /// and `name` (without the leading slash).
    pub fn container<'a>(
        action: impl Into<String>,
        id: &str,
        name: &str,
        image: &str,
        labels: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Event {
        let mut ev = Event::new("container", action, id);
        for (k, v) in labels {
            ev.attributes.insert(k.clone(), v.clone());
        }
        ev.with("image", image)
            .with("name", name.strip_prefix('/').unwrap_or(name))
    }

    /// An image event: `name` is the reference acted on (or the ID when there is none).
    pub fn image(action: impl Into<String>, id: &str, name: &str) -> Event {
        Event::new("image", action, id).with("name", name)
    }
}

#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    /// Held while publishing and while subscribing, so that no event falls between a
    /// subscriber's replay and its live stream.
    history: Mutex<VecDeque<Arc<Event>>>,
    live: broadcast::Sender<Arc<Event>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            inner: Arc::new(Inner {
                history: Mutex::new(VecDeque::with_capacity(HISTORY)),
                live: broadcast::channel(LAG).0,
            }),
        }
    }
}

impl EventBus {
    pub fn publish(&self, ev: Event) {
        tracing::debug!(typ = ev.typ, action = %ev.action, actor = %ev.actor_id, "event");
        let ev = Arc::new(ev);
        let mut history = self.inner.history.lock().unwrap_or_else(|p| p.into_inner());
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(ev.clone());
        // No receiver is not an error: nobody is listening.
        let _ = self.inner.live.send(ev);
    }

    /// The events of the history within `[since, until]` (nanoseconds; replayed only when
    /// either is given, as dockerd) that pass `filter`, then, unless `until` is past, the live
    /// ones until `until`.
    pub fn subscribe(
        &self,
        since: Option<i64>,
        until: Option<i64>,
        filter: EventFilter,
    ) -> Subscription {
        let now = crate::util::time::now_nanos();
        let history = self.inner.history.lock().unwrap_or_else(|p| p.into_inner());
        let replay: VecDeque<Arc<Event>> = if since.is_some() || until.is_some() {
            history
                .iter()
                .filter(|e| since.is_none_or(|s| e.time_nano >= s))
                .filter(|e| until.is_none_or(|u| e.time_nano <= u))
                .filter(|e| filter.includes(e))
                .cloned()
                .collect()
        } else {
            VecDeque::new()
        };
        let live = match until {
            Some(u) if u <= now => None,
            _ => Some(self.inner.live.subscribe()),
        };
        drop(history);
        let deadline = until.map(|u| {
            let wait = std::time::Duration::from_nanos(u.saturating_sub(now).max(0) as u64);
            tokio::time::Instant::now() + wait
        });
        Subscription {
            replay,
            live,
            filter,
            deadline,
        }
    }
}

/// One reader's view of the bus.
pub struct Subscription {
    replay: VecDeque<Arc<Event>>,
    live: Option<broadcast::Receiver<Arc<Event>>>,
    filter: EventFilter,
    deadline: Option<tokio::time::Instant>,
}

impl Subscription {
    /// The next event, or `None` at `until` or when this reader fell too far behind.
    pub async fn next(&mut self) -> Option<Arc<Event>> {
        if let Some(ev) = self.replay.pop_front() {
            return Some(ev);
        }
        let live = self.live.as_mut()?;
        loop {
            let received = match self.deadline {
                Some(at) => match tokio::time::timeout_at(at, live.recv()).await {
                    Ok(r) => r,
                    Err(_) => return None,
                },
                None => live.recv().await,
            };
            match received {
                Ok(ev) if self.filter.includes(&ev) => return Some(ev),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "an events reader fell behind; dropping it");
                    self.live = None;
                    return None;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Filters;

    fn filter(json: &str) -> EventFilter {
        EventFilter::new(Filters::parse(json).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn since_replays_history_then_follows_live() {
        let bus = EventBus::default();
        bus.publish(Event::new("container", "create", "a"));
        let t = crate::util::time::now_nanos();
        bus.publish(Event::new("container", "start", "a"));
        let mut sub = bus.subscribe(Some(t), None, filter(""));
        assert_eq!(sub.next().await.unwrap().action, "start");
        bus.publish(Event::new("container", "die", "a"));
        assert_eq!(sub.next().await.unwrap().action, "die");
        // Without since/until, nothing is replayed.
        let mut sub = bus.subscribe(None, None, filter(""));
        bus.publish(Event::new("image", "tag", "i"));
        assert_eq!(sub.next().await.unwrap().action, "tag");
    }

    #[tokio::test]
    async fn until_in_the_past_ends_after_the_replay_and_in_the_future_at_its_time() {
        let bus = EventBus::default();
        bus.publish(Event::new("container", "create", "a"));
        let now = crate::util::time::now_nanos();
        let mut sub = bus.subscribe(Some(0), Some(now), filter(""));
        assert_eq!(sub.next().await.unwrap().action, "create");
        assert!(sub.next().await.is_none());
        // An `until` alone replays too (as dockerd), then follows until its time.
        let mut sub = bus.subscribe(None, Some(now + 50_000_000), filter(""));
        let t0 = std::time::Instant::now();
        assert_eq!(sub.next().await.unwrap().action, "create");
        assert!(sub.next().await.is_none());
        assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_slow_reader_is_dropped_and_the_publisher_never_waits() {
        let bus = EventBus::default();
        let mut sub = bus.subscribe(None, None, filter(""));
        for i in 0..(LAG + 10) {
            bus.publish(Event::new("container", "start", format!("c{i}")));
        }
        assert!(sub.next().await.is_none(), "a lagging reader ends");
        let history = bus.inner.history.lock().unwrap();
        assert_eq!(history.len(), HISTORY.min(LAG + 10));
    }

    #[tokio::test]
    async fn filters_apply_to_replay_and_live() {
        let bus = EventBus::default();
        bus.publish(Event::new("image", "tag", "i"));
        bus.publish(Event::new("container", "start", "c"));
        let mut sub = bus.subscribe(Some(0), None, filter(r#"{"type":["container"]}"#));
        assert_eq!(sub.next().await.unwrap().actor_id, "c");
        bus.publish(Event::new("image", "untag", "i"));
        bus.publish(Event::new("container", "die", "c"));
        assert_eq!(sub.next().await.unwrap().action, "die");
    }
}
