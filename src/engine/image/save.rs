//! `docker save`.

use std::collections::BTreeMap;

use crate::engine::{Engine, Error, Result};
use crate::image::Reference;
use crate::image::save::{SaveSet, SaveTarget};

impl Engine {
    /// Resolves the names to images and opens their layers. A repository name without a tag
    /// saves every tag of that repository, as dockerd does.
    pub async fn save_images(&self, names: &[String]) -> Result<SaveSet> {
        if names.is_empty() {
            return Err(Error::invalid("no image names given"));
        }
        let mut targets: BTreeMap<String, Vec<Reference>> = BTreeMap::new();
        let mut order = Vec::new();
        let mut add = |id: String, tag: Option<Reference>| {
            let entry = targets.entry(id.clone()).or_insert_with(|| {
                order.push(id);
                Vec::new()
            });
            if let Some(t) = tag
                && !entry.contains(&t)
            {
                entry.push(t);
            }
        };
        for name in names {
            if let Ok(r) = Reference::parse(name)
                && r.tag().is_none()
                && r.digest().is_none()
            {
                let repo = r.name();
                let mut found = false;
                for row in self.store().all_refs().await? {
                    if let Ok(p) = Reference::parse(&row.reference)
                        && p.name() == repo
                        && p.digest().is_none()
                    {
                        add(row.image_id.clone(), Some(p));
                        found = true;
                    }
                }
                if found {
                    continue;
                }
            }
            let resolved = self.resolve_image(name).await?;
            let tag = resolved.reference.filter(|r| r.digest().is_none());
            add(resolved.id, tag);
        }
        let list: Vec<SaveTarget> = order
            .into_iter()
            .map(|id| SaveTarget {
                tags: targets.remove(&id).unwrap_or_default(),
                id,
            })
            .collect();
        let ids: Vec<String> = list.iter().map(|t| t.id.clone()).collect();
        let set = self.images().open_for_save(list).await?;
        for id in ids {
            self.events()
                .publish(crate::engine::events::Event::image("save", &id, &id));
        }
        Ok(set)
    }
}
