//! `POST /api/v1/orders`: an order for a payment the merchant confirmed in their own backend.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::super::doc::{self, CurrencyCode, CustomerNameText, EmailAddress, IdempotencyKey, ReferenceText};
use super::super::whole;
use super::shapes::{OrderDetailOut, detail_out};
use crate::db::orders as db_orders;
use crate::domain::{Invalid, SecretHash};
use crate::http::{ApiMerchant, Error, Result};
use crate::orders::{ApiOrder, ApiRecorded, record_api_order};
use crate::state::AppState;

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
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
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
    let recorded = record_api_order(
        &state,
        &ApiOrder {
            merchant_id: &merchant_id,
            idempotency_key: key.as_deref(),
            request_hash: &request_hash,
            payment_id: order.payment_id.as_deref(),
            customer_email: &order.customer.email,
            customer_name: &order.customer.name,
            amount_minor: order.amount_minor,
            currency: &order.currency,
            items: order.items.iter().map(|i| (i.product_id.clone(), i.quantity)).collect(),
        },
    )
    .await?;
    let (status, order_id) = match recorded {
        ApiRecorded::Created(order_id) => (StatusCode::CREATED, order_id),
        ApiRecorded::Replayed(order_id) => (StatusCode::OK, order_id),
    };
    let detail = db_orders::get(&state.db, &merchant_id, &order_id).await?;
    Ok((status, Json(detail_out(&state, &merchant_id, detail).await?)))
}
