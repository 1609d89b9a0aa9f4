//! One file per resource; each has its route table at the top (`TABLE`, in the spec's path
//! templates, checked against `api-spec/endpoints.tsv` by a test) and a `routes()` router.

use axum::Router;

use super::AppState;

pub mod containers;
pub mod exec;
pub mod images;
pub mod swarm;
pub mod system;

/// Every (METHOD, spec path template) the router serves.
pub fn table() -> Vec<(&'static str, &'static str)> {
    [
        system::TABLE,
        images::TABLE,
        containers::TABLE,
        exec::TABLE,
        &swarm::table(),
    ]
    .concat()
}

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(system::routes())
        .merge(images::routes())
        .merge(containers::routes())
        .merge(exec::routes())
        .merge(swarm::routes())
}
