//! `/api/v1/orders`: orders for merchants who confirm payments themselves, the order list and
//! detail (frozen delivery, download counts, events), revoke and restore, unmatched events.
//! The operations themselves live in `crate::orders`.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::doc::{self, EmailAddress, OrderStatusName};
use crate::db::orders::{self as db_orders, OrderFilter};
use crate::db::payment_events;
use crate::domain::{OrderStatus, PaymentEventStatus};
use crate::http::{ApiMerchant, ApiQuery, Error, Result};
use crate::orders::Resent;
use crate::state::AppState;

pub(super) mod create;
mod shapes;

use shapes::detail_out;
use shapes::{EmailOut, EventOut, OrderDetailOut, OrderOut};

/// Query of `GET /api/v1/orders`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Customer email.
    #[param(value_type = Option<EmailAddress>)]
    email: Option<String>,
    /// `paid`, `refunded` or `revoked`.
    #[param(value_type = Option<OrderStatusName>)]
    status: Option<String>,
    /// `true`: only test orders; `false`: only real ones (default: both).
    test: Option<bool>,
    /// Page size (default 50; below 1 counts as 1, above 500 as 500).
    #[param(minimum = -9_223_372_036_854_775_808_i64, maximum = 9_223_372_036_854_775_807_i64)]
    limit: Option<i64>,
    /// Rows to skip (below 0 counts as 0).
    #[param(minimum = -9_223_372_036_854_775_808_i64, maximum = 9_223_372_036_854_775_807_i64)]
    offset: Option<i64>,
}

/// List orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", operation_id = "list_orders", params(ListQuery),
    responses((status = 200, body = [OrderOut]), (status = 422, description = "a bad `email` or `status`")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
pub async fn list(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<OrderOut>>> {
    let filter = OrderFilter {
        email: q.email.as_deref().map(|e| doc::email("email", e)).transpose()?.map(|e| e.as_str().to_owned()),
        status: q.status.as_deref().map(|s| OrderStatus::parse("status", s)).transpose()?,
        test: q.test,
        limit: q.limit.unwrap_or(50).clamp(1, 500),
        offset: q.offset.unwrap_or(0).max(0),
    };
    let orders = db_orders::list(&state.db, &merchant, &filter).await?;
    Ok(Json(orders.into_iter().map(OrderOut::from).collect()))
}

/// Get an order with its frozen delivery, download counts, payment events and downloads.
#[utoipa::path(get, path = "/api/v1/orders/{id}", operation_id = "get_order", params(("id" = String, Path, description = "the order's id")),
    responses((status = 200, body = OrderDetailOut), (status = 404, description = "no such order")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, order_id = %id))]
pub async fn get(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<OrderDetailOut>> {
    let detail = db_orders::get(&state.db, &merchant, &id).await.map_err(Error::missing("order"))?;
    Ok(Json(detail_out(&state, &merchant, detail).await?))
}

/// Revoke access: the order's links answer 404 until restored.
#[utoipa::path(post, path = "/api/v1/orders/{id}/revoke", operation_id = "revoke_order", params(("id" = String, Path, description = "the order's id")),
    responses((status = 200, body = OrderDetailOut), (status = 404, description = "no such order")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, order_id = %id))]
pub async fn revoke(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<OrderDetailOut>> {
    crate::orders::revoke(&state, &merchant, &id).await?;
    get(State(state), ApiMerchant(merchant), Path(id)).await
}

/// Restore access to a revoked order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/restore", operation_id = "restore_order", params(("id" = String, Path, description = "the order's id")),
    responses((status = 200, body = OrderDetailOut), (status = 404, description = "no such order")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, order_id = %id))]
pub async fn restore(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<OrderDetailOut>> {
    crate::orders::restore(&state, &merchant, &id).await?;
    get(State(state), ApiMerchant(merchant), Path(id)).await
}

/// Send the purchase email again (same links) to the order's customer. At most 3 resends per
/// order per hour: a 4th is answered 429, so a stuck button cannot flood a customer's inbox.
#[utoipa::path(post, path = "/api/v1/orders/{id}/resend", operation_id = "resend_order_email", params(("id" = String, Path, description = "the order's id")),
    responses((status = 202, body = EmailOut, description = "queued"), (status = 404, description = "no such order"),
              (status = 409, description = "the order is revoked"),
              (status = 429, description = "resent too often",
               headers(("Retry-After" = i64, description = "seconds until a resend is allowed")))))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, order_id = %id))]
pub async fn resend(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Response> {
    match crate::orders::resend_purchase_email(&state, &merchant, &id).await? {
        Resent::Queued(email) => Ok((StatusCode::ACCEPTED, Json(EmailOut::from(*email))).into_response()),
        Resent::Limited { retry_after_seconds, message } => {
            let mut response = Error::TooManyRequests(message).into_response();
            crate::http::retry_after(&mut response, Duration::from_secs(retry_after_seconds.unsigned_abs()));
            Ok(response)
        }
    }
}

/// Query of `GET /api/v1/payment-events`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `unmatched` (default), `processed`, `refund`, or `all`; any other value matches nothing.
    status: Option<String>,
}

/// Payment events, by default those that matched no product or order.
#[utoipa::path(get, path = "/api/v1/payment-events", operation_id = "list_payment_events", params(EventsQuery),
    responses((status = 200, body = [EventOut])))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
pub async fn events(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<Vec<EventOut>>> {
    let status = match q.status.as_deref() {
        None => Some(PaymentEventStatus::Unmatched),
        Some("all") => None,
        // Any other word matches nothing, as the description says.
        Some(other) => match PaymentEventStatus::parse("status", other) {
            Ok(status) => Some(status),
            Err(_) => return Ok(Json(Vec::new())),
        },
    };
    let events = payment_events::events(&state.db, &merchant, status, 200).await?;
    Ok(Json(events.into_iter().map(EventOut::from).collect()))
}
