//! A container's persisted state (`<root>/<id>/state.json`) and its status, which is derived
//! every time from the init process rather than stored: a container whose init died is
//! `stopped` whether or not anyone told us.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::runtime::procfs;
use crate::util::fsutil::replace_file;

/// The runtime-spec version `state` reports.
pub const OCI_VERSION: &str = "1.2.0";
const STATE_FILE: &str = "state.json";
/// Exists from create until start: its presence is what makes a live init `created`.
pub const EXEC_FIFO: &str = "exec.fifo";

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    // The wording is runc's: containerd matches "does not exist" to map it to NotFound.
    #[error("container does not exist")]
    NotExist { id: String },
    #[error("container with given ID already exists")]
    Exists { id: String },
    #[error("invalid id format: {id}")]
    InvalidId { id: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("corrupt state file {path}: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }

    pub fn can_start(self) -> bool {
        self == Status::Created
    }

    pub fn can_pause(self) -> bool {
        matches!(self, Status::Created | Status::Running)
    }

    pub fn can_exec(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Paused)
    }

    /// Whether the init can still receive a signal.
    pub fn has_init(self) -> bool {
        self != Status::Stopped
    }
}

/// What we persist about a container. Our own format; `state` prints runc's shape from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    pub id: String,
    pub init_pid: i32,
    /// From /proc/<pid>/stat, to tell the init from a later process with the same pid.
    pub init_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    #[serde(default)]
    pub owner: String,
    /// `linux.cgroupsPath`; `None` when the container has no cgroup of its own.
    pub cgroups_path: Option<String>,
    /// Set by pause, cleared by resume (the freezer is the truth; this mirrors it).
    #[serde(default)]
    pub paused: bool,
    /// The config the container was created with; exec, update and hooks read it later.
    pub spec: Spec,
}

/// Container IDs as runc accepts them: letters, digits, `_ + - .`, not `.` or `..`.
pub fn validate_id(id: &str) -> Result<(), ContainerError> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 1024
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ContainerError::InvalidId { id: id.to_string() })
    }
}

pub fn container_dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

impl ContainerState {
    pub fn dir(&self, root: &Path) -> PathBuf {
        container_dir(root, &self.id)
    }

    pub fn load(root: &Path, id: &str) -> Result<ContainerState, ContainerError> {
        validate_id(id)?;
        let path = container_dir(root, id).join(STATE_FILE);
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ContainerError::NotExist { id: id.to_string() });
            }
            Err(source) => {
                return Err(ContainerError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        serde_json::from_slice(&data).map_err(|source| ContainerError::Corrupt { path, source })
    }

    pub fn save(&self, root: &Path) -> Result<(), ContainerError> {
        let path = self.dir(root).join(STATE_FILE);
        let data = serde_json::to_vec(self).map_err(|source| ContainerError::Corrupt {
            path: path.clone(),
            source,
        })?;
        replace_file(&path, &data).map_err(|source| ContainerError::Io {
            action: "write",
            path,
            source,
        })
    }

    pub fn init_alive(&self) -> bool {
        procfs::is_alive(self.init_pid, self.init_start_time)
    }

    /// created / running / paused / stopped, from the init process and the exec fifo.
    pub fn status(&self, root: &Path) -> Status {
        derive_status(
            self.init_alive(),
            self.paused,
            self.dir(root).join(EXEC_FIFO).exists(),
        )
    }

    /// runc's `state` output.
    pub fn oci_state(&self, root: &Path) -> OciState {
        let status = self.status(root);
        OciState {
            oci_version: OCI_VERSION.to_string(),
            id: self.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.init_pid
            },
            status,
            bundle: self.bundle.display().to_string(),
            rootfs: self.rootfs.display().to_string(),
            created: self.created.clone(),
            owner: self.owner.clone(),
            annotations: self.spec.annotations().clone().unwrap_or_default(),
        }
    }
}

/// The status rules, kept pure so they can be tested without processes.
pub fn derive_status(init_alive: bool, paused: bool, fifo_exists: bool) -> Status {
    if !init_alive {
        Status::Stopped
    } else if paused {
        Status::Paused
    } else if fifo_exists {
        Status::Created
    } else {
        Status::Running
    }
}

/// The JSON `state` prints, field for field as runc (`ociVersion`, ..., `owner`, then
/// `annotations` when there are any).
#[derive(Debug, Serialize)]
pub struct OciState {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub bundle: String,
    pub rootfs: String,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

/// The state passed to hooks on stdin (the runtime-spec's state; `creating` is a valid status
/// here, for the createRuntime hooks).
pub fn hook_state(st: &ContainerState, status: &str, pid: i32) -> String {
    let v = serde_json::json!({
        "ociVersion": OCI_VERSION,
        "id": st.id,
        "status": status,
        "pid": pid,
        "bundle": st.bundle,
        "annotations": st.spec.annotations().clone().unwrap_or_default(),
    });
    v.to_string()
}

/// Every container ID under `root` that has a state file.
pub fn list_ids(root: &Path) -> Vec<String> {
    let mut ids: Vec<String> = match fs::read_dir(root) {
        Ok(d) => d
            .flatten()
            .filter(|e| e.path().join(STATE_FILE).exists())
            .filter_map(|e| e.file_name().to_str().map(String::from))
            .collect(),
        Err(_) => Vec::new(),
    };
    ids.sort();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_transitions() {
        assert_eq!(derive_status(true, false, true), Status::Created);
        assert_eq!(derive_status(true, false, false), Status::Running);
        assert_eq!(derive_status(true, true, false), Status::Paused);
        assert_eq!(derive_status(true, true, true), Status::Paused);
        assert_eq!(derive_status(false, true, true), Status::Stopped);
        assert_eq!(derive_status(false, false, false), Status::Stopped);
        assert!(Status::Created.can_start());
        assert!(!Status::Running.can_start());
        assert!(Status::Running.can_pause());
        assert!(!Status::Stopped.can_pause());
        assert!(!Status::Stopped.can_exec());
        assert!(!Status::Stopped.has_init());
    }

    #[test]
    fn ids_like_runc() {
        for ok in ["abc", "a-b_c.d+e", "0123456789abcdef"] {
            validate_id(ok).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a b", "../x", "x\n"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn state_roundtrip_and_runc_shape() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = Spec::default();
        spec.set_annotations(Some(HashMap::from([("k".to_string(), "v".to_string())])));
        let st = ContainerState {
            id: "c1".into(),
            init_pid: 0,
            init_start_time: 0,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "2024-01-01T00:00:00.5Z".into(),
            owner: String::new(),
            cgroups_path: None,
            paused: false,
            spec,
        };
        fs::create_dir(dir.path().join("c1")).unwrap();
        st.save(dir.path()).unwrap();
        let back = ContainerState::load(dir.path(), "c1").unwrap();
        assert_eq!(back.bundle, PathBuf::from("/b"));
        let v = serde_json::to_value(back.oci_state(dir.path())).unwrap();
        assert_eq!(v["status"], "stopped");
        assert_eq!(v["pid"], 0);
        assert_eq!(v["annotations"]["k"], "v");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 9);
        assert_eq!(list_ids(dir.path()), vec!["c1".to_string()]);
        assert!(matches!(
            ContainerState::load(dir.path(), "nope"),
            Err(ContainerError::NotExist { .. })
        ));
    }
}
