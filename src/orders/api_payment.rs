//! A payment the merchant confirmed in their own backend (`POST /api/v1/orders`): the same
//! path as any payment, made safe to retry with an `Idempotency-Key`.

use super::{OrderError, Outcome, Payment, record_payment};
use crate::db::{merchants, orders};
use crate::domain::{Currency, CustomerName, Invalid, PaymentSource, SecretHash};
use crate::state::AppState;

/// An order as the merchant's backend reports it (the body already checked for shape, the
/// email and the quantities).
pub struct ApiOrder<'a> {
    /// The merchant's id.
    pub merchant_id: &'a str,
    /// The `Idempotency-Key`, already checked (1 to 255 visible characters).
    pub idempotency_key: Option<&'a str>,
    /// The hash of the request body, to tell a retry from a reuse of the key.
    pub request_hash: &'a SecretHash,
    /// The merchant's payment id, when given.
    pub payment_id: Option<&'a str>,
    /// Customer email as sent.
    pub customer_email: &'a str,
    /// Customer name as sent.
    pub customer_name: &'a str,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Currency as sent.
    pub currency: &'a str,
    /// (product id or external id at `api`, quantity).
    pub items: Vec<(String, u32)>,
}

/// What recording an API order did.
#[derive(Debug)]
pub enum ApiRecorded {
    /// A new order.
    Created(String),
    /// A retry (same key and body, or same payment id): the order made the first time.
    Replayed(String),
}

/// Records an order reported through the API. The same `Idempotency-Key` and body give the
/// same order; the same key with another body is [`OrderError::IdempotencyKeyReused`].
#[tracing::instrument(skip_all, fields(merchant_id = order.merchant_id))]
pub async fn record_api_order(state: &AppState, order: &ApiOrder<'_>) -> Result<ApiRecorded, OrderError> {
    let key = order.idempotency_key;
    let request_hash = order.request_hash.as_str();
    if let Some(order_id) = earlier(state, order.merchant_id, key, request_hash).await? {
        return Ok(ApiRecorded::Replayed(order_id));
    }
    let payment_id = match (order.payment_id, key) {
        (Some(id), _) => id.trim().to_owned(),
        (None, Some(key)) => format!("idem_{}", SecretHash::of(key).as_str()),
        (None, None) => format!("api_{}", crate::db::new_id()),
    };
    if payment_id.is_empty() || payment_id.len() > 255 {
        return Err(Invalid::new("payment_id", "must be 1 to 255 characters").into());
    }
    let currency = Currency::parse("currency", order.currency)?;
    crate::domain::check_amount("amount_minor", order.amount_minor)?;
    let customer_name = CustomerName::parse("customer.name", order.customer_name)?;
    let merchant = merchants::get(&state.db, order.merchant_id).await?;
    let payment = Payment {
        provider: PaymentSource::Api,
        payment_id: &payment_id,
        customer_email: order.customer_email,
        customer_name: &customer_name,
        amount_minor: order.amount_minor,
        currency: currency.as_str(),
        items: order.items.clone(),
        // Orders recorded through the API are real sales; test orders come from the test
        // checkout or a provider's test mode.
        test: false,
        event: None,
        idempotency: key.map(|k| (k, request_hash)),
    };
    match record_payment(state, &merchant, &payment).await? {
        Outcome::Created { order_id, .. } => Ok(ApiRecorded::Created(order_id)),
        Outcome::Duplicate(Some(order_id)) => {
            // Same payment id, or a concurrent request with the same key won the race.
            if let Some(key) = key
                && let Some((hash, _)) = orders::idempotency(&state.db, order.merchant_id, key).await?
                && hash != request_hash
            {
                return Err(OrderError::IdempotencyKeyReused);
            }
            Ok(ApiRecorded::Replayed(order_id))
        }
        Outcome::Duplicate(None) => Err(OrderError::AlreadyRecorded),
        Outcome::Unmatched(invalid) => Err(invalid.into()),
    }
}

/// The order an earlier request with this key made, if the body is the same.
async fn earlier(
    state: &AppState,
    merchant_id: &str,
    key: Option<&str>,
    request_hash: &str,
) -> Result<Option<String>, OrderError> {
    let Some(key) = key else { return Ok(None) };
    match orders::idempotency(&state.db, merchant_id, key).await? {
        Some((hash, _)) if hash != request_hash => Err(OrderError::IdempotencyKeyReused),
        Some((_, order_id)) => Ok(Some(order_id)),
        None => Ok(None),
    }
}
