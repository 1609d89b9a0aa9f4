//! Swarm mode (swarm, nodes, services, tasks, secrets, configs) and plugins, as dockerd answers
//! on a node that is not in a swarm and has no plugins: clients' clean-up calls (`POST
//! /swarm/leave`, `docker plugin ls`) get the answers they handle. What would create a swarm or
//! install a plugin is refused clearly: Berth has neither.

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::api::AppState;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{Query, drain};
use crate::api::json::ok;
use crate::engine::{Error, ErrorKind};

const NO_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";
const NO_SWARM: &str = "This node is not part of a swarm";
const NO_SWARM_MODE: &str = "swarm mode is not supported by Berth";
const NO_PLUGINS: &str = "plugins are not supported by Berth";

/// The swarm-mode endpoints, each answered as by dockerd outside a swarm.
const SWARM: &[(&str, &str)] = &[
    ("GET", "/swarm"),
    ("POST", "/swarm/init"),
    ("POST", "/swarm/join"),
    ("POST", "/swarm/leave"),
    ("POST", "/swarm/unlock"),
    ("GET", "/swarm/unlockkey"),
    ("POST", "/swarm/update"),
    ("GET", "/nodes"),
    ("DELETE", "/nodes/{id}"),
    ("GET", "/nodes/{id}"),
    ("POST", "/nodes/{id}/update"),
    ("GET", "/services"),
    ("POST", "/services/create"),
    ("DELETE", "/services/{id}"),
    ("GET", "/services/{id}"),
    ("GET", "/services/{id}/logs"),
    ("POST", "/services/{id}/update"),
    ("GET", "/tasks"),
    ("GET", "/tasks/{id}"),
    ("GET", "/tasks/{id}/logs"),
    ("GET", "/secrets"),
    ("POST", "/secrets/create"),
    ("DELETE", "/secrets/{id}"),
    ("GET", "/secrets/{id}"),
    ("POST", "/secrets/{id}/update"),
    ("GET", "/configs"),
    ("POST", "/configs/create"),
    ("DELETE", "/configs/{id}"),
    ("GET", "/configs/{id}"),
    ("POST", "/configs/{id}/update"),
];

const PLUGINS: &[(&str, &str)] = &[
    ("GET", "/plugins"),
    ("POST", "/plugins/create"),
    ("GET", "/plugins/privileges"),
    ("POST", "/plugins/pull"),
    ("DELETE", "/plugins/{name}"),
    ("POST", "/plugins/{name}/disable"),
    ("POST", "/plugins/{name}/enable"),
    ("GET", "/plugins/{name}/json"),
    ("POST", "/plugins/{name}/push"),
    ("POST", "/plugins/{name}/set"),
    ("POST", "/plugins/{name}/upgrade"),
];

pub fn table() -> Vec<(&'static str, &'static str)> {
    [SWARM, PLUGINS].concat()
}

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    let mut paths: Vec<&str> = table().into_iter().map(|(_, p)| p).collect();
    paths.dedup();
    for path in paths {
        let mut methods: Option<MethodRouter<AppState>> = None;
        for (method, _) in table().into_iter().filter(|(_, p)| *p == path) {
            let filter = match method {
                "GET" => MethodFilter::GET,
                "POST" => MethodFilter::POST,
                _ => MethodFilter::DELETE,
            };
            let route = if path.starts_with("/plugins") {
                plugin_route(filter, method, path)
            } else {
                on(filter, move |body: Body| swarm_answer(method, path, body))
            };
            methods = Some(match methods {
                Some(m) => m.merge(route),
                None => route,
            });
        }
        if let Some(m) = methods {
            router = router.route(path, m);
        }
    }
    router
}

/// The answer of a node outside a swarm, once the request's body is read (`swarm init` sends
/// one: answered before it is read, the CLI would see a broken pipe, not the message).
async fn swarm_answer(method: &str, path: &str, body: Body) -> ApiResult<Response> {
    drain(body).await;
    let (kind, message) = match (method, path) {
        ("POST", "/swarm/init" | "/swarm/join") => (ErrorKind::NotImplemented, NO_SWARM_MODE),
        ("POST", "/swarm/leave") => (ErrorKind::Unavailable, NO_SWARM),
        _ => (ErrorKind::Unavailable, NO_MANAGER),
    };
    Err(ApiError(Error::new(kind, message)))
}

fn plugin_route(
    filter: MethodFilter,
    method: &'static str,
    path: &'static str,
) -> MethodRouter<AppState> {
    match (method, path) {
        ("GET", "/plugins") => on(filter, list_plugins),
        (_, p) if p.contains("{name}") && !p.ends_with("/upgrade") => on(filter, no_such_plugin),
        _ => on(filter, |body: Body| async {
            drain(body).await;
            Err::<Response, _>(ApiError(Error::not_implemented(NO_PLUGINS)))
        }),
    }
}

/// No plugins are installed; the filters dockerd knows are accepted (and match nothing).
async fn list_plugins(query: Query) -> ApiResult<Response> {
    query
        .filters()?
        .validate(&["capability", "enabled"])
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(ok(&serde_json::json!([])))
}

async fn no_such_plugin(Path(name): Path<String>, body: Body) -> ApiResult<Response> {
    drain(body).await;
    Err(ApiError::not_found(format!("plugin {name:?} not found")))
}
