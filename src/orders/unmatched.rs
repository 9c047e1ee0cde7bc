//! Assigning a payment that matched no product (kept as an unmatched event) to one of the
//! merchant's products: the stored event becomes an order through the same path as a payment,
//! one order and one purchase email, once.

use super::payments::assign_event;
use super::{OrderError, Outcome, Payment};
use crate::db::merchants::Merchant;
use crate::db::{DbError, products};
use crate::domain::{Currency, Email, PaymentEventStatus};
use crate::payments::salvage::salvage;
use crate::state::AppState;

/// What the merchant chose for an unmatched payment.
#[derive(Debug, Clone, Copy)]
pub struct Assignment<'a> {
    /// The event's row id.
    pub event_row: &'a str,
    /// The product it was for.
    pub product_id: &'a str,
    /// The customer's email as typed; it wins over the payment's when not empty.
    pub typed_email: &'a str,
}

/// What assigning did.
#[derive(Debug)]
pub enum Assigned {
    /// The order it made.
    Created(String),
    /// The assignment cannot be made as chosen: the merchant can fix it and try again.
    Refused(AssignRefusal),
}

/// Why an assignment the merchant can correct was refused.
#[derive(Debug)]
pub enum AssignRefusal {
    /// The payment has no usable email and none was typed.
    NeedsEmail,
    /// The typed email is not an address.
    BadEmail,
    /// No such product of the merchant's.
    NoProduct,
    /// The payment still matches nothing (e.g. an absurd amount), with the reason.
    Unmatched(String),
}

/// Assigns the unmatched payment `choice.event_row` to a product. Refused outright when the
/// event was assigned already ([`OrderError::AlreadyAssigned`]), is not a payment
/// ([`OrderError::NotAPayment`]), or its payment already has an order
/// ([`OrderError::PaymentHasOrder`]).
#[tracing::instrument(skip_all, fields(merchant_id = %merchant.id, event_row = %choice.event_row))]
pub async fn assign_unmatched(
    state: &AppState,
    merchant: &Merchant,
    choice: Assignment<'_>,
) -> Result<Assigned, OrderError> {
    let event = crate::db::payment_events::event(&state.db, &merchant.id, choice.event_row)
        .await
        .map_err(OrderError::missing("payment"))?;
    if event.status != PaymentEventStatus::Unmatched {
        return Err(OrderError::AlreadyAssigned);
    }
    let found = salvage(event.provider, &event.payload);
    if !found.paid {
        return Err(OrderError::NotAPayment);
    }
    let typed = choice.typed_email.trim();
    let raw_email = if typed.is_empty() { found.customer_email.clone().unwrap_or_default() } else { typed.to_owned() };
    let Ok(email) = Email::parse("email", &raw_email) else {
        let why = if typed.is_empty() { AssignRefusal::NeedsEmail } else { AssignRefusal::BadEmail };
        return Ok(Assigned::Refused(why));
    };
    let product = match products::get(&state.db, &merchant.id, choice.product_id.trim()).await {
        Ok(product) => product,
        Err(DbError::NotFound) => return Ok(Assigned::Refused(AssignRefusal::NoProduct)),
        Err(e) => return Err(e.into()),
    };
    let currency = found
        .currency
        .as_deref()
        .and_then(|c| Currency::parse("currency", c).ok())
        .map_or_else(|| product.row.currency.clone(), |c| c.as_str().to_owned());
    // Refunds refer to the provider's payment id; a body without one is known by its event.
    let payment_id = found.payment_id.clone().unwrap_or_else(|| format!("event_{}", event.event_id));
    let payment = Payment {
        provider: event.provider,
        payment_id: &payment_id,
        customer_email: email.as_str(),
        customer_name: &found.customer_name,
        amount_minor: found.amount_minor.max(0),
        currency: &currency,
        items: vec![(product.row.id.clone(), 1)],
        test: found.test,
        event: None,
        idempotency: None,
    };
    match assign_event(state, merchant, &payment, &event.id).await? {
        Outcome::Created { order_id, .. } => Ok(Assigned::Created(order_id)),
        Outcome::Duplicate(None) => Err(OrderError::AlreadyAssigned),
        Outcome::Duplicate(Some(existing)) => Err(OrderError::PaymentHasOrder(existing)),
        Outcome::Unmatched(invalid) => Ok(Assigned::Refused(AssignRefusal::Unmatched(invalid.message))),
    }
}
