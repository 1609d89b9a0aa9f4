//! The containers as lists see them, in memory: `docker ps` of 1000 containers must not read and
//! parse 1000 rows. The store stays the truth; this is its mirror, changed only by the store's
//! container writes (create, the state door, removal) from inside their write transaction, once
//! committed: writes are serialized there, so the mirror sees them in the store's order.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::filter::Listed;
use super::state::ContainerState;
use crate::store::ContainerRow;

#[derive(Default)]
pub struct View {
    by_id: RwLock<HashMap<String, Arc<Listed>>>,
}

impl View {
    /// Fills the view from every row at start-up. A damaged row is left out (with an error in
    /// the log naming it): it can still be inspected, which says what is wrong, and removed.
    pub fn load(&self, rows: Vec<ContainerRow>) {
        let mut map = self.write();
        map.clear();
        for row in rows {
            match Listed::from_row(row) {
                Ok(l) => {
                    map.insert(l.id.clone(), Arc::new(l));
                }
                Err(e) => tracing::error!(error = %e, "container left out of the list"),
            }
        }
    }

    pub fn insert(&self, listed: Listed) {
        self.write().insert(listed.id.clone(), Arc::new(listed));
    }

    pub fn set_state(&self, id: &str, state: &ContainerState) {
        let mut map = self.write();
        if let Some(l) = map.get_mut(id) {
            Arc::make_mut(l).state = state.clone();
        }
    }

    pub fn remove(&self, id: &str) {
        self.write().remove(id);
    }

    /// Every container, newest first (ties by ID, as the store orders them).
    pub fn snapshot(&self) -> Vec<Arc<Listed>> {
        let mut list: Vec<Arc<Listed>> = self
            .by_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        list.sort_unstable_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        list
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Listed>>> {
        self.by_id.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::container::state::Status;

    fn row(id: &str, created_at: i64) -> ContainerRow {
        ContainerRow {
            id: id.into(),
            name: format!("/{id}"),
            image_id: "sha256:i".into(),
            image_ref: "busybox".into(),
            created_at,
            config: "{}".into(),
            host_config: "{}".into(),
            state: ContainerState::default().to_json(),
            layers: "[]".into(),
        }
    }

    #[test]
    fn mirrors_inserts_state_changes_and_removals_newest_first() {
        let v = View::default();
        let mut damaged = row("bad", 9);
        damaged.config = "{".into();
        v.load(vec![row("a", 1), row("b", 2), damaged]);
        v.insert(Listed::from_row(row("c", 2)).unwrap());
        let ids = |v: &View| {
            v.snapshot()
                .iter()
                .map(|l| l.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&v), ["b", "c", "a"], "damaged row left out, ties by ID");
        let before = v.snapshot();
        let running = ContainerState {
            status: Status::Running,
            ..Default::default()
        };
        v.set_state("a", &running);
        v.set_state("gone", &running);
        assert_eq!(v.snapshot()[2].state.status, Status::Running);
        assert_eq!(
            before[2].state.status,
            Status::Created,
            "snapshots do not change"
        );
        v.remove("b");
        assert_eq!(ids(&v), ["c", "a"]);
    }
}
