//! JSON responses written as dockerd writes them: no HTML escaping, a trailing newline.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Serialize;

pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(mut body) => {
            body.push(b'\n');
            Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap_or_default()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize a response");
            Response::builder()
                .status(super::error::status_of(crate::engine::ErrorKind::Internal))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    "{\"message\":\"internal error: cannot serialize the response\"}\n",
                ))
                .unwrap_or_default()
        }
    }
}

/// 200 with a JSON body.
pub fn ok<T: Serialize>(value: &T) -> Response {
    json_response(StatusCode::OK, value)
}
