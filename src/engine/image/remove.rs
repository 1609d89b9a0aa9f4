//! `docker rmi`: untag, or delete, with dockerd's conflict rules (daemon/images/image_delete.go):
//! - naming a reference removes that reference; the image goes only with its last reference;
//! - a container using the image blocks removing its last reference unless forced;
//! - naming an ID deletes the image, refusing without force when other repositories reference it
//!   or a stopped container uses it; a running container blocks it even with force.

use crate::engine::container::ContainerState;
use crate::engine::{Engine, Error, Result};
use crate::image::{Reference, chain_ids};
use crate::models::ImageDeleteResponseItem;
use crate::store::ImageRefRow;
use crate::util::ids::short_id;

fn untagged(r: &Reference) -> ImageDeleteResponseItem {
    ImageDeleteResponseItem {
        untagged: Some(r.familiar_string()),
        deleted: None,
    }
}

fn deleted(id: &str) -> ImageDeleteResponseItem {
    ImageDeleteResponseItem {
        untagged: None,
        deleted: Some(id.to_string()),
    }
}

struct Conflict {
    image_id: String,
    hard: bool,
    message: String,
}

impl From<Conflict> for Error {
    fn from(c: Conflict) -> Error {
        let force = if c.hard {
            "cannot be forced"
        } else {
            "must be forced"
        };
        Error::conflict(format!(
            "conflict: unable to delete {} ({force}) - {}",
            short_id(&c.image_id),
            c.message
        ))
    }
}

impl Engine {
    /// `docker rmi`: untags and deletes as dockerd does, publishing an `untag` or `delete`
    /// event for each record.
    pub async fn remove_image(
        &self,
        input: &str,
        force: bool,
    ) -> Result<Vec<ImageDeleteResponseItem>> {
        let id = self.resolve_image(input).await?.id;
        let records = self.remove_image_records(input, force).await?;
        for r in &records {
            let ev = match (&r.untagged, &r.deleted) {
                (Some(name), _) => crate::engine::events::Event::image("untag", &id, name),
                (None, Some(deleted)) => {
                    crate::engine::events::Event::image("delete", deleted, deleted)
                }
                (None, None) => continue,
            };
            self.events().publish(ev);
        }
        Ok(records)
    }

    async fn remove_image_records(
        &self,
        input: &str,
        force: bool,
    ) -> Result<Vec<ImageDeleteResponseItem>> {
        let resolved = self.resolve_image(input).await?;
        let id = resolved.id.clone();
        let mut records = Vec::new();
        let refs = self.store().refs_of(&id).await?;
        let users = self.store().containers_using_image(&id).await?;

        if let Some(named) = resolved.reference {
            if refs.len() == 1
                && !force
                && let Some(c) = users.first()
            {
                return Err(Error::conflict(format!(
                    "conflict: unable to remove repository reference \"{input}\" (must force) - container {} is using its referenced image {}",
                    short_id(&c.id),
                    short_id(&id)
                )));
            }
            self.store().delete_ref(&named.to_string()).await?;
            records.push(untagged(&named));
            let mut remaining = self.store().refs_of(&id).await?;
            // With the last tag of a repository gone, its digest references go too.
            if named.digest().is_none()
                && !remaining
                    .iter()
                    .any(|r| !r.is_digest && same_repo(r, &named))
            {
                for r in remaining
                    .iter()
                    .filter(|r| r.is_digest && same_repo(r, &named))
                {
                    self.store().delete_ref(&r.reference).await?;
                    if let Ok(p) = Reference::parse(&r.reference) {
                        records.push(untagged(&p));
                    }
                }
                remaining = self.store().refs_of(&id).await?;
            }
            if !remaining.is_empty() {
                return Ok(records);
            }
            // The last reference is gone: delete the image unless a container still needs it,
            // in which case dockerd leaves it, dangling, without an error.
            if self.delete_conflict(&id, &users, force).is_some() {
                return Ok(records);
            }
        } else {
            if is_single_repository(&refs) {
                self.delete_conflict(&id, &users, force)
                    .map_or(Ok(()), Err)?;
                for r in &refs {
                    self.store().delete_ref(&r.reference).await?;
                    if let Ok(p) = Reference::parse(&r.reference) {
                        records.push(untagged(&p));
                    }
                }
            }
            let refs_now = self.store().refs_of(&id).await?;
            if !force && !refs_now.is_empty() {
                return Err(Conflict {
                    image_id: id,
                    hard: false,
                    message: "image is referenced in multiple repositories".into(),
                }
                .into());
            }
            self.delete_conflict(&id, &users, force)
                .map_or(Ok(()), Err)?;
            for r in &refs_now {
                self.store().delete_ref(&r.reference).await?;
                if let Ok(p) = Reference::parse(&r.reference) {
                    records.push(untagged(&p));
                }
            }
        }

        let diff_ids: Vec<String> = self
            .store()
            .image_layers(&id)
            .await?
            .into_iter()
            .map(|l| l.diff_id)
            .collect();
        let removed = self.images().delete(&id).await?;
        records.push(deleted(&id));
        for (diff, chain) in diff_ids.iter().zip(chain_ids(&diff_ids)).rev() {
            if removed.contains(diff) {
                records.push(deleted(&chain));
            }
        }
        Ok(records)
    }

    /// The conflict that blocks deleting image `id` (not just untagging it), if any.
    fn delete_conflict(
        &self,
        id: &str,
        users: &[crate::store::ContainerRow],
        force: bool,
    ) -> Option<Error> {
        if let Some(c) = users.iter().find(|c| {
            serde_json::from_str::<ContainerState>(&c.state).map_or(true, |s| s.is_running())
        }) {
            return Some(
                Conflict {
                    image_id: id.into(),
                    hard: true,
                    message: format!(
                        "image is being used by running container {}",
                        short_id(&c.id)
                    ),
                }
                .into(),
            );
        }
        if !force && let Some(c) = users.first() {
            return Some(
                Conflict {
                    image_id: id.into(),
                    hard: false,
                    message: format!(
                        "image is being used by stopped container {}",
                        short_id(&c.id)
                    ),
                }
                .into(),
            );
        }
        None
    }
}

fn same_repo(row: &ImageRefRow, named: &Reference) -> bool {
    Reference::parse(&row.reference).is_ok_and(|r| r.name() == named.name())
}

/// At most one tag, and every reference in one repository: then naming the ID removes them all.
fn is_single_repository(refs: &[ImageRefRow]) -> bool {
    let parsed: Vec<Reference> = refs
        .iter()
        .filter_map(|r| Reference::parse(&r.reference).ok())
        .collect();
    let tags = parsed.iter().filter(|r| r.digest().is_none()).count();
    tags <= 1 && parsed.windows(2).all(|w| w[0].name() == w[1].name())
}
