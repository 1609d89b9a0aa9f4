//! `/containers/...`: create, list, inspect and remove so far.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use crate::api::AppState;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{DockerJson, Query};
use crate::api::json::{json_response, ok};
use crate::models::ContainerCreateBody;

pub const TABLE: &[(&str, &str)] = &[
    ("POST", "/containers/create"),
    ("GET", "/containers/json"),
    ("GET", "/containers/{id}/json"),
    ("DELETE", "/containers/{id}"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/create", post(create))
        .route("/containers/json", get(list))
        .route("/containers/{id}/json", get(inspect))
        .route("/containers/{id}", delete(remove))
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
    Ok(ok(&state.engine.list_containers(query.bool("all")).await?))
}

async fn inspect(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(ok(&state.engine.inspect_container(&id).await?))
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
