//! Local images: layer snapshots on disk, image records in the store, references, load and save.
//!
//! On disk, under `<data-root>/image/`:
//! - `layers/sha256/<hex>/diff/`: the unpacked layer, overlay-ready (whiteouts as 0:0 devices)
//! - `layers/sha256/<hex>/layer.tar`: the uncompressed layer tar, whose sha256 is the diff ID;
//!   kept so `docker save` reproduces the image byte for byte
//! - `tmp/`: work space; anything in it at start-up is debris of a crash
//!
//! A layer directory appears by rename only once complete; the store row that references it is
//! committed after that. Start-up removes directories no row references.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::store::{Store, StoreError};

pub mod archive;
pub mod config;
pub mod load;
pub mod reference;
pub mod resolve;
pub mod rootfs;
pub mod save;
pub mod unpack;

pub use config::ImageConfigFile;
pub use reference::{Reference, ReferenceError};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{0}")]
    InvalidArchive(String),
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{0}")]
    Unpack(#[from] unpack::UnpackError),
    #[error("{0}")]
    Reference(#[from] ReferenceError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("background task failed: {0}")]
    Task(String),
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ImageError {
    let context = context.into();
    move |source| ImageError::Io { context, source }
}

/// The local image store: paths plus the database, and a lock that keeps layer creation and
/// removal from interleaving (a load must not reuse a layer that a delete is removing).
#[derive(Clone)]
pub struct ImageStore {
    root: PathBuf,
    store: Store,
    layer_lock: Arc<tokio::sync::Mutex<()>>,
}

impl ImageStore {
    /// Opens the store under `<data_root>/image` and removes debris a crash may have left.
    pub async fn open(data_root: &Path, store: Store) -> Result<ImageStore, ImageError> {
        let root = data_root.join("image");
        let images = ImageStore {
            root,
            store,
            layer_lock: Arc::new(tokio::sync::Mutex::new(())),
        };
        for dir in [images.layers_dir(), images.tmp_dir()] {
            std::fs::create_dir_all(&dir).map_err(io_err(format!("create {}", dir.display())))?;
        }
        images.collect_debris().await?;
        Ok(images)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn layers_dir(&self) -> PathBuf {
        self.root.join("layers").join("sha256")
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The directory of one layer (`diff_id` = "sha256:<hex>").
    pub fn layer_dir(&self, diff_id: &str) -> PathBuf {
        self.layers_dir()
            .join(diff_id.strip_prefix("sha256:").unwrap_or(diff_id))
    }

    /// The unpacked tree of a layer: an overlay lowerdir.
    pub fn layer_diff(&self, diff_id: &str) -> PathBuf {
        self.layer_dir(diff_id).join("diff")
    }

    pub fn layer_tar(&self, diff_id: &str) -> PathBuf {
        self.layer_dir(diff_id).join("layer.tar")
    }

    /// Removes temporary files and layer directories that no store row references.
    async fn collect_debris(&self) -> Result<(), ImageError> {
        let _guard = self.layer_lock.lock().await;
        let known: std::collections::HashSet<String> = self
            .store
            .layers()
            .await?
            .into_iter()
            .map(|l| l.diff_id.trim_start_matches("sha256:").to_string())
            .collect();
        let layers = self.layers_dir();
        let tmp = self.tmp_dir();
        tokio::task::spawn_blocking(move || -> Result<(), ImageError> {
            clear_dir(&tmp)?;
            let entries =
                std::fs::read_dir(&layers).map_err(io_err(format!("read {}", layers.display())))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !known.contains(&name) {
                    tracing::info!(layer = %name, "removing unreferenced layer directory");
                    crate::util::fsutil::remove_all(&entry.path())
                        .map_err(io_err(format!("remove {}", entry.path().display())))?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| ImageError::Task(e.to_string()))?
    }

    /// Removes the directories of layers that the store no longer references.
    pub(crate) fn remove_layer_dirs(&self, diff_ids: &[String]) {
        for d in diff_ids {
            let dir = self.layer_dir(d);
            if let Err(e) = crate::util::fsutil::remove_all(&dir) {
                // Left for start-up's debris collection; the store no longer references it.
                tracing::warn!(dir = %dir.display(), error = %e, "cannot remove layer directory");
            }
        }
    }
}

fn clear_dir(dir: &Path) -> Result<(), ImageError> {
    let entries = std::fs::read_dir(dir).map_err(io_err(format!("read {}", dir.display())))?;
    for entry in entries.flatten() {
        crate::util::fsutil::remove_all(&entry.path())
            .map_err(io_err(format!("remove {}", entry.path().display())))?;
    }
    Ok(())
}

impl ImageStore {
    /// Deletes an image record and the layer directories only it used.
    pub async fn delete(&self, image_id: &str) -> Result<Vec<String>, ImageError> {
        let _guard = self.layer_lock.lock().await;
        let orphaned = self.store.delete_image(image_id).await?;
        let this = self.clone();
        let dirs = orphaned.clone();
        tokio::task::spawn_blocking(move || this.remove_layer_dirs(&dirs))
            .await
            .map_err(|e| ImageError::Task(e.to_string()))?;
        Ok(orphaned)
    }
}

impl ImageStore {
    /// Deletes a container's record and the layers only it still used (its image may be gone).
    /// Returns false when there was no such container.
    pub async fn delete_container_record(
        &self,
        id: &str,
        then: impl FnOnce(),
    ) -> Result<bool, ImageError> {
        let _guard = self.layer_lock.lock().await;
        let (existed, orphaned) = self.store.delete_container_then(id, then).await?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.remove_layer_dirs(&orphaned))
            .await
            .map_err(|e| ImageError::Task(e.to_string()))?;
        Ok(existed)
    }
}

/// Chain IDs of a layer stack (the OCI image-spec definition), bottom first.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    use sha2::{Digest, Sha256};
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => format!(
                "sha256:{}",
                hex::encode(Sha256::digest(format!("{prev} {d}").as_bytes()))
            ),
        };
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn chain_ids_follow_the_spec() {
        let ids = super::chain_ids(&["sha256:a".into(), "sha256:b".into()]);
        assert_eq!(ids[0], "sha256:a");
        assert_eq!(
            ids[1],
            format!(
                "sha256:{}",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"sha256:a sha256:b"))
            )
        );
    }
}
