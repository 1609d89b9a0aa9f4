//! `/_ping`, `/version`, `/info`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use crate::api::AppState;
use crate::api::error::ApiResult;
use crate::api::json::ok;
use crate::api::shape;
use crate::api::version::{ApiVersion, MAX_API, MIN_API};

pub const TABLE: &[(&str, &str)] = &[
    ("GET", "/_ping"),
    ("HEAD", "/_ping"),
    ("GET", "/version"),
    ("GET", "/info"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_ping", get(ping_get).head(ping_head))
        .route("/version", get(version))
        .route("/info", get(info))
}

/// The headers clients read from a ping (moby's `pingHandler`).
fn ping_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Swarm", HeaderValue::from_static("inactive"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h
}

async fn ping_get() -> Response {
    (StatusCode::OK, ping_headers(), "OK").into_response()
}

async fn ping_head() -> Response {
    let mut h = ping_headers();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    (StatusCode::OK, h).into_response()
}

async fn version(State(state): State<AppState>) -> Response {
    ok(&state
        .engine
        .version(&MAX_API.to_string(), &MIN_API.to_string()))
}

async fn info(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
) -> ApiResult<Response> {
    let doc = serde_json::to_value(state.engine.info().await?)
        .map_err(|e| crate::engine::Error::internal(e.to_string()))?;
    Ok(ok(&shape::system::info(version, doc)))
}
