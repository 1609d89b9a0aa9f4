//! The engine's one error type. Its `kind` is moby's errdefs class; `api/error.rs` alone turns it
//! into an HTTP status. Messages match dockerd's where clients read them; the error that caused
//! it, when there is one, stays attached (`source`) for logs and for callers that act on it.

use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    InvalidParameter,
    Conflict,
    NotModified,
    Unauthorized,
    Forbidden,
    Unavailable,
    NotImplemented,
    Internal,
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error of `kind` saying `message`, caused by `source`.
    pub fn caused_by(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            kind,
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// The error's own message, as the cause of another.
    fn from_cause(
        kind: ErrorKind,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        let message = source.to_string();
        Error::caused_by(kind, message, source)
    }
    pub fn not_found(m: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, m)
    }
    pub fn invalid(m: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidParameter, m)
    }
    pub fn conflict(m: impl Into<String>) -> Error {
        Error::new(ErrorKind::Conflict, m)
    }
    pub fn internal(m: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, m)
    }
    pub fn not_implemented(m: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotImplemented, m)
    }
    pub fn no_such_image(r: &str) -> Error {
        Error::not_found(format!("No such image: {r}"))
    }
    pub fn no_such_container(r: &str) -> Error {
        Error::not_found(format!("No such container: {r}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Error {
        use crate::store::StoreError as S;
        let kind = match &e {
            S::Duplicate(_) => ErrorKind::Conflict,
            // Said plainly (the message): the operation did not happen for lack of disk space.
            S::DiskFull(_) | S::Db(_) | S::Migrate(_) | S::Integrity(_) => ErrorKind::Internal,
        };
        Error::from_cause(kind, e)
    }
}

/// A task (shim) error as the engine reports it: a task that is not there, or a request that
/// does not fit its state (a kill racing the exit), is dockerd's 409; the rest are the daemon's.
impl From<crate::task::TaskError> for Error {
    fn from(e: crate::task::TaskError) -> Error {
        use crate::task::TaskError as T;
        let kind = match &e {
            T::NotFound | T::Precondition(_) | T::Unsupported { .. } => ErrorKind::Conflict,
            T::NoSuchProcess(_) => ErrorKind::NotFound,
            T::ShimGone { .. }
            | T::Runtime { .. }
            | T::Timeout { .. }
            | T::Shim(_)
            | T::Spawn { .. }
            | T::Version(_) => ErrorKind::Internal,
        };
        Error::from_cause(kind, e)
    }
}

impl From<crate::image::ImageError> for Error {
    fn from(e: crate::image::ImageError) -> Error {
        use crate::image::ImageError as E;
        let kind = match &e {
            E::Unpack(crate::image::unpack::UnpackError::Io { .. }) => ErrorKind::Internal,
            E::InvalidArchive(_) | E::DigestMismatch { .. } | E::Unpack(_) | E::Reference(_) => {
                ErrorKind::InvalidParameter
            }
            E::Io { .. } | E::Store(_) | E::Json(_) | E::Task(_) => ErrorKind::Internal,
        };
        Error::from_cause(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn causes_stay_attached_and_choose_the_kind() {
        let e: Error = crate::task::TaskError::Precondition("not running".into()).into();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert!(e.source().is_some_and(|s| s.to_string() == "not running"));
        let e: Error = crate::store::StoreError::Duplicate("name taken".into()).into();
        assert_eq!(e.kind, ErrorKind::Conflict);
        let e: Error = crate::task::TaskError::runtime("boom").into();
        assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Internal, "boom"));
        assert!(Error::invalid("x").source().is_none());
    }
}
