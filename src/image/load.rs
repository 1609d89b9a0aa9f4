//! `docker load`: import a `docker save` archive or an OCI image-layout archive.
//!
//! Each layer is streamed once from the archive through its digest checks into a fresh snapshot
//! directory and a copy of the uncompressed tar; the directory is renamed into place only when
//! complete and verified, and the image row and its references are committed after that, in one
//! transaction. A crash at any point leaves either nothing or a complete image.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::archive::ArchiveIndex;
use super::config::{ImageConfigFile, parse_sha256};
use super::{ImageError, ImageStore, Reference, io_err, unpack};
use crate::store::{ImageRow, LayerRow};

/// One `docker save` manifest.json entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SaveManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: Option<std::collections::HashMap<String, String>>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Deserialize)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// Where one layer's bytes are in the archive, and the digest they must have as stored there.
struct LayerSource {
    member: String,
    blob_digest: Option<String>,
}

/// One image found in the archive, before anything is written.
struct ArchiveImage {
    config: Vec<u8>,
    layers: Vec<LayerSource>,
    refs: Vec<Reference>,
}

/// An image whose layers are on disk, ready to be committed to the store.
struct PreparedImage {
    row: ImageRow,
    layers: Vec<LayerRow>,
    refs: Vec<Reference>,
}

/// What a load did: dockerd's progress lines, and each image loaded with the name it was
/// loaded as (its reference, or its ID when it has none).
#[derive(Debug, Default)]
pub struct Loaded {
    pub messages: Vec<String>,
    pub images: Vec<(String, String)>,
}

impl ImageStore {
    /// Loads every image in the archive at `path`. Returns the progress lines dockerd prints
    /// ("Loaded image: busybox:latest", ...), in order.
    pub async fn load(&self, path: PathBuf) -> Result<Loaded, ImageError> {
        let _guard = self.layer_lock.lock().await;
        let known: HashMap<String, i64> = self
            .store
            .layers()
            .await?
            .into_iter()
            .map(|l| (l.diff_id, l.size))
            .collect();
        let this = self.clone();
        let prepared = tokio::task::spawn_blocking(move || this.prepare(&path, known))
            .await
            .map_err(|e| ImageError::Task(e.to_string()))??;

        let mut messages = Vec::new();
        let mut loaded = Vec::new();
        for image in prepared {
            let refs: Vec<(String, bool)> = image
                .refs
                .iter()
                .map(|r| (r.to_string(), r.digest().is_some()))
                .collect();
            let moved = self
                .store
                .commit_image(&image.row, &image.layers, &refs)
                .await?;
            for m in moved {
                let familiar = Reference::parse(&m.reference)
                    .map(|r| r.familiar_string())
                    .unwrap_or(m.reference);
                messages.push(format!(
                    "The image {familiar} already exists, renaming the old one with ID {} to empty string\n",
                    m.old_image_id
                ));
            }
            if image.refs.is_empty() {
                messages.push(format!("Loaded image ID: {}\n", image.row.id));
                loaded.push((image.row.id.clone(), image.row.id.clone()));
            }
            for r in &image.refs {
                messages.push(format!("Loaded image: {}\n", r.familiar_string()));
                loaded.push((image.row.id.clone(), r.familiar_string()));
            }
        }
        Ok(Loaded {
            messages,
            images: loaded,
        })
    }

    fn prepare(
        &self,
        path: &Path,
        mut known: HashMap<String, i64>,
    ) -> Result<Vec<PreparedImage>, ImageError> {
        let index = ArchiveIndex::open(path)?;
        let images = if index.contains("manifest.json") {
            read_docker_save(&index)?
        } else if index.contains("index.json") {
            read_oci_layout(&index)?
        } else {
            return Err(ImageError::InvalidArchive(
                "invalid archive: neither manifest.json nor index.json found".into(),
            ));
        };
        if images.is_empty() {
            return Err(ImageError::InvalidArchive(
                "no images found in the archive".into(),
            ));
        }
        let mut out = Vec::new();
        for image in images {
            out.push(self.prepare_image(&index, image, &mut known)?);
        }
        Ok(out)
    }

    fn prepare_image(
        &self,
        index: &ArchiveIndex,
        image: ArchiveImage,
        known: &mut HashMap<String, i64>,
    ) -> Result<PreparedImage, ImageError> {
        let id = format!("sha256:{}", hex::encode(Sha256::digest(&image.config)));
        let config = ImageConfigFile::parse(&image.config)
            .map_err(|e| ImageError::InvalidArchive(format!("invalid image config {id}: {e}")))?;
        if !config.os.is_empty() && config.os != "linux" {
            return Err(ImageError::InvalidArchive(format!(
                "image operating system \"{}\" cannot be used on this platform",
                config.os
            )));
        }
        if config.rootfs.diff_ids.len() != image.layers.len() {
            return Err(ImageError::InvalidArchive(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                config.rootfs.diff_ids.len(),
                image.layers.len()
            )));
        }
        let now = crate::util::time::now_nanos();
        let mut layers = Vec::new();
        for (source, diff_id) in image.layers.iter().zip(&config.rootfs.diff_ids) {
            if parse_sha256(diff_id).is_none() {
                return Err(ImageError::InvalidArchive(format!(
                    "invalid diff ID {diff_id:?} in image config"
                )));
            }
            let size = match known.get(diff_id) {
                Some(size) => *size,
                None => {
                    let size = self.import_layer(index, source, diff_id)?;
                    known.insert(diff_id.clone(), size);
                    size
                }
            };
            layers.push(LayerRow {
                diff_id: diff_id.clone(),
                size,
                created_at: now,
            });
        }
        let config_text = String::from_utf8(image.config)
            .map_err(|_| ImageError::InvalidArchive(format!("image config {id} is not UTF-8")))?;
        Ok(PreparedImage {
            row: ImageRow {
                id,
                created: config.created.clone(),
                size: layers.iter().map(|l| l.size).sum(),
                config: config_text,
                loaded_at: now,
                // Loading tags the image, which is what LastTagTime records.
                last_tag_at: (!image.refs.is_empty()).then_some(now),
            },
            layers,
            refs: image.refs,
        })
    }

    /// Streams one layer into place; returns the unpacked size.
    fn import_layer(
        &self,
        index: &ArchiveIndex,
        source: &LayerSource,
        diff_id: &str,
    ) -> Result<i64, ImageError> {
        let hex = parse_sha256(diff_id).unwrap_or(diff_id);
        let work = self
            .tmp_dir()
            .join(format!("layer-{hex}-{}", crate::util::ids::random_id()));
        let result = self.import_layer_into(index, source, diff_id, &work);
        if result.is_err() {
            let _ = crate::util::fsutil::remove_all(&work);
        }
        result
    }

    fn import_layer_into(
        &self,
        index: &ArchiveIndex,
        source: &LayerSource,
        diff_id: &str,
        work: &Path,
    ) -> Result<i64, ImageError> {
        let diff = work.join("diff");
        fs::create_dir_all(&diff).map_err(io_err(format!(
            "create the directory of layer {}",
            source.member
        )))?;
        let tar_path = work.join("layer.tar");
        let tar_file = File::create(&tar_path).map_err(io_err(format!(
            "create the tar file of layer {}",
            source.member
        )))?;

        let mut blob_hash = Sha256::new();
        let mut tar_hash = Sha256::new();
        let stats = {
            let blob = HashingReader {
                inner: index.reader(&source.member)?,
                hasher: &mut blob_hash,
            };
            let plain = unpack::decompress(blob)?;
            let mut tee = TeeReader {
                inner: plain,
                hasher: &mut tar_hash,
                copy: io::BufWriter::new(tar_file),
            };
            let stats = unpack::unpack_layer(&mut tee, &diff)?;
            // The tar reader stops at the end-of-archive marker; the digest covers every byte.
            io::copy(&mut tee, &mut io::sink())
                .map_err(io_err(format!("read layer {}", source.member)))?;
            let file = tee.copy.into_inner().map_err(|e| ImageError::Io {
                context: "write layer tar".into(),
                source: e.into_error(),
            })?;
            file.sync_all().map_err(io_err("sync layer tar"))?;
            stats
        };
        if let Some(expected) = &source.blob_digest {
            let actual = format!("sha256:{}", hex::encode(blob_hash.finalize()));
            if &actual != expected {
                return Err(ImageError::DigestMismatch {
                    what: format!("layer blob {}", source.member),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        let actual = format!("sha256:{}", hex::encode(tar_hash.finalize()));
        if actual != diff_id {
            return Err(ImageError::DigestMismatch {
                what: format!("layer {}", source.member),
                expected: diff_id.to_string(),
                actual,
            });
        }
        syncfs(work);
        let dest = self.layer_dir(diff_id);
        match fs::rename(work, &dest) {
            Ok(()) => {}
            // A directory no row references may be left by a crash; start-up removes those, so
            // one present now was renamed by this process and is complete.
            Err(e) if dest.exists() => {
                tracing::debug!(error = %e, "layer directory already present");
                let _ = crate::util::fsutil::remove_all(work);
            }
            Err(e) => {
                tracing::warn!(dest = %dest.display(), error = %e, "cannot move the layer into place");
                return Err(io_err(format!("store layer {diff_id}"))(e));
            }
        }
        if let Some(parent) = dest.parent() {
            crate::util::fsutil::sync_dir(parent).map_err(io_err("sync layers directory"))?;
        }
        tracing::debug!(diff_id, entries = stats.entries, "layer unpacked");
        Ok(disk_usage(&self.layer_diff(diff_id)) as i64)
    }
}

/// dockerd's layer size: st_size of every non-directory entry, hard links counted once.
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if seen.insert(meta.ino()) {
                total += meta.size();
            }
        }
    }
    total
}

/// Flushes the filesystem holding `dir` (one syscall instead of an fsync per file), so a renamed
/// layer directory is complete on disk even after a power loss.
fn syncfs(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        use std::os::fd::AsRawFd;
        // SAFETY: syncfs only reads the descriptor, which `f` keeps open for the call.
        unsafe { libc::syncfs(f.as_raw_fd()) };
    }
}

fn read_docker_save(index: &ArchiveIndex) -> Result<Vec<ArchiveImage>, ImageError> {
    let manifest: Vec<SaveManifestEntry> =
        serde_json::from_slice(&index.read_small("manifest.json")?)
            .map_err(|e| ImageError::InvalidArchive(format!("invalid manifest.json: {e}")))?;
    let mut images = Vec::new();
    for entry in manifest {
        let config = index.read_small(&entry.config)?;
        // Members named after their digest (blobs/sha256/<hex> or <hex>.json) must match it.
        let name = entry.config.rsplit('/').next().unwrap_or(&entry.config);
        let name = name.strip_suffix(".json").unwrap_or(name);
        let actual = hex::encode(Sha256::digest(&config));
        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) && name != actual {
            return Err(ImageError::DigestMismatch {
                what: format!("config {}", entry.config),
                expected: format!("sha256:{name}"),
                actual: format!("sha256:{actual}"),
            });
        }
        let mut refs = Vec::new();
        for tag in entry.repo_tags.unwrap_or_default() {
            let r = Reference::parse(&tag)?;
            if r.tag().is_none() {
                return Err(ImageError::InvalidArchive(format!(
                    "invalid tag {tag:?} in manifest.json"
                )));
            }
            refs.push(r);
        }
        images.push(ArchiveImage {
            config,
            layers: entry
                .layers
                .into_iter()
                .map(|member| LayerSource {
                    blob_digest: blob_digest_from_path(&member),
                    member,
                })
                .collect(),
            refs,
        });
    }
    Ok(images)
}

/// `blobs/sha256/<hex>` names its own digest; other member names say nothing.
fn blob_digest_from_path(member: &str) -> Option<String> {
    let rest = member
        .trim_start_matches("./")
        .strip_prefix("blobs/sha256/")?;
    (rest.len() == 64 && rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| format!("sha256:{rest}"))
}

fn blob_member(digest: &str) -> Result<String, ImageError> {
    let hex = parse_sha256(digest)
        .ok_or_else(|| ImageError::InvalidArchive(format!("unsupported digest {digest:?}")))?;
    Ok(format!("blobs/sha256/{hex}"))
}

/// A small blob by digest, verified.
fn read_blob(index: &ArchiveIndex, digest: &str) -> Result<Vec<u8>, ImageError> {
    let bytes = index.read_small(&blob_member(digest)?)?;
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    if actual != digest {
        return Err(ImageError::DigestMismatch {
            what: "blob".into(),
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(bytes)
}

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

fn read_oci_layout(index: &ArchiveIndex) -> Result<Vec<ArchiveImage>, ImageError> {
    let top: Index = serde_json::from_slice(&index.read_small("index.json")?)
        .map_err(|e| ImageError::InvalidArchive(format!("invalid index.json: {e}")))?;
    let mut images = Vec::new();
    for desc in top.manifests {
        let refs = refs_from_annotations(&desc)?;
        let manifest_desc = if INDEX_TYPES.contains(&desc.media_type.as_str()) {
            let nested: Index = serde_json::from_slice(&read_blob(index, &desc.digest)?)
                .map_err(|e| ImageError::InvalidArchive(format!("invalid image index: {e}")))?;
            match nested.manifests.into_iter().find(matches_host_platform) {
                Some(d) => d,
                None => {
                    return Err(ImageError::InvalidArchive(format!(
                        "image index {} has no manifest for linux/{}",
                        desc.digest,
                        host_arch()
                    )));
                }
            }
        } else {
            desc
        };
        let manifest: Manifest = serde_json::from_slice(&read_blob(index, &manifest_desc.digest)?)
            .map_err(|e| ImageError::InvalidArchive(format!("invalid image manifest: {e}")))?;
        images.push(ArchiveImage {
            config: read_blob(index, &manifest.config.digest)?,
            layers: manifest
                .layers
                .iter()
                .map(|l| {
                    Ok(LayerSource {
                        member: blob_member(&l.digest)?,
                        blob_digest: Some(l.digest.clone()),
                    })
                })
                .collect::<Result<_, ImageError>>()?,
            refs,
        });
    }
    Ok(images)
}

/// The image name a layout gives a manifest: containerd's full-name annotation, or an OCI
/// ref.name that is itself a full reference (a bare tag names nothing).
fn refs_from_annotations(desc: &Descriptor) -> Result<Vec<Reference>, ImageError> {
    let Some(ann) = &desc.annotations else {
        return Ok(Vec::new());
    };
    if let Some(name) = ann.get("io.containerd.image.name") {
        return Ok(vec![Reference::parse(name)?.with_default_tag()]);
    }
    if let Some(name) = ann.get("org.opencontainers.image.ref.name")
        && let Ok(r) = Reference::parse(name)
        && (name.contains(':') || name.contains('/'))
    {
        return Ok(vec![r.with_default_tag()]);
    }
    Ok(Vec::new())
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn matches_host_platform(d: &Descriptor) -> bool {
    d.platform
        .as_ref()
        .is_none_or(|p| p.os == "linux" && p.architecture == host_arch())
}

/// Hashes every byte read through it.
struct HashingReader<'a, R> {
    inner: R,
    hasher: &'a mut Sha256,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Hashes and copies every byte read through it.
struct TeeReader<'a, R, W: Write> {
    inner: R,
    hasher: &'a mut Sha256,
    copy: W,
}

impl<R: Read, W: Write> Read for TeeReader<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_name_digests() {
        let hex = "a".repeat(64);
        assert_eq!(
            blob_digest_from_path(&format!("blobs/sha256/{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(blob_digest_from_path("abc/layer.tar"), None);
    }
}
