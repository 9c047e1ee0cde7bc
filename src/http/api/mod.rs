//! JSON API v1 for merchants (`Authorization: Bearer sk_…`), documented with OpenAPI.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

mod doc;
mod files;
mod orders;
mod products;
mod releases;
mod settings;
mod time;
mod webhook_endpoints;
mod whole;

/// The `/api/v1` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(products::list).post(products::create))
        .route("/products/{id}", get(products::get).patch(products::update))
        .route("/products/{id}/archive", post(products::archive))
        .route("/products/{id}/delivery", put(products::set_delivery).get(products::get_delivery))
        .route("/products/{id}/releases", get(releases::list).post(releases::publish))
        .route("/products/{id}/releases/{number}", get(releases::get))
        // Uploads stream to the blob store with their own size limit.
        .route(
            "/files",
            post(files::upload)
                .layer(axum::middleware::map_response(files::close_unless_stored))
                .get(files::list)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/files/{id}", get(files::get).delete(files::delete))
        .route("/orders", get(orders::list).post(orders::create::create))
        .route("/orders/{id}", get(orders::get))
        .route("/orders/{id}/revoke", post(orders::revoke))
        .route("/orders/{id}/restore", post(orders::restore))
        .route("/orders/{id}/resend", post(orders::resend))
        .route("/payment-events", get(orders::events))
        .route("/settings", get(settings::get).patch(settings::update))
        .route("/webhook-endpoints", get(webhook_endpoints::list).post(webhook_endpoints::create))
        .route(
            "/webhook-endpoints/{id}",
            get(webhook_endpoints::get).patch(webhook_endpoints::update).delete(webhook_endpoints::delete),
        )
        .route("/webhook-endpoints/{id}/deliveries", get(webhook_endpoints::deliveries))
        .route("/webhook-endpoints/{id}/rotate-secret", post(webhook_endpoints::rotate_secret))
        .route("/webhook-endpoints/{id}/deliveries/{event_id}/resend", post(webhook_endpoints::resend))
}

/// `/api/v1/openapi.json` and the Swagger UI at `/api/docs`.
pub fn docs() -> Router<AppState> {
    SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", doc::openapi()).into()
}
