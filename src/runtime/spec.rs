//! Reading a bundle's config.json. Unknown capability names are removed (with a warning) before
//! oci-spec sees them, because oci-spec rejects them and runc 1.1 only warns.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Process, Spec};
use serde_json::Value;

use crate::runtime::capabilities;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
    #[error("rootfs ({path}) does not exist")]
    NoRootfs { path: PathBuf },
}

pub struct LoadedSpec {
    pub spec: Spec,
    /// Absolute, symlinks resolved (runc does the same).
    pub rootfs: PathBuf,
    pub bundle: PathBuf,
    pub warnings: Vec<String>,
}

/// Reads `<bundle>/config.json` for `create` and `run`.
pub fn load_bundle(bundle: &Path) -> Result<LoadedSpec, SpecError> {
    let bundle = std::path::absolute(bundle).map_err(|source| SpecError::Read {
        path: bundle.to_path_buf(),
        source,
    })?;
    let path = bundle.join("config.json");
    let data = fs::read(&path).map_err(|source| SpecError::Read {
        path: path.clone(),
        source,
    })?;
    let mut warnings = Vec::new();
    let spec: Spec = parse_filtered(&data, &mut warnings).map_err(|source| SpecError::Parse {
        path: path.clone(),
        source,
    })?;
    let invalid = |what: &str| SpecError::Invalid {
        path: path.clone(),
        what: what.to_string(),
    };
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid("root must be set"))?;
    if spec.process().is_none() {
        return Err(invalid("process must be set"));
    }
    if spec.linux().is_none() {
        return Err(invalid("linux must be set"));
    }
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let rootfs = fs::canonicalize(&rootfs).map_err(|_| SpecError::NoRootfs { path: rootfs })?;
    if !rootfs.is_dir() {
        return Err(SpecError::NoRootfs { path: rootfs });
    }
    if let Some(linux) = spec.linux() {
        if linux
            .mount_label()
            .as_deref()
            .is_some_and(|l| !l.is_empty())
        {
            warnings.push("SELinux is not supported here: ignoring linux.mountLabel".to_string());
        }
        if linux.intel_rdt().is_some() {
            warnings.push("ignoring linux.intelRdt: not supported".to_string());
        }
    }
    Ok(LoadedSpec {
        spec,
        rootfs,
        bundle,
        warnings,
    })
}

/// Parses a process.json (for `exec --process`).
pub fn load_process(path: &Path, warnings: &mut Vec<String>) -> Result<Process, SpecError> {
    let data = if path == Path::new("-") {
        let mut buf = Vec::new();
        io::Read::read_to_end(&mut io::stdin(), &mut buf).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        buf
    } else {
        fs::read(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?
    };
    let mut v: Value = serde_json::from_slice(&data).map_err(|source| SpecError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    filter_caps(&mut v, warnings);
    serde_json::from_value(v).map_err(|source| SpecError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_filtered(data: &[u8], warnings: &mut Vec<String>) -> Result<Spec, serde_json::Error> {
    let mut v: Value = serde_json::from_slice(data)?;
    if let Some(p) = v.get_mut("process") {
        filter_caps(p, warnings);
    }
    serde_json::from_value(v)
}

/// Removes capability names nobody here knows from a process object's five sets.
pub fn filter_caps(process: &mut Value, warnings: &mut Vec<String>) {
    let Some(caps) = process
        .get_mut("capabilities")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut unknown: Vec<String> = Vec::new();
    for set in caps.values_mut() {
        if let Some(list) = set.as_array_mut() {
            list.retain(|c| match c.as_str() {
                Some(name) if capabilities::is_known(name) => true,
                other => {
                    let n = other.map_or_else(|| c.to_string(), String::from);
                    if !unknown.contains(&n) {
                        unknown.push(n);
                    }
                    false
                }
            });
        }
    }
    if !unknown.is_empty() {
        warnings.push(format!(
            "ignoring unknown or unavailable capabilities: {}",
            unknown.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_caps_are_dropped_with_a_warning() {
        let json = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
            "process":{"cwd":"/","user":{"uid":0,"gid":0},"args":["sh"],
              "capabilities":{"bounding":["CAP_CHOWN","CAP_FROBNICATE"],"effective":["CAP_CHOWN"]}},
            "linux":{}}"#;
        let mut w = Vec::new();
        let spec = parse_filtered(json, &mut w).unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .clone()
            .unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 1);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("CAP_FROBNICATE"));
    }

    #[test]
    fn bundle_loading_resolves_rootfs_and_validates() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("rootfs")).unwrap();
        fs::write(
            dir.path().join("config.json"),
            r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","user":{"uid":0,"gid":0},"args":["sh"]},"linux":{}}"#,
        )
        .unwrap();
        let l = load_bundle(dir.path()).unwrap();
        assert_eq!(
            l.rootfs,
            fs::canonicalize(dir.path().join("rootfs")).unwrap()
        );
        fs::write(
            dir.path().join("config.json"),
            r#"{"ociVersion":"1.0.2","root":{"path":"missing"},"process":{"cwd":"/","user":{"uid":0,"gid":0},"args":["sh"]},"linux":{}}"#,
        )
        .unwrap();
        assert!(matches!(
            load_bundle(dir.path()),
            Err(SpecError::NoRootfs { .. })
        ));
        fs::write(dir.path().join("config.json"), "{").unwrap();
        assert!(matches!(
            load_bundle(dir.path()),
            Err(SpecError::Parse { .. })
        ));
    }
}
