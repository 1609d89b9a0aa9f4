//! Errors of the daemon side of the shim protocol.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::shim::proto::{ErrorKind, ProtoVersion};

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The shim cannot be reached, or went away in the middle of a call.
    /// `socket` (under the exec root) is for logs, not the message clients see.
    #[error("the container's shim is gone: {source}")]
    ShimGone { socket: PathBuf, source: io::Error },
    /// The OCI runtime failed; the message is the runtime's own, for users to see.
    #[error("{0}")]
    Runtime(String),
    /// No shim was ever started in that state directory (or it was deleted).
    #[error("no such task")]
    NotFound,
    /// The shim (or the runtime it ran) did not answer within the call's bound.
    #[error("{op} timed out after {after:?}")]
    Timeout { op: &'static str, after: Duration },
    /// The request does not fit the task's state: start twice, delete while running, ...
    #[error("{0}")]
    Precondition(String),
    /// The shim failed on its own side, or spoke out of protocol.
    #[error("shim error: {0}")]
    Shim(String),
    #[error("starting shim {binary}: {source}")]
    Spawn { binary: PathBuf, source: io::Error },
    /// The shim speaks a protocol major version this daemon does not, or refused ours; the
    /// message names both versions.
    #[error("{0}")]
    Version(String),
    /// The verb is newer than the container's shim (started by an older daemon).
    #[error(
        "{op} needs a shim speaking protocol version {needs} or later; this container's shim \
         speaks {shim}: restart the container to use it"
    )]
    Unsupported {
        op: &'static str,
        needs: ProtoVersion,
        shim: ProtoVersion,
    },
    /// No exec process of that id in the task (the message names it).
    #[error("{0}")]
    NoSuchProcess(String),
}

impl TaskError {
    /// A shim's error reply as the daemon's error.
    pub(super) fn from_reply(kind: ErrorKind, message: String, op: &'static str) -> TaskError {
        match kind {
            ErrorKind::Runtime => TaskError::Runtime(message),
            ErrorKind::Timeout => TaskError::Timeout {
                op,
                after: super::RUNTIME_BOUND,
            },
            ErrorKind::Precondition => TaskError::Precondition(message),
            ErrorKind::BadRequest | ErrorKind::Internal => TaskError::Shim(message),
            ErrorKind::Version => TaskError::Version(message),
            ErrorKind::NotFound => TaskError::NoSuchProcess(message),
        }
    }

    /// A shim of version `shim` that this daemon cannot drive.
    pub(super) fn version(shim: ProtoVersion) -> TaskError {
        TaskError::Version(format!(
            "the container's shim speaks protocol version {shim} and this daemon speaks {}: it \
             cannot be driven by this daemon; stop the container with the daemon version that \
             started it",
            crate::shim::proto::PROTO_VERSION
        ))
    }

    /// True when the shim is not there to ask any more.
    pub fn is_gone(&self) -> bool {
        matches!(self, TaskError::ShimGone { .. } | TaskError::NotFound)
    }
}
