//! `/containers/{id}/exec` and `/exec/...`: the exec resource.

use axum::body::Body;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::api::AppState;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{DockerJson, Query};
use crate::api::json::{json_response, ok};
use crate::api::stream::attach::encode;
use crate::api::stream::hijack;
use crate::api::version::ApiVersion;
use crate::models::{ExecConfig, ExecStartConfig};

pub const TABLE: &[(&str, &str)] = &[
    ("POST", "/containers/{id}/exec"),
    ("POST", "/exec/{id}/start"),
    ("POST", "/exec/{id}/resize"),
    ("GET", "/exec/{id}/json"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/{id}/exec", post(create))
        .route("/exec/{id}/start", post(start))
        .route("/exec/{id}/resize", post(resize))
        .route("/exec/{id}/json", get(inspect))
}

async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    DockerJson(body): DockerJson<ExecConfig>,
) -> ApiResult<Response> {
    let body = body.ok_or_else(|| ApiError::invalid("No exec command specified"))?;
    let exec_id = state.engine.create_exec(&id, body).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &serde_json::json!({ "Id": exec_id }),
    ))
}

async fn start(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    Path(id): Path<String>,
    mut req: Request,
) -> ApiResult<Response> {
    let upgrade = hijack::wants_upgrade(&req);
    let on_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let DockerJson(body) = DockerJson::<ExecStartConfig>::from_request(req, &()).await?;
    let body = body.unwrap_or_default();
    let mut prepared = state.engine.prepare_exec_start(&id).await?;
    prepared.set_console_size(body.console_size.as_deref())?;
    if body.detach.unwrap_or(false) {
        prepared.run_detached().await?;
        return Ok(StatusCode::OK.into_response());
    }
    // As dockerd, the framing follows the start request's Tty (clients send the create's).
    let tty = body.tty.unwrap_or(prepared.tty());
    let content_type = hijack::content_type(version, tty);
    let Some(on_upgrade) = on_upgrade else {
        // No upgrade asked: 200, then the raw output until it ends (see containers' attach).
        let body = match prepared.run_attached().await {
            Ok(session) => Body::from_stream(
                session
                    .output(move |s, b| encode(s, b, tty))
                    .map(Ok::<_, std::io::Error>),
            ),
            Err(e) => Body::from(failure(&e, tty)),
        };
        return Ok(Response::builder()
            .status(StatusCode::OK)
            .version(axum::http::Version::HTTP_10)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .unwrap_or_default());
    };
    tokio::spawn(async move {
        let mut client = match hijack::upgraded(on_upgrade).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "exec upgrade failed");
                return;
            }
        };
        match prepared.run_attached().await {
            Ok(session) => session.pump(client, move |s, b| encode(s, b, tty)).await,
            Err(e) => {
                // After the hijack the error can only go into the stream, as dockerd writes it;
                // the client reads the exit code (126/127) from the exec's inspect.
                let _ = client.write_all(&failure(&e, tty)).await;
                let _ = client.shutdown().await;
            }
        }
    });
    Ok(hijack::upgrade_response(content_type))
}

/// A start's failure as dockerd writes it into the stream: a line on stdout (framed without a
/// terminal).
fn failure(e: &crate::engine::Error, tty: bool) -> Vec<u8> {
    encode(1, format!("{}\r\n", e.message).into_bytes(), tty)
}

async fn resize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Response> {
    let (h, w) = query.terminal_size()?;
    state.engine.resize_exec(&id, h, w).await?;
    Ok(StatusCode::OK.into_response())
}

async fn inspect(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(ok(&state.engine.inspect_exec(&id)?))
}
