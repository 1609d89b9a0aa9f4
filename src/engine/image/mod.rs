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
            Err(ResolveError::NotFound) => Err(Error::no_such_image(&missing_name(input))),
            Err(ResolveError::Ambiguous) => Err(Error::invalid(format!(
                "multiple IDs found with provided prefix: {input}"
            ))),
            Err(ResolveError::Other(e)) => Err(e.into()),
        }
    }
}

/// How dockerd names a missing image: a reference with its default tag ("nope:latest"), or the
/// input as given when it is not a reference (a digest ID).
pub(crate) fn missing_name(input: &str) -> String {
    match crate::image::Reference::parse(input) {
        Ok(r) => r.with_default_tag().familiar_string(),
        Err(_) => input.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn missing_names_follow_dockerd() {
        assert_eq!(super::missing_name("nope"), "nope:latest");
        assert_eq!(super::missing_name("docker.io/library/nope:1"), "nope:1");
        assert_eq!(super::missing_name("sha256:abc"), "sha256:abc");
    }
}
