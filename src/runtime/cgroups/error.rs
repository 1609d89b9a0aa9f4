//! The one error type of the cgroups module; every variant names the path or value involved.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroups: not implemented")]
    Unimplemented,

    #[error(
        "systemd cgroup paths ({path:?}, \"slice:prefix:name\") are not supported; use a cgroupfs path like /berth/<id>"
    )]
    SystemdPath { path: String },

    #[error("invalid cgroups path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },

    #[error("cannot use the cgroup mount at {root}: {reason}")]
    Detect { root: PathBuf, reason: String },

    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("write {value:?} to {path}: {source}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },

    #[error("parse {path}: {reason}")]
    Parse { path: PathBuf, reason: String },

    #[error("invalid {what}: {reason}")]
    Resource { what: &'static str, reason: String },

    #[error("cannot set {what}: the {controller} controller is not available (cgroup {path})")]
    ControllerMissing {
        controller: String,
        what: String,
        path: PathBuf,
    },

    #[error("cannot set memory limit {limit} in {path}: below current usage {usage} (peak {peak})")]
    MemoryBelowUsage {
        path: PathBuf,
        limit: i64,
        usage: u64,
        peak: u64,
    },

    #[error("{path}: timed out after {waited:?} waiting for {what}")]
    Timeout {
        path: PathBuf,
        what: &'static str,
        waited: Duration,
    },

    #[error("bpf {op}: {source}{detail}")]
    Bpf {
        op: &'static str,
        #[source]
        source: io::Error,
        /// The verifier log when loading failed, or the cgroup involved.
        detail: String,
    },
}

impl CgroupError {
    /// The OS error number behind an I/O failure, to branch on EBUSY/EINVAL/ENOENT like the kernel
    /// documents for each knob.
    pub fn errno(&self) -> Option<i32> {
        match self {
            CgroupError::Io { source, .. }
            | CgroupError::Write { source, .. }
            | CgroupError::Bpf { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    pub(crate) fn is_not_found(&self) -> bool {
        self.errno() == Some(libc::ENOENT)
    }
}
