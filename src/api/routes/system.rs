//! `/_ping`, `/version`, `/info`, `/events`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use crate::api::AppState;
use crate::api::error::ApiResult;
use crate::api::extract::Query;
use crate::api::json::ok;
use crate::api::shape;
use crate::api::version::{ApiVersion, MAX_API, MIN_API};

pub const TABLE: &[(&str, &str)] = &[
    ("GET", "/_ping"),
    ("HEAD", "/_ping"),
    ("GET", "/version"),
    ("GET", "/info"),
    ("GET", "/events"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_ping", get(ping_get).head(ping_head))
        .route("/version", get(version))
        .route("/info", get(info))
        .route("/events", get(events))
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

/// The streaming formats a client may ask for in `Accept` (moby's `jsonTypes`).
const EVENT_TYPES: &[&str] = &[
    "application/jsonl",
    "application/x-ndjson",
    "application/json-seq",
];

/// `docker events`: the replay, then live events, one JSON record each, with the headers sent
/// at once so that clients see the stream open before the first event.
async fn events(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    headers: HeaderMap,
    query: Query,
) -> ApiResult<Response> {
    let bound = |key: &str| match query.get(key).filter(|s| !s.is_empty()) {
        Some(v) => crate::engine::container::logs::parse_time_bound(v)
            .map(Some)
            .map_err(|_| crate::engine::Error::invalid(format!("invalid value for '{key}': {v}"))),
        None => Ok(None),
    };
    let (since, until) = (bound("since")?, bound("until")?);
    let sub = state
        .engine
        .subscribe_events(since, until, query.filters()?)?;
    // dockerd's default before 1.52 was (not quite) JSON; newer ones send JSON Lines.
    let default = if version < ApiVersion(1, 52) {
        "application/json"
    } else {
        "application/jsonl"
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let content_type = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .find(|t| EVENT_TYPES.contains(t))
        .unwrap_or(default)
        .to_string();
    let seq = content_type == "application/json-seq";
    let stream = futures_util::stream::unfold(sub, move |mut sub| async move {
        let ev = sub.next().await?;
        let mut line = Vec::new();
        if seq {
            line.push(0x1e);
        }
        serde_json::to_writer(&mut line, &shape::events::event(version, &ev)).ok()?;
        line.push(b'\n');
        Some((
            Ok::<_, std::convert::Infallible>(bytes::Bytes::from(line)),
            sub,
        ))
    });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .body(axum::body::Body::from_stream(stream))
        .unwrap_or_default())
}
