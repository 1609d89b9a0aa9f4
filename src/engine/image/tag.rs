//! `docker tag`.

use crate::engine::{Engine, Error, Result};
use crate::image::Reference;

impl Engine {
    /// Points `repo:tag` at the image `source` names.
    pub async fn tag_image(&self, source: &str, repo: &str, tag: Option<&str>) -> Result<()> {
        let resolved = self.resolve_image(source).await?;
        let target = target_reference(repo, tag)?;
        self.store()
            .set_ref(
                &target.to_string(),
                &resolved.id,
                false,
                crate::util::time::now_nanos(),
            )
            .await?;
        self.events().publish(crate::engine::events::Event::image(
            "tag",
            &resolved.id,
            &target.familiar_string(),
        ));
        Ok(())
    }
}

/// The reference to create, with dockerd's checks: no digests, a tag that is not a digest.
fn target_reference(repo: &str, tag: Option<&str>) -> Result<Reference> {
    if repo.is_empty() {
        return Err(Error::invalid(
            "repository name must have at least one component",
        ));
    }
    let tag = tag.filter(|t| !t.is_empty());
    if let Some(t) = tag
        && t.starts_with("sha256:")
    {
        return Err(Error::invalid(
            "refusing to create an ambiguous tag using digest algorithm as name",
        ));
    }
    let text = match tag {
        Some(t) => format!("{repo}:{t}"),
        None => repo.to_string(),
    };
    let r = Reference::parse(&text).map_err(|e| Error::invalid(e.to_string()))?;
    if r.digest().is_some() {
        return Err(Error::invalid(
            "refusing to create a tag with a digest reference",
        ));
    }
    if tag.is_some() && repo.contains('@') {
        return Err(Error::invalid("invalid reference format"));
    }
    Ok(r.with_default_tag())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            target_reference("busybox", Some("x")).unwrap().to_string(),
            "docker.io/library/busybox:x"
        );
        assert_eq!(
            target_reference("busybox", None).unwrap().to_string(),
            "docker.io/library/busybox:latest"
        );
        assert!(target_reference("Busybox", Some("x")).is_err());
        assert!(target_reference("busybox", Some("sha256:abc")).is_err());
        assert!(target_reference("busybox", Some("bad tag")).is_err());
        assert!(target_reference("", None).is_err());
    }
}
