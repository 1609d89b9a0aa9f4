//! Reading and writing cgroupfs files. Writes never create files: a missing knob is an error the
//! caller can recognise (ENOENT), exactly as on the real filesystem.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use super::error::CgroupError;

#[cfg(test)]
thread_local! {
    /// Every successful write of the current test thread, in order: (path, value).
    pub(crate) static JOURNAL: std::cell::RefCell<Vec<(std::path::PathBuf, String)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes `value` to `dir/file` in one write(2), as cgroupfs expects.
pub(crate) fn write(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    let result = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    match result {
        Ok(()) => {
            #[cfg(test)]
            JOURNAL.with(|j| j.borrow_mut().push((path.clone(), value.to_string())));
            Ok(())
        }
        Err(source) => Err(CgroupError::Write {
            path,
            value: value.to_string(),
            source,
        }),
    }
}

pub(crate) fn read(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    fs::read_to_string(&path).map_err(|source| CgroupError::Io {
        op: "read",
        path,
        source,
    })
}

/// Like `read`, but a missing file is `None` (optional knobs, controllers not enabled).
pub(crate) fn read_opt(dir: &Path, file: &str) -> Result<Option<String>, CgroupError> {
    match read(dir, file) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn exists(dir: &Path, file: &str) -> bool {
    dir.join(file).exists()
}

/// Parses a single-number file; "max" (v2's "no limit") reads as u64::MAX.
pub(crate) fn parse_u64(path: &Path, text: &str) -> Result<u64, CgroupError> {
    let t = text.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    t.parse::<u64>().map_err(|e| CgroupError::Parse {
        path: path.to_path_buf(),
        reason: format!("{t:?}: {e}"),
    })
}

pub(crate) fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let text = read(dir, file)?;
    parse_u64(&dir.join(file), &text)
}

pub(crate) fn read_u64_opt(dir: &Path, file: &str) -> Result<Option<u64>, CgroupError> {
    match read_opt(dir, file)? {
        Some(text) => parse_u64(&dir.join(file), &text).map(Some),
        None => Ok(None),
    }
}

/// Parses "key value" lines (memory.stat, cpu.stat, cgroup.events, memory.oom_control...).
pub(crate) fn parse_keyed(path: &Path, text: &str) -> Result<BTreeMap<String, u64>, CgroupError> {
    let mut map = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CgroupError::Parse {
                path: path.to_path_buf(),
                reason: format!("line {line:?} is not \"key value\""),
            });
        };
        map.insert(key.to_string(), parse_u64(path, value)?);
    }
    Ok(map)
}

pub(crate) fn read_keyed(dir: &Path, file: &str) -> Result<BTreeMap<String, u64>, CgroupError> {
    let text = read(dir, file)?;
    parse_keyed(&dir.join(file), &text)
}

pub(crate) fn read_keyed_opt(
    dir: &Path,
    file: &str,
) -> Result<Option<BTreeMap<String, u64>>, CgroupError> {
    match read_opt(dir, file)? {
        Some(text) => parse_keyed(&dir.join(file), &text).map(Some),
        None => Ok(None),
    }
}

/// An error naming `dir` unless it exists (reading a removed cgroup must not look like zeros).
pub(crate) fn must_exist(dir: &Path) -> Result<(), CgroupError> {
    fs::metadata(dir)
        .map(|_| ())
        .map_err(|source| CgroupError::Io {
            op: "stat",
            path: dir.to_path_buf(),
            source,
        })
}

/// mkdir -p, with the path in the error.
pub(crate) fn mkdir_all(dir: &Path) -> Result<(), CgroupError> {
    fs::create_dir_all(dir).map_err(|source| CgroupError::Io {
        op: "mkdir",
        path: dir.to_path_buf(),
        source,
    })
}

/// mkdir of one level; an existing directory is fine.
pub(crate) fn mkdir(dir: &Path) -> Result<(), CgroupError> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(CgroupError::Io {
            op: "mkdir",
            path: dir.to_path_buf(),
            source,
        }),
    }
}
