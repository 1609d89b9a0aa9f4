//! Resolving what a user typed to a local image, in dockerd's order: a full digest ID, then a
//! reference (name with its default tag, or name@digest), then a unique ID prefix.

use super::{ImageError, ImageStore, Reference};

#[derive(Debug, Clone)]
pub struct Resolved {
    pub id: String,
    /// The reference that matched, when the input named one (not an ID).
    pub reference: Option<Reference>,
}

#[derive(Debug)]
pub enum ResolveError {
    NotFound,
    /// An ID prefix that matches more than one image.
    Ambiguous,
    Other(ImageError),
}

impl From<crate::store::StoreError> for ResolveError {
    fn from(e: crate::store::StoreError) -> Self {
        ResolveError::Other(e.into())
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl ImageStore {
    pub async fn resolve(&self, input: &str) -> Result<Resolved, ResolveError> {
        let bare = input.strip_prefix("sha256:");
        if let Some(hex) = bare.or(Some(input)).filter(|h| h.len() == 64 && is_hex(h)) {
            let id = format!("sha256:{hex}");
            return match self.store.image(&id).await? {
                Some(_) => Ok(Resolved {
                    id,
                    reference: None,
                }),
                None => Err(ResolveError::NotFound),
            };
        }
        if bare.is_none()
            && let Ok(r) = Reference::parse(input)
        {
            let r = r.with_default_tag();
            if let Some(id) = self.store.lookup_ref(&r.to_string()).await? {
                return Ok(Resolved {
                    id,
                    reference: Some(r),
                });
            }
        }
        let prefix = bare.unwrap_or(input);
        if is_hex(prefix) {
            let ids = self
                .store
                .image_ids_with_prefix(&format!("sha256:{prefix}"))
                .await?;
            match ids.as_slice() {
                [id] => {
                    return Ok(Resolved {
                        id: id.clone(),
                        reference: None,
                    });
                }
                [] => {}
                _ => return Err(ResolveError::Ambiguous),
            }
        }
        Err(ResolveError::NotFound)
    }
}
