//! Random access into a spooled image archive (`docker save` or OCI layout tar).
//!
//! The archive is indexed once (name -> offset and size); members are then read in place, so a
//! load never extracts the outer archive. Symlinks between members (old `docker save` links a
//! repeated layer to its first copy) are resolved lexically and must stay inside the archive.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::{ImageError, io_err};

#[derive(Debug, Clone)]
enum Member {
    File { offset: u64, size: u64 },
    Link(String),
}

pub struct ArchiveIndex {
    file: File,
    members: HashMap<String, Member>,
}

/// Member names as written by different tools: "./a/b", "a/b", "a//b" all mean "a/b".
fn clean(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

impl ArchiveIndex {
    pub fn open(path: &Path) -> Result<ArchiveIndex, ImageError> {
        let file = File::open(path).map_err(io_err("open archive"))?;
        let mut members = HashMap::new();
        {
            let mut ar = tar::Archive::new(&file);
            let entries = ar
                .entries()
                .map_err(|e| ImageError::InvalidArchive(format!("invalid tar archive: {e}")))?;
            for entry in entries {
                let entry = entry
                    .map_err(|e| ImageError::InvalidArchive(format!("invalid tar archive: {e}")))?;
                let raw = entry.path_bytes();
                let name = String::from_utf8_lossy(&raw).into_owned();
                let Some(cleaned) = clean(&name) else {
                    return Err(ImageError::InvalidArchive(format!(
                        "invalid archive member path {name:?}"
                    )));
                };
                let kind = entry.header().entry_type();
                if kind.is_file() {
                    members.insert(
                        cleaned,
                        Member::File {
                            offset: entry.raw_file_position(),
                            size: entry.size(),
                        },
                    );
                } else if kind.is_symlink() || kind.is_hard_link() {
                    let target = entry
                        .link_name_bytes()
                        .map(|t| String::from_utf8_lossy(&t).into_owned())
                        .unwrap_or_default();
                    let resolved = if kind.is_symlink() {
                        let dir = cleaned.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                        if target.starts_with('/') {
                            None
                        } else {
                            clean(&format!("{dir}/{target}"))
                        }
                    } else {
                        clean(&target)
                    };
                    let Some(resolved) = resolved else {
                        return Err(ImageError::InvalidArchive(format!(
                            "archive member {name:?} links outside the archive"
                        )));
                    };
                    members.insert(cleaned, Member::Link(resolved));
                }
            }
        }
        Ok(ArchiveIndex { file, members })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.locate(name).is_some()
    }

    fn locate(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = clean(name)?;
        // Bounded: a link cycle must not hang the load.
        for _ in 0..16 {
            match self.members.get(&name)? {
                Member::File { offset, size } => return Some((*offset, *size)),
                Member::Link(target) => name = target.clone(),
            }
        }
        None
    }

    /// A reader over one member's bytes.
    pub fn reader(&self, name: &str) -> Result<impl Read + use<>, ImageError> {
        let (offset, size) = self.locate(name).ok_or_else(|| {
            ImageError::InvalidArchive(format!("archive is missing member {name:?}"))
        })?;
        let mut f = self.file.try_clone().map_err(io_err("reopen archive"))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(io_err("seek in archive"))?;
        Ok(f.take(size))
    }

    /// A whole (small) member, bounded so a hostile archive cannot exhaust memory.
    pub fn read_small(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        const LIMIT: u64 = 64 << 20;
        let (_, size) = self.locate(name).ok_or_else(|| {
            ImageError::InvalidArchive(format!("archive is missing member {name:?}"))
        })?;
        if size > LIMIT {
            return Err(ImageError::InvalidArchive(format!(
                "archive member {name:?} is too large ({size} bytes)"
            )));
        }
        let mut buf = Vec::with_capacity(size as usize);
        self.reader(name)?
            .read_to_end(&mut buf)
            .map_err(io_err(format!("read {name}")))?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_names() {
        assert_eq!(clean("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(clean("a/../b").as_deref(), Some("b"));
        assert_eq!(clean("../x"), None);
    }

    #[test]
    fn reads_members_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        let mut b = tar::Builder::new(File::create(&path).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "./x/layer.tar", &b"hello"[..])
            .unwrap();
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(tar::EntryType::Symlink);
        l.set_size(0);
        b.append_link(&mut l, "y/layer.tar", "../x/layer.tar")
            .unwrap();
        let mut bad = tar::Header::new_gnu();
        bad.set_entry_type(tar::EntryType::Symlink);
        bad.set_size(0);
        b.append_link(&mut bad, "loop", "loop").unwrap();
        b.into_inner().unwrap();

        let idx = ArchiveIndex::open(&path).unwrap();
        assert_eq!(idx.read_small("x/layer.tar").unwrap(), b"hello");
        assert_eq!(idx.read_small("y/layer.tar").unwrap(), b"hello");
        assert!(!idx.contains("loop"));
        assert!(idx.read_small("missing").is_err());
    }
}
