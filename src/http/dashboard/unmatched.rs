//! Payments that matched no product, shown under the order list, and
//! `POST /dashboard/unmatched/{id}/assign`: the merchant names the product (and the customer's
//! email when the payment carried none), and the stored event becomes an order through the
//! same path as a payment: one order, one purchase email, once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::orders::{ListQuery, order_ref, provider_name, render_list, when};
use super::{PageError, PageResult, SignedIn, Verified};
use crate::db::payment_events::{self, PaymentEventRow};
use crate::db::{DbError, products};
use crate::domain::{Email, PaymentEventStatus, human_price};
use crate::http::Error;
use crate::http::pages::render;
use crate::orders::{self, AssignRefusal, Assigned, Assignment, OrderError};
use crate::payments::salvage::{Salvaged, salvage};
use crate::state::AppState;

/// Unmatched payments listed at most (newest first); more is a sign of a setup problem that
/// the first hundred already show.
const LISTED: i64 = 100;

/// A payment event that made no order, as the merchant sees it.
pub struct UnmatchedPayment {
    /// Row id.
    pub id: String,
    /// `/dashboard/unmatched/{id}/assign`.
    pub action: String,
    /// When it arrived.
    pub received: String,
    /// Provider, spelled out.
    pub provider: &'static str,
    /// The provider's event id.
    pub event_id: String,
    /// Why it matched nothing.
    pub reason: String,
    /// The customer's email, when the payment carried a usable one.
    pub email: Option<String>,
    /// The customer's name.
    pub name: String,
    /// Amount paid.
    pub amount: String,
    /// The product references the provider sent.
    pub product_refs: String,
    /// Whether it reports a payment (refunds of unknown payments are shown, not assigned).
    pub assignable: bool,
    /// Why the last assignment was refused.
    pub error: Option<String>,
    /// The email the merchant typed, kept after a refusal.
    pub typed_email: String,
}

/// A refused assignment, shown next to its payment.
pub struct AssignError {
    /// Row id of the event.
    pub event: String,
    /// What the merchant typed.
    pub email: String,
    /// What to do about it.
    pub message: String,
}

fn usable_email(found: &Salvaged) -> Option<String> {
    found.customer_email.as_deref().and_then(|e| Email::parse("email", e).ok()).map(|e| e.as_str().to_owned())
}

fn view(event: PaymentEventRow, error: Option<&AssignError>) -> UnmatchedPayment {
    let found = salvage(event.provider, &event.payload);
    let error = error.filter(|e| e.event == event.id);
    UnmatchedPayment {
        action: format!("/dashboard/unmatched/{}/assign", event.id),
        received: when(event.received_at),
        provider: provider_name(event.provider),
        reason: event.detail,
        email: usable_email(&found),
        amount: found
            .currency
            .as_deref()
            .map(|c| human_price(found.amount_minor, &c.to_uppercase()))
            .unwrap_or_default(),
        product_refs: found.product_refs.join(", "),
        assignable: found.paid,
        typed_email: error.map(|e| e.email.clone()).unwrap_or_default(),
        error: error.map(|e| e.message.clone()),
        name: found.customer_name.into_string(),
        event_id: event.event_id,
        id: event.id,
    }
}

/// The unmatched payments and the products they can be assigned to (id, name).
pub(super) async fn for_list(
    state: &AppState,
    merchant_id: &str,
    error: Option<AssignError>,
) -> Result<(Vec<UnmatchedPayment>, Vec<(String, String)>), DbError> {
    let events = payment_events::events(&state.db, merchant_id, Some(PaymentEventStatus::Unmatched), LISTED).await?;
    if events.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let products = products::list(&state.db, merchant_id, false).await?;
    Ok((
        events.into_iter().map(|e| view(e, error.as_ref())).collect(),
        products.into_iter().map(|p| (p.row.id, p.row.name)).collect(),
    ))
}

/// The assignment form.
#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    product_id: String,
    /// The customer's email, when the payment carried no usable one (it wins when given).
    #[serde(default)]
    email: String,
}

/// `POST /dashboard/unmatched/{id}/assign`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, event_row = %id))]
pub async fn assign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Verified { user, form }: Verified<AssignForm>,
) -> PageResult {
    let choice = Assignment { event_row: &id, product_id: &form.product_id, typed_email: &form.email };
    let why = match orders::assign_unmatched(&state, &user.merchant, choice).await {
        Ok(Assigned::Created(order_id)) => {
            return Ok(Redirect::to(&format!("/dashboard/orders/{order_id}?notice=assigned")).into_response());
        }
        Ok(Assigned::Refused(why)) => why,
        Err(OrderError::PaymentHasOrder(existing)) => {
            return Err(PageError::from(Error::conflict(
                "payment_has_order",
                format!("This payment already has an order ({}): there is nothing to assign.", order_ref(&existing)),
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let message = match why {
        AssignRefusal::NeedsEmail => {
            "This payment has no usable email address: type the customer's email to send their files to.".to_owned()
        }
        AssignRefusal::BadEmail => "Type an email address like ada@example.com.".to_owned(),
        AssignRefusal::NoProduct => "Choose the product this payment was for.".to_owned(),
        AssignRefusal::Unmatched(message) => message,
    };
    refused(&state, &user, AssignError { event: id.clone(), email: form.email.trim().to_owned(), message }).await
}

/// The orders page again (422), with the reason next to the payment's form.
async fn refused(state: &AppState, user: &SignedIn, error: AssignError) -> PageResult {
    let page = render_list(state, user, ListQuery::default(), Some(error)).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
