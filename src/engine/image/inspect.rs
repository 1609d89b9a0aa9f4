//! `docker image inspect`.

use std::collections::HashMap;

use crate::engine::{Engine, Error, Result};
use crate::image::{ImageConfigFile, Reference};
use crate::models::{
    DriverData, ImageConfig, ImageInspect, ImageInspectMetadata, ImageInspectRootFs,
};
use crate::util::time::rfc3339_nano;

impl Engine {
    pub async fn inspect_image(&self, input: &str) -> Result<ImageInspect> {
        let resolved = self.resolve_image(input).await?;
        let row = self
            .store()
            .image(&resolved.id)
            .await?
            .ok_or_else(|| Error::no_such_image(input))?;
        let config = ImageConfigFile::parse(row.config.as_bytes()).map_err(|e| {
            Error::internal(format!("image {} has an unreadable config: {e}", row.id))
        })?;
        let refs = self.store().refs_of(&row.id).await?;
        let (mut repo_tags, mut repo_digests) = (Vec::new(), Vec::new());
        for r in refs {
            if let Ok(parsed) = Reference::parse(&r.reference) {
                if r.is_digest {
                    repo_digests.push(parsed.familiar_string());
                } else {
                    repo_tags.push(parsed.familiar_string());
                }
            }
        }
        let layers = self.store().image_layers(&row.id).await?;
        let diffs: Vec<String> = layers
            .iter()
            .rev()
            .map(|l| self.images().layer_diff(&l.diff_id).display().to_string())
            .collect();
        let mut data = HashMap::new();
        if let Some((upper, lower)) = diffs.split_first() {
            data.insert("UpperDir".to_string(), upper.clone());
            if !lower.is_empty() {
                data.insert("LowerDir".to_string(), lower.join(":"));
            }
        }
        let image_config: Option<ImageConfig> = config
            .config
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| {
                Error::internal(format!("image {} has an unreadable config: {e}", row.id))
            })?;
        Ok(ImageInspect {
            id: Some(row.id.clone()),
            repo_tags: Some(repo_tags),
            repo_digests: Some(repo_digests),
            // Since API 1.52 dockerd omits these when empty; older shapes are the API layer's.
            comment: config.comment.clone().filter(|c| !c.is_empty()),
            created: config.created.clone(),
            author: config.author.clone().filter(|a| !a.is_empty()),
            config: Some(image_config.unwrap_or_default()),
            architecture: Some(config.architecture.clone()),
            variant: config.variant.clone(),
            os: Some(config.os.clone()),
            os_version: config.os_version.clone(),
            size: Some(row.size),
            graph_driver: Some(DriverData {
                name: "overlay2".into(),
                data,
            }),
            root_fs: Some(ImageInspectRootFs {
                typ: if config.rootfs.typ.is_empty() {
                    "layers".into()
                } else {
                    config.rootfs.typ.clone()
                },
                layers: Some(config.rootfs.diff_ids.clone()),
            }),
            metadata: Some(ImageInspectMetadata {
                // Go's zero time when never tagged, as dockerd prints it.
                last_tag_time: Some(
                    row.last_tag_at
                        .map(rfc3339_nano)
                        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
                ),
            }),
            ..Default::default()
        })
    }
}
