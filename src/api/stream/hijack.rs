//! Hijacked connections for attach: answer `101 UPGRADED` (`Upgrade: tcp`) when the client asks
//! for an upgrade, as moby does, then pump bytes both ways on the raw connection.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper_util::rt::TokioIo;

/// True when the client asked to upgrade the connection (docker CLI, bollard, docker-py do).
pub fn wants_upgrade(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .is_some_and(|v| !v.is_empty())
}

/// The `101 Switching Protocols` answer, with the stream's content type.
pub fn upgrade_response(content_type: &'static str) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The raw connection once the 101 has gone out.
pub async fn upgraded(
    on: hyper::upgrade::OnUpgrade,
) -> Result<TokioIo<hyper::upgrade::Upgraded>, hyper::Error> {
    on.await.map(TokioIo::new)
}

pub const RAW_STREAM: &str = "application/vnd.docker.raw-stream";
pub const MULTIPLEXED_STREAM: &str = "application/vnd.docker.multiplexed-stream";

/// An attach's content type: the multiplexed one from API 1.42 when there is no terminal.
pub fn content_type(version: crate::api::version::ApiVersion, tty: bool) -> &'static str {
    if !tty && version >= crate::api::version::ApiVersion(1, 42) {
        MULTIPLEXED_STREAM
    } else {
        RAW_STREAM
    }
}
