//! Turning a payment into an order, exactly once: match the products, freeze their delivery,
//! mint the order's link, queue the purchase email and wake the outbox. Shared by webhooks,
//! the orders API, the test checkout and the dashboard's "assign to a product".

use super::{OrderError, OrderEvent, emit};
use crate::db::merchants::Merchant;
use crate::db::orders::{self, Created, EventRecord, NewItem, NewOrder};
use crate::db::{Db, DbError, payment_events, products};
use crate::domain::{
    CustomerName, DownloadToken, Email, Invalid, PaymentEventStatus, PaymentSource, has_something_to_deliver,
};
use crate::state::AppState;

/// A successful payment, whatever reported it.
#[derive(Debug, Clone)]
pub struct Payment<'a> {
    /// How it was paid.
    pub provider: PaymentSource,
    /// The provider's payment id.
    pub payment_id: &'a str,
    /// Customer email as sent.
    pub customer_email: &'a str,
    /// Customer name: refused at the API and forms when unusable, cleaned when a provider sent it.
    pub customer_name: &'a CustomerName,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Currency as sent.
    pub currency: &'a str,
    /// (product reference, quantity): a Satchel product id or the provider's external id.
    pub items: Vec<(String, u32)>,
    /// A test payment (the test checkout, or a provider's test mode): kept apart from real
    /// sales, its emails marked as tests.
    pub test: bool,
    /// The webhook event, when there is one.
    pub event: Option<EventRecord<'a>>,
    /// `Idempotency-Key` and request hash, for the API.
    pub idempotency: Option<(&'a str, &'a str)>,
}

/// What became of a payment.
#[derive(Debug)]
pub enum Outcome {
    /// A new order; the token is what goes into the customer's links.
    Created {
        /// Order id.
        order_id: String,
        /// The download token.
        token: DownloadToken,
    },
    /// Seen before: nothing changed.
    Duplicate(Option<String>),
    /// Kept as an "unmatched" event for the merchant, with the reason.
    Unmatched(Invalid),
}

/// Records a payment as an order (rule 7: once, however often it is reported). A payment that
/// names an unknown product or carries no usable email is not dropped: with an event it is
/// stored as unmatched, visible to the merchant; without one the caller gets the reason.
/// A new order's purchase email is queued and the outbox woken here.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant.id, provider = %payment.provider))]
pub async fn record_payment(
    state: &AppState,
    merchant: &Merchant,
    payment: &Payment<'_>,
) -> Result<Outcome, OrderError> {
    record(state, merchant, payment, None).await
}

/// Makes the order of an unmatched payment event the merchant assigned to a product: the same
/// path as a payment (one order, one purchase email), claiming the event (its row id
/// `event_row`) in the order's transaction, so an event is assigned once. A second assignment
/// is [`Outcome::Duplicate`]`(None)`; a payment that already has an order is `Duplicate(Some)`.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant.id, event_row = %event_row))]
pub async fn assign_event(
    state: &AppState,
    merchant: &Merchant,
    payment: &Payment<'_>,
    event_row: &str,
) -> Result<Outcome, OrderError> {
    record(state, merchant, payment, Some(event_row)).await
}

/// Keeps a signed webhook whose body could not be read as an unmatched event, so the merchant
/// sees it (the provider is answered 200 and stops retrying).
#[tracing::instrument(skip_all, fields(merchant_id = %merchant.id, provider = %provider))]
pub async fn keep_unreadable(
    state: &AppState,
    merchant: &Merchant,
    provider: PaymentSource,
    event_id: &str,
    reason: &str,
    payload: &str,
) -> Result<(), OrderError> {
    tracing::warn!(merchant = %merchant.slug, reason, "signed webhook kept as unmatched");
    let record = EventRecord { event_id, event_type: "unreadable", payload, sent_type: None };
    let unmatched = PaymentEventStatus::Unmatched;
    let first_time =
        payment_events::record_event(&state.db, &merchant.id, provider, record, None, unmatched, reason).await?;
    if first_time {
        emit(OrderEvent::Unmatched { merchant_id: merchant.id.clone(), event_id: Some(event_id.to_owned()) });
    }
    Ok(())
}

async fn record(
    state: &AppState,
    merchant: &Merchant,
    payment: &Payment<'_>,
    assigns_event: Option<&str>,
) -> Result<Outcome, OrderError> {
    let db = &state.db;
    let matched = match match_payment(db, merchant, payment).await? {
        Ok(matched) => matched,
        Err(invalid) => {
            if let Some(event) = payment.event {
                let detail = invalid.to_string();
                tracing::warn!(merchant = %merchant.slug, payment = %payment.payment_id, reason = %invalid, "payment kept as unmatched");
                let first_time = payment_events::record_event(
                    db,
                    &merchant.id,
                    payment.provider,
                    event,
                    Some(payment.payment_id),
                    PaymentEventStatus::Unmatched,
                    &detail,
                )
                .await?;
                if first_time {
                    let event_id = Some(event.event_id.to_owned());
                    emit(OrderEvent::Unmatched { merchant_id: merchant.id.clone(), event_id });
                }
            }
            metrics::counter!(crate::telemetry::PAYMENTS_UNMATCHED).increment(1);
            return Ok(Outcome::Unmatched(invalid));
        }
    };
    let (email, items) = matched;
    let salt = DownloadToken::new_salt();
    let token = DownloadToken::derive(&state.secrets.key(), &salt);
    let token_hash = token.hash();
    let currency = payment.currency.trim().to_ascii_uppercase();
    let new = NewOrder {
        merchant_id: &merchant.id,
        provider: payment.provider,
        payment_id: payment.payment_id,
        test: payment.test,
        event: payment.event,
        customer_email: &email,
        customer_name: payment.customer_name.as_str(),
        amount_minor: payment.amount_minor,
        currency: &currency,
        items,
        policy: merchant.download_policy(),
        token_salt: &salt,
        token_hash: token_hash.as_str(),
        idempotency: payment.idempotency,
        assigns_event,
        revoke_on_refund: merchant.revoke_on_refund,
    };
    Ok(match orders::create(db, &new).await? {
        Created::New { order_id, refunded } => {
            tracing::info!(merchant = %merchant.slug, order = %order_id, provider = %payment.provider, "order created");
            metrics::counter!(crate::telemetry::ORDERS_CREATED, "provider" => payment.provider.as_str()).increment(1);
            emit(OrderEvent::Created { merchant_id: merchant.id.clone(), order_id: order_id.clone() });
            // A refund that came first was applied with the order (nothing cached it yet).
            if refunded {
                emit(OrderEvent::Refunded { merchant_id: merchant.id.clone(), order_id: order_id.clone() });
            }
            // The purchase email was queued with the order: the outbox sends it now.
            state.mail.wake();
            // And its events: the delivery worker sends them now.
            state.events_out.wake();
            Outcome::Created { order_id, token }
        }
        Created::Duplicate(existing) => Outcome::Duplicate(existing),
    })
}

type Matched = (Email, Vec<NewItem>);

async fn match_payment(
    db: &Db,
    merchant: &Merchant,
    payment: &Payment<'_>,
) -> Result<Result<Matched, Invalid>, DbError> {
    let email = match Email::parse("customer.email", payment.customer_email) {
        Ok(email) => email,
        Err(invalid) => return Ok(Err(invalid)),
    };
    if payment.items.is_empty() {
        return Ok(Err(Invalid::new("items", "the payment names no product")));
    }
    // An absurd amount is kept for the merchant to see, never stored as an order to be summed.
    if let Err(invalid) = crate::domain::check_amount("amount_minor", payment.amount_minor) {
        return Ok(Err(invalid));
    }
    let mut items = Vec::with_capacity(payment.items.len());
    for (reference, quantity) in &payment.items {
        match products::resolve(db, &merchant.id, payment.provider.as_str(), reference).await? {
            // A draft would make an order that delivers nothing: kept for the merchant instead,
            // who can assign it once the product has files or a link.
            Some(product) if !has_something_to_deliver(product.delivery_mode) => {
                return Ok(Err(nothing_to_deliver(&product.name, &product.id)));
            }
            Some(product) => items.push(NewItem { product_id: product.id, quantity: i64::from((*quantity).max(1)) }),
            None => return Ok(Err(Invalid::new("items", format!("no product matches {reference}")))),
        }
    }
    Ok(Ok((email, items)))
}

/// Why a payment for a draft product made no order, naming the product.
pub fn nothing_to_deliver(name: &str, id: &str) -> Invalid {
    Invalid::new(
        "items",
        format!("product \"{name}\" ({id}) has nothing to deliver: add files or a link to put it on sale"),
    )
}

/// The link token of an existing order (for emails and the merchant's "copy link").
pub fn token_of(server_key: &[u8], order: &orders::Order) -> DownloadToken {
    DownloadToken::derive(server_key, &order.token_salt)
}
