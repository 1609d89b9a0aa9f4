//! `/images/...`. Image names contain '/' (`localhost:5000/a/b:tag`), which a path parameter
//! cannot hold, so everything under `/images/` past the fixed routes goes through `dispatch`,
//! which splits the name from the action suffix.

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use futures_util::TryStreamExt;
use tokio_util::io::{ReaderStream, StreamReader, SyncIoBridge};

use crate::api::AppState;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::Query;
use crate::api::json::ok;
use crate::api::shape;
use crate::api::stream::jsonlines;
use crate::api::version::ApiVersion;

pub const TABLE: &[(&str, &str)] = &[
    ("GET", "/images/json"),
    ("POST", "/images/load"),
    ("GET", "/images/get"),
    ("GET", "/images/{name}/json"),
    ("GET", "/images/{name}/get"),
    ("POST", "/images/{name}/tag"),
    ("DELETE", "/images/{name}"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/json", get(list))
        .route("/images/load", post(load))
        .route("/images/get", get(save_many))
        .route("/images/{*rest}", any(dispatch))
}

async fn dispatch(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    Path(rest): Path<String>,
    query: Query,
    req: Request,
) -> ApiResult<Response> {
    let method = req.method().clone();
    let suffix = |s: &str| {
        rest.strip_suffix(s)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
    };
    match method {
        Method::GET => {
            if let Some(name) = suffix("/json") {
                let doc = to_value(&state.engine.inspect_image(&name).await?)?;
                return Ok(ok(&shape::images::inspect(version, doc)));
            }
            if let Some(name) = suffix("/get") {
                return save(state, vec![name]).await;
            }
        }
        Method::POST => {
            if let Some(name) = suffix("/tag") {
                let repo = query.get("repo").unwrap_or("");
                state
                    .engine
                    .tag_image(&name, repo, query.get("tag"))
                    .await?;
                return Ok(StatusCode::CREATED.into_response());
            }
        }
        Method::DELETE => {
            let records = state
                .engine
                .remove_image(&rest, query.bool("force"))
                .await?;
            return Ok(ok(&records));
        }
        _ => {}
    }
    Err(ApiError::not_found("page not found"))
}

async fn list(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    query: Query,
) -> ApiResult<Response> {
    let filters = query.filters()?;
    let images = state
        .engine
        .list_images(query.bool("all"), &filters)
        .await?;
    let items: Vec<serde_json::Value> = images
        .iter()
        .map(|i| to_value(i).map(|v| shape::images::summary(version, v)))
        .collect::<ApiResult<_>>()?;
    Ok(ok(&items))
}

fn to_value<T: serde::Serialize>(v: &T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| ApiError(crate::engine::Error::internal(e.to_string())))
}

async fn load(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    let body = req
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let reader = StreamReader::new(body);
    // As dockerd: once the archive is being read the answer is 200, and a failure is the
    // stream's last record (docker-py raises ImageLoadError from it; the CLI prints it).
    let lines: Vec<_> = match state.engine.load_images(reader).await {
        Ok(messages) => messages
            .into_iter()
            .map(|m| serde_json::json!({ "stream": m }))
            .collect(),
        Err(e) => {
            tracing::debug!(error = %e, "docker load failed");
            vec![serde_json::json!({ "errorDetail": { "message": e.message }, "error": e.message })]
        }
    };
    Ok(jsonlines::response(&lines))
}

async fn save_many(State(state): State<AppState>, query: Query) -> ApiResult<Response> {
    save(state, query.all("names")).await
}

/// Streams the archive as it is written; the layers were opened before the first byte.
async fn save(state: AppState, names: Vec<String>) -> ApiResult<Response> {
    let set = state.engine.save_images(&names).await?;
    let (writer, reader) = tokio::io::duplex(256 * 1024);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = set.write_to(SyncIoBridge::new(writer)) {
            // Headers are gone already; dropping the writer cuts the stream short, which the
            // client reports as a truncated archive.
            tracing::warn!(error = %e, "docker save stopped");
        }
    });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/x-tar")
        .body(Body::from_stream(ReaderStream::new(reader)))
        .unwrap_or_default())
}
