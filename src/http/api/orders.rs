//! `/api/v1/orders`: orders for merchants who confirm payments themselves, the order list and
//! detail (frozen delivery, download counts, events), revoke and restore, unmatched events.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::doc::{self, CurrencyCode, CustomerNameText, EmailAddress, IdempotencyKey, OrderStatusName, ReferenceText};
use super::time::rfc3339;
use super::whole;
use crate::app::AppState;
use crate::db::emails::{self as db_emails, EmailRow};
use crate::db::merchants;
use crate::db::orders::{self as db_orders, Order, OrderDetail, OrderFilter};
use crate::db::payment_events::{self, PaymentEventRow};
use crate::domain::{EmailStatus, Invalid, OrderStatus, PaymentEventStatus, PaymentSource, SecretHash};
use crate::fulfilment::{self, Outcome, Payment};
use crate::http::{ApiMerchant, ApiQuery, Error, Result};

/// An order in a list.
#[derive(Serialize, ToSchema)]
pub struct OrderOut {
    id: String,
    /// `paid`, `refunded` or `revoked`.
    status: String,
    customer_email: String,
    customer_name: String,
    provider: String,
    payment_id: String,
    amount_minor: i64,
    currency: String,
    created_at: String,
    refunded_at: Option<String>,
    revoked_at: Option<String>,
    /// When the email link stops working (null: never).
    link_expires_at: Option<String>,
    /// Downloads allowed per file through the email link (null: unlimited).
    max_downloads_per_file: Option<i64>,
}

/// An order with its frozen delivery, download counts and events.
#[derive(Serialize, ToSchema)]
pub struct OrderDetailOut {
    #[serde(flatten)]
    order: OrderOut,
    /// The customer's delivery page (`/d/{token}`).
    delivery_url: String,
    items: Vec<ItemOut>,
    files: Vec<FileOut>,
    payment_events: Vec<EventOut>,
    downloads: Vec<DownloadOut>,
    /// The order's emails (the purchase email, then any resends), oldest first.
    emails: Vec<EmailOut>,
}

/// An email of an order and where it stands.
#[derive(Serialize, ToSchema)]
pub struct EmailOut {
    id: String,
    /// `purchase` or `resend`.
    kind: String,
    to: String,
    /// Empty until the first attempt renders it.
    subject: String,
    /// `queued`, `sending`, `sent`, `retrying` or `failed`.
    status: String,
    /// Attempts made so far.
    attempts: i64,
    /// Why the last failed attempt failed (kept after a later success).
    last_error: Option<String>,
    /// When the next attempt is due, while queued or retrying.
    next_attempt_at: Option<String>,
    sent_at: Option<String>,
    created_at: String,
}

impl From<EmailRow> for EmailOut {
    fn from(e: EmailRow) -> EmailOut {
        let pending = matches!(e.status, EmailStatus::Queued | EmailStatus::Retrying);
        EmailOut {
            id: e.id,
            kind: e.kind.to_string(),
            to: e.to_address,
            subject: e.subject,
            status: e.status.to_string(),
            attempts: e.attempts,
            last_error: e.last_error,
            next_attempt_at: pending.then(|| rfc3339(e.next_attempt_at)),
            sent_at: e.sent_at.map(rfc3339),
            created_at: rfc3339(e.created_at),
        }
    }
}

/// A product as frozen into the order.
#[derive(Serialize, ToSchema)]
pub struct ItemOut {
    position: i64,
    product_id: String,
    product_name: String,
    quantity: i64,
    delivery_mode: String,
    external_url: Option<String>,
    instructions: String,
    link_clicks: i64,
}

/// A file as frozen into the order.
#[derive(Serialize, ToSchema)]
#[schema(as = OrderFile)]
pub struct FileOut {
    /// `/d/{token}/files/{position}`.
    position: i64,
    item_position: i64,
    file_id: String,
    display_name: String,
    size: i64,
    content_type: String,
    sha256: String,
    download_count: i64,
}

/// A payment event.
#[derive(Serialize, ToSchema)]
pub struct EventOut {
    id: String,
    provider: String,
    event_id: String,
    event_type: String,
    payment_id: Option<String>,
    /// `processed`, `refund`, `unmatched`.
    status: String,
    detail: String,
    order_id: Option<String>,
    received_at: String,
    /// The event body as received.
    payload: String,
}

/// A download attempt.
#[derive(Serialize, ToSchema)]
pub struct DownloadOut {
    file_position: Option<i64>,
    item_position: Option<i64>,
    at: String,
    ip: String,
    user_agent: String,
    status: i64,
    range_start: Option<i64>,
    bytes_requested: i64,
    counted: bool,
}

impl From<Order> for OrderOut {
    fn from(o: Order) -> OrderOut {
        OrderOut {
            id: o.id,
            status: o.status.to_string(),
            customer_email: o.customer_email,
            customer_name: o.customer_name,
            provider: o.provider.to_string(),
            payment_id: o.payment_id,
            amount_minor: o.amount_minor,
            currency: o.currency,
            created_at: rfc3339(o.created_at),
            refunded_at: o.refunded_at.map(rfc3339),
            revoked_at: o.revoked_at.map(rfc3339),
            link_expires_at: o.link_expires_at.map(rfc3339),
            max_downloads_per_file: o.max_downloads_per_file,
        }
    }
}

impl From<PaymentEventRow> for EventOut {
    fn from(e: PaymentEventRow) -> EventOut {
        EventOut {
            id: e.id,
            provider: e.provider.to_string(),
            event_id: e.event_id,
            event_type: e.event_type,
            payment_id: e.payment_id,
            status: e.status.to_string(),
            detail: e.detail,
            order_id: e.order_id,
            received_at: rfc3339(e.received_at),
            payload: e.payload,
        }
    }
}

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
pub async fn list(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<OrderOut>>> {
    let filter = OrderFilter {
        email: q.email.as_deref().map(|e| doc::email("email", e)).transpose()?.map(|e| e.as_str().to_owned()),
        status: q.status.as_deref().map(|s| OrderStatus::parse("status", s)).transpose()?,
        limit: q.limit.unwrap_or(50).clamp(1, 500),
        offset: q.offset.unwrap_or(0).max(0),
    };
    let orders = db_orders::list(&state.db, &merchant, &filter).await?;
    Ok(Json(orders.into_iter().map(OrderOut::from).collect()))
}

async fn detail_out(state: &AppState, merchant: &str, detail: OrderDetail) -> Result<OrderDetailOut> {
    let token = fulfilment::token_of(&state.secrets.key(), &detail.order);
    let events = payment_events::events_of_order(&state.db, merchant, &detail.order.id).await?;
    let downloads = crate::db::downloads::of_order(&state.db, &detail.order.id, 100).await?;
    let emails = db_emails::of_order(&state.db, &detail.order.id).await?;
    Ok(OrderDetailOut {
        emails: emails.into_iter().map(EmailOut::from).collect(),
        delivery_url: format!("{}/d/{}", state.public_url, token.expose()),
        items: detail
            .items
            .into_iter()
            .map(|i| ItemOut {
                position: i.position,
                product_id: i.product_id,
                product_name: i.product_name,
                quantity: i.quantity,
                delivery_mode: i.delivery_mode.to_string(),
                external_url: i.external_url,
                instructions: i.instructions,
                link_clicks: i.link_clicks,
            })
            .collect(),
        files: detail
            .files
            .into_iter()
            .map(|f| FileOut {
                position: f.position,
                item_position: f.item_position,
                file_id: f.blob_id,
                display_name: f.display_name,
                size: f.size,
                content_type: f.content_type,
                sha256: f.sha256,
                download_count: f.download_count,
            })
            .collect(),
        payment_events: events.into_iter().map(EventOut::from).collect(),
        downloads: downloads
            .into_iter()
            .map(|d| DownloadOut {
                file_position: d.file_position,
                item_position: d.item_position,
                at: rfc3339(d.at),
                ip: d.ip,
                user_agent: d.user_agent,
                status: d.status,
                range_start: d.range_start,
                bytes_requested: d.bytes_requested,
                counted: d.counted,
            })
            .collect(),
        order: detail.order.into(),
    })
}

/// Get an order with its frozen delivery, download counts, payment events and downloads.
#[utoipa::path(get, path = "/api/v1/orders/{id}", operation_id = "get_order", params(("id" = String, Path, description = "the order's id")),
    responses((status = 200, body = OrderDetailOut), (status = 404, description = "no such order")))]
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
pub async fn revoke(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<OrderDetailOut>> {
    set_access(&state, &merchant, &id, false).await?;
    get(State(state), ApiMerchant(merchant), Path(id)).await
}

/// Restore access to a revoked order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/restore", operation_id = "restore_order", params(("id" = String, Path, description = "the order's id")),
    responses((status = 200, body = OrderDetailOut), (status = 404, description = "no such order")))]
pub async fn restore(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<OrderDetailOut>> {
    set_access(&state, &merchant, &id, true).await?;
    get(State(state), ApiMerchant(merchant), Path(id)).await
}

/// Revokes (`allowed` false) or restores access to one of `merchant`'s orders: its links
/// answer 404 at once in this process (the order cache is emptied), within seconds in others.
pub(crate) async fn set_access(state: &AppState, merchant: &str, id: &str, allowed: bool) -> Result<()> {
    db_orders::set_revoked(&state.db, merchant, id, !allowed).await.map_err(Error::missing("order"))?;
    state.order_cache.forget_all();
    Ok(())
}

/// Resends allowed per order within [`RESEND_WINDOW_MS`].
pub const RESEND_LIMIT: i64 = 3;
/// The window of [`RESEND_LIMIT`]: one hour.
pub const RESEND_WINDOW_MS: i64 = 3_600_000;

/// Send the purchase email again (same links) to the order's customer. At most 3 resends per
/// order per hour: a 4th is answered 429, so a stuck button cannot flood a customer's inbox.
#[utoipa::path(post, path = "/api/v1/orders/{id}/resend", operation_id = "resend_order_email", params(("id" = String, Path, description = "the order's id")),
    responses((status = 202, body = EmailOut, description = "queued"), (status = 404, description = "no such order"),
              (status = 409, description = "the order is revoked"),
              (status = 429, description = "resent too often",
               headers(("Retry-After" = i64, description = "seconds until a resend is allowed")))))]
pub async fn resend(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Response> {
    match queue_resend(&state, &merchant, &id).await? {
        Resent::Queued(email) => Ok((StatusCode::ACCEPTED, Json(EmailOut::from(*email))).into_response()),
        Resent::Limited { retry_after_seconds, message } => {
            let mut response = Error::TooManyRequests(message).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            Ok(response)
        }
    }
}

/// What asking for a resend did.
pub(crate) enum Resent {
    /// Queued: the new email.
    Queued(Box<EmailRow>),
    /// Resent too often lately: when to try again, and a sentence saying so.
    Limited {
        /// Seconds until another resend is allowed.
        retry_after_seconds: i64,
        /// What to tell the merchant.
        message: String,
    },
}

/// Queues another copy of an order's purchase email (the API's and the dashboard's "resend").
/// A revoked order is refused (409); past [`RESEND_LIMIT`] an hour the answer is
/// [`Resent::Limited`], so a stuck button cannot flood a customer's inbox.
pub(crate) async fn queue_resend(state: &AppState, merchant: &str, id: &str) -> Result<Resent> {
    let detail = db_orders::get(&state.db, merchant, id).await.map_err(Error::missing("order"))?;
    if detail.order.status == OrderStatus::Revoked {
        return Err(Error::conflict("order_revoked", "this order is revoked: restore it before resending its links"));
    }
    match db_emails::resend(&state.db, merchant, id, RESEND_LIMIT, RESEND_WINDOW_MS)
        .await
        .map_err(Error::missing("order"))?
    {
        db_emails::Resend::Queued(email) => {
            state.mail.wake();
            Ok(Resent::Queued(email))
        }
        db_emails::Resend::Limited { retry_at } => {
            let seconds = ((retry_at - crate::domain::now_millis()) / 1000).max(1);
            let minutes = (seconds + 59) / 60;
            let message = format!(
                "this order's email was already resent {RESEND_LIMIT} times in the last hour; \
                 try again in {minutes} minute{}",
                if minutes == 1 { "" } else { "s" }
            );
            Ok(Resent::Limited { retry_after_seconds: seconds, message })
        }
    }
}

/// Body of `POST /api/v1/orders`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    customer: CustomerIn,
    #[schema(min_items = 1)]
    items: Vec<ItemIn>,
    /// Your payment id; unique per merchant (a repeat is answered with the existing order).
    #[schema(value_type = Option<ReferenceText>)]
    payment_id: Option<String>,
    /// Amount paid in minor units (default 0).
    #[serde(default, deserialize_with = "whole::whole")]
    #[schema(minimum = 0, maximum = 999_999_999_999_i64)]
    amount_minor: i64,
    /// Default `USD`.
    #[serde(default = "default_currency")]
    #[schema(value_type = CurrencyCode)]
    currency: String,
}

fn default_currency() -> String {
    "USD".into()
}

/// The buyer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerIn {
    #[schema(value_type = EmailAddress)]
    email: String,
    #[serde(default)]
    #[schema(value_type = CustomerNameText)]
    name: String,
}

/// A product bought.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemIn {
    /// The product's id, or its external id at `api`.
    product_id: String,
    /// How many were bought (default 1).
    #[serde(default = "one", deserialize_with = "whole::whole")]
    #[schema(minimum = 1, maximum = 10_000)]
    quantity: u32,
}

fn one() -> u32 {
    1
}

/// The most of one product an order may list: a quantity is shown to the customer and the
/// merchant, never multiplied into an amount, so any bound is generous; this one is plain.
pub const MAX_QUANTITY: u32 = 10_000;

impl CreateOrder {
    /// Checks what serde cannot: the email as the description states it, each item's quantity
    /// 1 to [`MAX_QUANTITY`]. Runs before any
    /// lookup, so a refused body is never answered with an earlier order.
    fn check(&self) -> Result<(), Invalid> {
        doc::email("customer.email", &self.customer.email)?;
        for (i, item) in self.items.iter().enumerate() {
            if !(1..=MAX_QUANTITY).contains(&item.quantity) {
                let message = format!("items[{i}].quantity must be 1 to {MAX_QUANTITY}, not {}", item.quantity);
                return Err(Invalid::new("items", message));
            }
        }
        Ok(())
    }
}

/// Record a paid order (for payments confirmed in your own backend). Send an
/// `Idempotency-Key` header to make retries safe: the same key and body give the same order
/// (200); the same key with another body is refused (409).
#[utoipa::path(post, path = "/api/v1/orders", operation_id = "create_order", request_body = CreateOrder,
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "makes retries safe")),
    responses((status = 201, body = OrderDetailOut), (status = 200, body = OrderDetailOut, description = "a retry"),
              (status = 409, description = "Idempotency-Key reused with another body, or the payment id with \
                another body"),
              (status = 422, description = "a field is invalid, or no product matches an item")))]
pub async fn create(
    State(state): State<AppState>,
    ApiMerchant(merchant_id): ApiMerchant,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<OrderDetailOut>)> {
    let order: CreateOrder = serde_json::from_slice(&body).map_err(|e| Error::InvalidBody(e.to_string()))?;
    order.check()?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => {
            let key = value.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= 255);
            Some(key.ok_or_else(|| Invalid::new("Idempotency-Key", "must be 1 to 255 visible characters"))?.to_owned())
        }
    };
    let request_hash = SecretHash::of(&String::from_utf8_lossy(&body));
    if let Some(key) = &key
        && let Some((hash, order_id)) = db_orders::idempotency(&state.db, &merchant_id, key).await?
    {
        if hash != request_hash.as_str() {
            return Err(Error::conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different body",
            ));
        }
        return replay(&state, &merchant_id, &order_id).await;
    }
    let payment_id = match (&order.payment_id, &key) {
        (Some(id), _) => id.trim().to_owned(),
        (None, Some(key)) => format!("idem_{}", SecretHash::of(key).as_str()),
        (None, None) => format!("api_{}", crate::db::new_id()),
    };
    if payment_id.is_empty() || payment_id.len() > 255 {
        return Err(Invalid::new("payment_id", "must be 1 to 255 characters").into());
    }
    let currency = crate::domain::Currency::parse("currency", &order.currency)?;
    crate::domain::check_amount("amount_minor", order.amount_minor)?;
    let customer_name = crate::domain::CustomerName::parse("customer.name", &order.customer.name)?;
    let merchant = merchants::get(&state.db, &merchant_id).await?;
    let payment = Payment {
        provider: PaymentSource::Api,
        payment_id: &payment_id,
        customer_email: &order.customer.email,
        customer_name: &customer_name,
        amount_minor: order.amount_minor,
        currency: currency.as_str(),
        items: order.items.iter().map(|i| (i.product_id.clone(), i.quantity)).collect(),
        event: None,
        idempotency: key.as_deref().map(|k| (k, request_hash.as_str())),
    };
    match fulfilment::record_payment(&state.db, &state.secrets.key(), &merchant, &payment).await? {
        Outcome::Created { order_id, .. } => {
            state.mail.wake();
            let detail = db_orders::get(&state.db, &merchant_id, &order_id).await?;
            Ok((StatusCode::CREATED, Json(detail_out(&state, &merchant_id, detail).await?)))
        }
        Outcome::Duplicate(Some(order_id)) => {
            // Same payment id, or a concurrent request with the same key won the race.
            if let Some(key) = &key
                && let Some((hash, _)) = db_orders::idempotency(&state.db, &merchant_id, key).await?
                && hash != request_hash.as_str()
            {
                return Err(Error::conflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different body",
                ));
            }
            replay(&state, &merchant_id, &order_id).await
        }
        Outcome::Duplicate(None) => Err(Error::conflict("duplicate", "this payment was already recorded")),
        Outcome::Unmatched(invalid) => Err(invalid.into()),
    }
}

/// Answers a retried creation with the order it made the first time.
async fn replay(state: &AppState, merchant_id: &str, order_id: &str) -> Result<(StatusCode, Json<OrderDetailOut>)> {
    let detail = db_orders::get(&state.db, merchant_id, order_id).await?;
    Ok((StatusCode::OK, Json(detail_out(state, merchant_id, detail).await?)))
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
pub async fn events(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<Vec<EventOut>>> {
    let status = match q.status.as_deref() {
        None => Some(PaymentEventStatus::Unmatched),
        Some("all") => None,
        Some(other) => match PaymentEventStatus::parse("status", other) {
            Ok(status) => Some(status),
            Err(_) => return Ok(Json(Vec::new())),
        },
    };
    let events = payment_events::events(&state.db, &merchant, status, 200).await?;
    Ok(Json(events.into_iter().map(EventOut::from).collect()))
}
