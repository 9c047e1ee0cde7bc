//! The HTTP surface: JSON API, downloads, webhooks, health.

use axum::Router;
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::app::AppState;

pub mod api;
mod error;
mod extract;
mod health;
pub mod ranged;

pub use error::{Error, Result};
pub use extract::{ApiJson, ApiMerchant};

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest("/api/v1", api::router())
        .merge(api::docs())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
