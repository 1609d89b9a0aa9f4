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
    /// The OCI runtime failed; the message is the runtime's own, for users to see, and what
    /// it says about the container's command is in `cause`.
    #[error("{message}")]
    Runtime {
        message: String,
        cause: RuntimeCause,
    },
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

/// Why the runtime failed, as far as the container's command goes: dockerd gives `docker run`
/// 127 for a command that is not there and 126 for one that cannot be executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeCause {
    CommandNotFound,
    NotExecutable,
    /// A file mounted onto a directory or the reverse (a bind mount's source of the wrong
    /// type); dockerd gives it 127 too, with a hint.
    NotADirectory,
    Other,
}

impl RuntimeCause {
    /// The runtime says this only in words (runc prints Go's exec errors, berth-runtime the
    /// same; dockerd's translateContainerdStartErr reads the same words): read once, here,
    /// where the runtime's message enters the daemon.
    fn of(message: &str) -> RuntimeCause {
        let m = message.to_lowercase();
        if m.contains("executable file not found") || m.contains("no such file or directory") {
            RuntimeCause::CommandNotFound
        } else if m.contains("permission denied") {
            RuntimeCause::NotExecutable
        } else if m.contains("not a directory") {
            RuntimeCause::NotADirectory
        } else {
            RuntimeCause::Other
        }
    }
}

impl TaskError {
    /// The runtime failed saying `message`.
    pub fn runtime(message: impl Into<String>) -> TaskError {
        let message = message.into();
        let cause = RuntimeCause::of(&message);
        TaskError::Runtime { message, cause }
    }

    /// What a runtime failure says about the container's command (None: not a runtime failure).
    pub fn runtime_cause(&self) -> Option<RuntimeCause> {
        match self {
            TaskError::Runtime { cause, .. } => Some(*cause),
            _ => None,
        }
    }

    /// A shim's error reply as the daemon's error.
    pub(super) fn from_reply(kind: ErrorKind, message: String, op: &'static str) -> TaskError {
        match kind {
            ErrorKind::Runtime => TaskError::runtime(message),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_failures_carry_what_they_say_about_the_command() {
        let cause = |m: &str| TaskError::runtime(m).runtime_cause();
        let runc = "exec: \"nope\": executable file not found in $PATH";
        assert_eq!(cause(runc), Some(RuntimeCause::CommandNotFound));
        let missing = "exec /no/such: no such file or directory";
        assert_eq!(cause(missing), Some(RuntimeCause::CommandNotFound));
        let denied = "exec /etc/passwd: permission denied";
        assert_eq!(cause(denied), Some(RuntimeCause::NotExecutable));
        let mount = "mount /a to rootfs at /etc/hosts: Not a directory";
        assert_eq!(cause(mount), Some(RuntimeCause::NotADirectory));
        assert_eq!(cause("cgroup: busy"), Some(RuntimeCause::Other));
        assert_eq!(TaskError::NotFound.runtime_cause(), None);
        assert_eq!(TaskError::runtime("boom").to_string(), "boom");
    }
}
