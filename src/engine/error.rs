//! The engine's one error type. Its `kind` is moby's errdefs class; `api/error.rs` alone turns it
//! into an HTTP status. Messages match dockerd's where clients read them.

use std::fmt;

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

#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
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

impl std::error::Error for Error {}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Error {
        match e {
            crate::store::StoreError::Duplicate(m) => Error::conflict(m),
            // Said plainly: the client's operation did not happen for lack of disk space.
            e @ crate::store::StoreError::DiskFull(_) => Error::internal(e.to_string()),
            other => Error::internal(other.to_string()),
        }
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
        Error::new(kind, e.to_string())
    }
}
