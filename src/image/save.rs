//! `docker save`: write images as a tar that both `docker load` formats describe at once, as
//! Docker 25+ does: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/...`) plus the
//! classic `manifest.json` pointing into the same blobs. Layers are the original uncompressed
//! tars, so image IDs and diff IDs survive a save/load round trip.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{ImageError, ImageStore, Reference, io_err};

/// One image to save, with the tags to record for it.
pub struct SaveTarget {
    pub id: String,
    pub tags: Vec<Reference>,
}

struct OpenImage {
    id: String,
    config: String,
    layers: Vec<(String, File, u64)>,
    tags: Vec<Reference>,
}

/// Images with their layer files already open: a concurrent `rmi` cannot pull them away mid-save.
pub struct SaveSet {
    images: Vec<OpenImage>,
}

const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";

impl ImageStore {
    pub async fn open_for_save(&self, targets: Vec<SaveTarget>) -> Result<SaveSet, ImageError> {
        let _guard = self.layer_lock.lock().await;
        let mut images = Vec::new();
        for t in targets {
            let row = self.store.image(&t.id).await?.ok_or_else(|| {
                ImageError::InvalidArchive(format!("image {} disappeared during save", t.id))
            })?;
            let mut layers = Vec::new();
            for l in self.store.image_layers(&t.id).await? {
                let path = self.layer_tar(&l.diff_id);
                let what = format!("open the stored layer {}", l.diff_id);
                let file = File::open(&path).map_err(io_err(what.clone()))?;
                let len = file.metadata().map_err(io_err(what))?.len();
                layers.push((l.diff_id, file, len));
            }
            images.push(OpenImage {
                id: t.id,
                config: row.config,
                layers,
                tags: t.tags,
            });
        }
        Ok(SaveSet { images })
    }
}

impl SaveSet {
    /// Writes the archive. Blocking: run it off the async runtime.
    pub fn write_to<W: Write>(self, w: W) -> Result<(), ImageError> {
        let mut ar = tar::Builder::new(w);
        let io = |e: std::io::Error| ImageError::Io {
            context: "write image archive".into(),
            source: e,
        };
        add_dir(&mut ar, "blobs/").map_err(io)?;
        add_dir(&mut ar, "blobs/sha256/").map_err(io)?;
        let mut written = HashSet::new();
        let mut index_entries = Vec::new();
        let mut manifest_json = Vec::new();
        for image in self.images {
            let config_hex = image.id.trim_start_matches("sha256:").to_string();
            if written.insert(config_hex.clone()) {
                add_file(
                    &mut ar,
                    &format!("blobs/sha256/{config_hex}"),
                    image.config.as_bytes(),
                )
                .map_err(io)?;
            }
            let mut layer_descs = Vec::new();
            let mut layer_paths = Vec::new();
            for (diff_id, mut file, len) in image.layers {
                let hex = diff_id.trim_start_matches("sha256:").to_string();
                let path = format!("blobs/sha256/{hex}");
                if written.insert(hex) {
                    let mut h = file_header(len);
                    ar.append_data(&mut h, &path, &mut file).map_err(io)?;
                }
                layer_descs.push(json!({"mediaType": LAYER_TYPE, "digest": diff_id, "size": len}));
                layer_paths.push(path);
            }
            let manifest = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": CONFIG_TYPE, "digest": image.id, "size": image.config.len()},
                "layers": layer_descs,
            }))?;
            let manifest_hex = hex::encode(Sha256::digest(&manifest));
            if written.insert(manifest_hex.clone()) {
                add_file(&mut ar, &format!("blobs/sha256/{manifest_hex}"), &manifest)
                    .map_err(io)?;
            }
            let desc = |annotations: Option<serde_json::Value>| {
                let mut d = json!({
                    "mediaType": MANIFEST_TYPE,
                    "digest": format!("sha256:{manifest_hex}"),
                    "size": manifest.len(),
                });
                if let Some(a) = annotations {
                    d["annotations"] = a;
                }
                d
            };
            if image.tags.is_empty() {
                index_entries.push(desc(None));
            }
            for tag in &image.tags {
                index_entries.push(desc(Some(json!({
                    "io.containerd.image.name": tag.to_string(),
                    "org.opencontainers.image.ref.name": tag.tag().unwrap_or("latest"),
                }))));
            }
            manifest_json.push(json!({
                "Config": format!("blobs/sha256/{config_hex}"),
                "RepoTags": image.tags.iter().map(Reference::familiar_string).collect::<Vec<_>>(),
                "Layers": layer_paths,
            }));
        }
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": INDEX_TYPE,
            "manifests": index_entries,
        }))?;
        add_file(&mut ar, "index.json", &index).map_err(io)?;
        add_file(
            &mut ar,
            "manifest.json",
            &serde_json::to_vec(&manifest_json)?,
        )
        .map_err(io)?;
        add_file(&mut ar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io)?;
        ar.into_inner().map_err(io)?.flush().map_err(io)?;
        Ok(())
    }
}

fn file_header(len: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(len);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

fn add_file<W: Write>(ar: &mut tar::Builder<W>, path: &str, data: &[u8]) -> std::io::Result<()> {
    let mut h = file_header(data.len() as u64);
    ar.append_data(&mut h, path, data)
}

fn add_dir<W: Write>(ar: &mut tar::Builder<W>, path: &str) -> std::io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_size(0);
    h.set_mode(0o755);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Directory);
    ar.append_data(&mut h, path, std::io::empty())
}
