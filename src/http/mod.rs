//! The HTTP surface: dashboard, JSON API, the customer's order links and portal, webhooks,
//! health and metrics.

use axum::Router;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::state::AppState;

pub mod api;
pub mod brand;
mod checkout;
pub mod client;
pub mod dashboard;
mod error;
mod extract;
mod fault;
pub mod fuzzing;
mod health;
mod not_found;
pub mod order_links;
pub mod page_error;
pub mod pages;
pub mod portal;
pub mod ranged;
pub mod security;
mod service_errors;
pub mod session;
mod unsubscribe;
pub mod upload;
mod webhooks;

pub(crate) use error::retry_after;
pub use error::{Error, Result};
pub use extract::{ApiJson, ApiMerchant, ApiQuery};
pub use page_error::{PageError, PageResult};

/// The routes of a worker-only process: health and metrics, for an orchestrator's probes.
pub fn health_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(axum::middleware::from_fn(crate::telemetry::track))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/", get(not_found::home))
        .route("/dashboard/", get(not_found::dashboard_slash))
        .route("/favicon.ico", get(not_found::favicon))
        .route("/static/{name}", get(pages::asset))
        .route("/brand/logo/{file}", get(brand::logo))
        .route("/brand/accent/{file}", get(brand::accent))
        .route("/d/{token}", get(order_links::page))
        .route("/d/{token}/files/{n}", get(order_links::download))
        .route("/d/{token}/link", get(order_links::first_link))
        .route("/d/{token}/link/{n}", get(order_links::nth_link))
        .route("/d/{token}/zip", get(order_links::download_all))
        .route("/unsubscribe/{token}", get(unsubscribe::show).post(unsubscribe::change))
        .route("/webhooks/{merchant}/{provider}", post(webhooks::receive))
        .route("/buy/{product}", get(checkout::show).post(checkout::pay))
        .nest("/dashboard", dashboard::router(state.clone()))
        .nest(
            "/api/v1",
            api::router()
                .layer(axum::middleware::map_response(extract::json_too_large))
                .layer(axum::extract::DefaultBodyLimit::max(extract::JSON_BODY_LIMIT)),
        )
        .merge(api::docs())
        .merge(portal::routes(state.clone()))
        .fallback(not_found::fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), client::identify))
        .layer(axum::middleware::from_fn(crate::telemetry::track))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
