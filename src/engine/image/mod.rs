//! Image verbs, one per file.

pub mod inspect;
pub mod list;
pub mod load;
pub mod remove;
pub mod save;
pub mod tag;

use crate::engine::{Engine, Error, Result};
use crate::image::resolve::{ResolveError, Resolved};

impl Engine {
    /// Resolves an image as every verb does, with dockerd's "No such image" message.
    pub(crate) async fn resolve_image(&self, input: &str) -> Result<Resolved> {
        match self.images().resolve(input).await {
            Ok(r) => Ok(r),
            Err(ResolveError::NotFound) => Err(Error::no_such_image(input)),
            Err(ResolveError::Ambiguous) => Err(Error::invalid(format!(
                "multiple IDs found with provided prefix: {input}"
            ))),
            Err(ResolveError::Other(e)) => Err(e.into()),
        }
    }
}
