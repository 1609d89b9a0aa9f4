//! HTTP only: listeners, the version prefix, one route file per resource, extractors, stream
//! encoders and the single error -> status map. Handlers parse, call one engine verb, and shape
//! the response.

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::Layer;

use crate::engine::Engine;

pub mod conn;
pub mod error;
pub mod extract;
pub mod gojson;
pub mod json;
pub mod routes;
pub mod server;
pub mod shape;
pub mod stream;
pub mod version;

pub use server::{bind, serve};

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
}

/// dockerd answers unknown paths, and known paths with the wrong method, with this, once the
/// request's body is read.
async fn not_found(req: Request) -> Response {
    extract::drain(req.into_body()).await;
    error::ApiError::not_found("page not found").into_response()
}

/// The application: routes behind the version layer.
pub fn app(
    engine: Engine,
) -> impl tower::Service<
    Request,
    Response = Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    let router: Router = routes::router()
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(AppState { engine });
    axum::middleware::from_fn(version::version_middleware).layer(router)
}
