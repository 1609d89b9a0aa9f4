//! The one place an HTTP status is chosen: engine error kinds map to statuses as moby's
//! `httpstatus.FromError` does, and every error body is JSON `{"message": ...}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::engine::{Error, ErrorKind};

#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError(e)
    }
}

impl ApiError {
    pub fn invalid(msg: impl Into<String>) -> ApiError {
        ApiError(Error::invalid(msg))
    }
    pub fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError(Error::not_found(msg))
    }
}

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::InvalidParameter => StatusCode::BAD_REQUEST,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::NotModified => StatusCode::NOT_MODIFIED,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.0.kind);
        if status.is_server_error() {
            tracing::error!(error = %self.0.message, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), error = %self.0.message, "request refused");
        }
        if status == StatusCode::NOT_MODIFIED {
            return status.into_response();
        }
        super::json::json_response(status, &serde_json::json!({ "message": self.0.message }))
    }
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_moby() {
        assert_eq!(status_of(ErrorKind::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(
            status_of(ErrorKind::InvalidParameter),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(status_of(ErrorKind::Conflict), StatusCode::CONFLICT);
        assert_eq!(
            status_of(ErrorKind::Internal),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
