//! `/containers/...`.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::api::AppState;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{DockerJson, Query};
use crate::api::json::{json_response, ok};
use crate::api::stream::attach::{encode, replay_stream, tokio_stream_from};
use crate::api::stream::{hijack, stdcopy};
use crate::api::version::ApiVersion;
use crate::engine::container::AttachOptions;
use crate::engine::container::filter::atoi;
use crate::engine::container::list::ListOptions;
use crate::engine::container::logs::{LogOptions, parse_time_bound};
use crate::engine::container::wait::WaitCondition;
use crate::models::ContainerCreateBody;

pub const TABLE: &[(&str, &str)] = &[
    ("POST", "/containers/create"),
    ("GET", "/containers/json"),
    ("GET", "/containers/{id}/json"),
    ("DELETE", "/containers/{id}"),
    ("POST", "/containers/{id}/start"),
    ("POST", "/containers/{id}/stop"),
    ("POST", "/containers/{id}/restart"),
    ("POST", "/containers/{id}/kill"),
    ("POST", "/containers/{id}/wait"),
    ("POST", "/containers/{id}/attach"),
    ("GET", "/containers/{id}/logs"),
    ("POST", "/containers/{id}/resize"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/create", post(create))
        .route("/containers/json", get(list))
        .route("/containers/{id}/json", get(inspect))
        .route("/containers/{id}", delete(remove))
        .route("/containers/{id}/start", post(start))
        .route("/containers/{id}/stop", post(stop))
        .route("/containers/{id}/restart", post(restart))
        .route("/containers/{id}/kill", post(kill))
        .route("/containers/{id}/wait", post(wait))
        .route("/containers/{id}/attach", post(attach))
        .route("/containers/{id}/logs", get(logs))
        .route("/containers/{id}/resize", post(resize))
}

async fn create(
    State(state): State<AppState>,
    query: Query,
    DockerJson(body): DockerJson<ContainerCreateBody>,
) -> ApiResult<Response> {
    let body = body.ok_or_else(|| {
        ApiError::invalid("config cannot be empty in order to create a container")
    })?;
    let created = state
        .engine
        .create_container(query.get("name"), body)
        .await?;
    Ok(json_response(StatusCode::CREATED, &created))
}

async fn list(State(state): State<AppState>, query: Query) -> ApiResult<Response> {
    let limit = match query.get("limit") {
        Some(v) if !v.is_empty() => atoi(v).map_err(ApiError::invalid)?,
        _ => 0,
    };
    let opts = ListOptions {
        all: query.bool("all"),
        limit,
        size: query.bool("size"),
        filters: query.filters()?,
    };
    Ok(ok(&state.engine.list_containers(opts).await?))
}

async fn inspect(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    let doc = state
        .engine
        .inspect_container(&id, query.bool("size"))
        .await?;
    let doc = serde_json::to_value(&doc)
        .map_err(|e| ApiError(crate::engine::Error::internal(e.to_string())))?;
    Ok(ok(&crate::api::shape::containers::inspect(version, doc)))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    state
        .engine
        .remove_container(&id, query.bool("force"))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// 204, or the engine's error: "already so" is NotModified, which api/error.rs answers with
/// dockerd's bare 304 for a start or stop that changes nothing.
fn no_content_or_not_modified(r: crate::engine::Result<()>) -> ApiResult<Response> {
    r.map(|()| StatusCode::NO_CONTENT.into_response())
        .map_err(Into::into)
}

async fn start(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    no_content_or_not_modified(state.engine.start_container(&id).await)
}

fn timeout_param(query: &Query) -> ApiResult<Option<i64>> {
    match query
        .get("t")
        .or(query.get("timeout"))
        .filter(|t| !t.is_empty())
    {
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(format!("invalid value for t: {t}"))),
        None => Ok(None),
    }
}

async fn stop(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    let t = timeout_param(&query)?;
    no_content_or_not_modified(
        state
            .engine
            .stop_container(&id, query.get("signal"), t)
            .await,
    )
}

async fn restart(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    let t = timeout_param(&query)?;
    state
        .engine
        .restart_container(&id, query.get("signal"), t)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn kill(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    state
        .engine
        .kill_container(&id, query.get("signal"))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The headers go out at once; the body (`{"StatusCode": n}`) when the condition holds.
async fn wait(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    let condition = WaitCondition::parse(query.get("condition").unwrap_or(""))?;
    let fut = state.engine.wait_container(&id, condition).await?;
    let body = futures_util::stream::once(async move {
        let doc = match fut.await {
            Ok(code) => serde_json::json!({ "StatusCode": code }),
            Err(e) => serde_json::json!({ "StatusCode": -1, "Error": { "Message": e.message } }),
        };
        let mut bytes = serde_json::to_vec(&doc).unwrap_or_default();
        bytes.push(b'\n');
        Ok::<_, std::io::Error>(bytes)
    });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_default())
}

async fn attach(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    Path(id): Path<String>,
    query: Query,
    mut req: Request,
) -> ApiResult<Response> {
    let opts = AttachOptions {
        stdin: query.bool("stdin"),
        stdout: query.bool("stdout"),
        stderr: query.bool("stderr"),
    };
    // As dockerd: `logs=1` replays what the log holds first, `stream=1` then goes live.
    let (out, err) = (opts.stdout, opts.stderr);
    let session = state
        .engine
        .attach_container(&id, opts, query.bool("stream"), query.get("detachKeys"))
        .await?;
    let replay = if query.bool("logs") && (out || err) {
        let only = LogOptions {
            stdout: out,
            stderr: err,
            ..LogOptions::default()
        };
        Some(state.engine.container_logs(&id, only).await?.1)
    } else {
        None
    };
    let content_type = hijack::content_type(version, session.tty);
    if !hijack::wants_upgrade(&req) {
        // No upgrade asked: moby answers 200 and then writes the raw stream until it ends, never
        // chunked (clients that hijack the connection read the bytes as they come). An HTTP/1.0
        // response is how hyper sends a body delimited by closing the connection. Stdin is not
        // read on this path.
        let tty = session.tty;
        let live = session.output(move |s, b| encode(s, b, tty)).map(Ok);
        let body = Body::from_stream(replay_stream(replay, tty).chain(live));
        return Ok(Response::builder()
            .status(StatusCode::OK)
            .version(axum::http::Version::HTTP_10)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .unwrap_or_default());
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let mut client = match hijack::upgraded(on_upgrade).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "attach upgrade failed");
                return;
            }
        };
        let tty = session.tty;
        let mut replayed = replay_stream(replay, tty);
        while let Some(Ok(bytes)) = replayed.next().await {
            if client.write_all(&bytes).await.is_err() {
                return;
            }
        }
        session.pump(client, move |s, b| encode(s, b, tty)).await;
    });
    Ok(hijack::upgrade_response(content_type))
}

async fn logs(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    let opts = LogOptions {
        stdout: query.bool("stdout"),
        stderr: query.bool("stderr"),
        follow: query.bool("follow"),
        since: match query.get("since").filter(|s| !s.is_empty() && *s != "0") {
            Some(s) => Some(parse_time_bound(s)?),
            None => None,
        },
        until: match query.get("until").filter(|s| !s.is_empty() && *s != "0") {
            Some(s) => Some(parse_time_bound(s)?),
            None => None,
        },
        // As dockerd (strconv.Atoi, else -1): a count, and anything else (all, -1, junk,
        // overflow) is the whole log; testcontainers-node sends -1.
        tail: query
            .get("tail")
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(|n| usize::try_from(n).ok()),
    };
    if !opts.stdout && !opts.stderr {
        return Err(ApiError::invalid(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let timestamps = query.bool("timestamps");
    let (tty, rx) = state.engine.container_logs(&id, opts).await?;
    let body = tokio_stream_from(rx).map(move |e| {
        let mut payload = Vec::new();
        if timestamps {
            payload.extend_from_slice(crate::util::time::rfc3339_nano(e.time).as_bytes());
            payload.push(b' ');
        }
        payload.extend_from_slice(&e.bytes);
        let bytes = if tty {
            payload
        } else {
            stdcopy::frame(e.stream, &payload)
        };
        Ok::<_, std::io::Error>(bytes)
    });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, hijack::content_type(version, tty))
        .body(Body::from_stream(body))
        .unwrap_or_default())
}

async fn resize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    let (h, w) = query.terminal_size()?;
    state.engine.resize_container(&id, h, w).await?;
    Ok(StatusCode::OK.into_response())
}
