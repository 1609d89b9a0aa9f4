//! The API version prefix: `/v1.XX/path` and bare `/path` reach the same handler. This runs before
//! routing (it wraps the whole router), strips the prefix, checks the version against what we
//! serve, records it in the request, and sets dockerd's identity headers on every response.

use std::fmt;

use axum::extract::Request;
use axum::http::{HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The newest API version served: the one bollard-stubs models (and bollard 0.21 sends).
pub const MAX_API: ApiVersion = ApiVersion(1, 53);
/// The oldest accepted, as dockerd's `MinAPIVersion`.
pub const MIN_API: ApiVersion = ApiVersion(1, 24);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u16, pub u16);

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

impl ApiVersion {
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (major, minor) = s.split_once('.')?;
        Some(ApiVersion(major.parse().ok()?, minor.parse().ok()?))
    }
}

/// Splits "/v1.41/images/json" into (Some("1.41"), "/images/json"). Only `v` followed by digits
/// and dots counts as a prefix, as dockerd's `/v{version:[0-9.]+}` route.
fn split_version(path: &str) -> (Option<&str>, &str) {
    let Some(rest) = path.strip_prefix("/v") else {
        return (None, path);
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let version = &rest[..end];
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return (None, path);
    }
    let tail = &rest[end..];
    (Some(version), if tail.is_empty() { "/" } else { tail })
}

pub async fn version_middleware(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let (version, tail) = split_version(&path);
    let version = match version {
        None => MAX_API,
        Some(v) => {
            match ApiVersion::parse(v) {
                Some(v) if v > MAX_API => {
                    return refuse(req, ApiError::invalid(format!(
                        "client version {v} is too new. Maximum supported API version is {MAX_API}"
                    )).into_response()).await;
                }
                Some(v) if v < MIN_API => {
                    return refuse(req, ApiError::invalid(format!(
                        "client version {v} is too old. Minimum supported API version is {MIN_API}, please upgrade your client to a newer version"
                    )).into_response()).await;
                }
                Some(v) => v,
                None => {
                    return refuse(req, ApiError::not_found("page not found").into_response())
                        .await;
                }
            }
        }
    };
    if tail.len() != path.len() {
        let new_uri = match req.uri().query() {
            Some(q) => format!("{tail}?{q}"),
            None => tail.to_string(),
        };
        match new_uri.parse::<Uri>() {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => {
                return refuse(
                    req,
                    ApiError::invalid("invalid request URI").into_response(),
                )
                .await;
            }
        }
    }
    req.extensions_mut().insert(version);
    with_headers(next.run(req).await)
}

/// An answer before routing, once the request's body is read (see `extract::drain`).
async fn refuse(req: Request, resp: Response) -> Response {
    super::extract::drain(req.into_body()).await;
    with_headers(resp)
}

fn with_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(MAX_API_STR));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(
        "Server",
        HeaderValue::from_static(concat!("Berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    resp
}

const MAX_API_STR: &str = "1.53";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_prefix() {
        assert_eq!(
            split_version("/v1.41/images/json"),
            (Some("1.41"), "/images/json")
        );
        assert_eq!(split_version("/v1.41"), (Some("1.41"), "/"));
        assert_eq!(split_version("/images/json"), (None, "/images/json"));
        assert_eq!(split_version("/volumes/x"), (None, "/volumes/x"));
        assert_eq!(split_version("/version"), (None, "/version"));
    }

    #[test]
    fn versions_order_numerically() {
        assert!(ApiVersion::parse("1.9").unwrap() < ApiVersion::parse("1.10").unwrap());
        assert_eq!(MAX_API.to_string(), MAX_API_STR);
        assert_eq!(ApiVersion::parse("1.x"), None);
    }
}
