//! `POST /webhooks/{merchant}/{provider}`: signed payment events from Standard Webhooks
//! senders (Dodo Payments) and Stripe. This file verifies and parses; what an event does to
//! orders is `crate::orders`'s.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::db::DbError;
use crate::db::merchants::{self, Merchant};
use crate::db::orders::EventRecord;
use crate::db::shop_profile;
use crate::domain::{DeliveryOutcome, TEST_EVENT_TYPE, event_type_of};
use crate::orders::{self, OrderError, Outcome, Payment};
use crate::payments::{self, EventKind, HeaderLookup, PaymentEvent, Provider, WebhookError};
use crate::state::AppState;
use crate::webhook_deliveries::{self, Handled};

/// The request's headers as the payment module reads them.
pub(crate) struct Headers<'a>(pub(crate) &'a HeaderMap);

impl HeaderLookup for Headers<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why a webhook was not taken: a plain-text answer for the provider (its dashboards show the
/// body), or an internal failure answered like any other (so the provider retries).
pub enum Refusal {
    /// 404: the provider in the path is not one Satchel speaks.
    UnknownProvider,
    /// 404: no merchant has this slug or id.
    UnknownMerchant,
    /// 401: the merchant has not set this provider's signing secret.
    NoSecret,
    /// 401: the signature does not verify.
    BadSignature,
    /// 500 (or what the service error maps to).
    Failed(crate::http::Error),
}

impl From<OrderError> for Refusal {
    fn from(e: OrderError) -> Refusal {
        Refusal::Failed(e.into())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Refusal::UnknownProvider => (StatusCode::NOT_FOUND, "unknown provider; use standard or stripe"),
            Refusal::UnknownMerchant => (StatusCode::NOT_FOUND, "unknown merchant"),
            Refusal::NoSecret => (StatusCode::UNAUTHORIZED, "no signing secret is configured for this provider"),
            Refusal::BadSignature => (StatusCode::UNAUTHORIZED, "signature verification failed"),
            Refusal::Failed(e) => return e.into_response(),
        };
        (status, text).into_response()
    }
}

/// Verifies, then records the event, and logs the delivery with what it did (refused ones
/// too, within the shop's budget: see [`crate::webhook_deliveries`]). Bad signatures get 401;
/// everything verified answers 200 once stored, so the provider stops retrying.
#[tracing::instrument(skip_all, fields(merchant_slug = %merchant, provider = %provider))]
pub async fn receive(
    State(state): State<AppState>,
    Path((merchant, provider)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, &'static str), Refusal> {
    let provider = Provider::parse(&provider).ok_or(Refusal::UnknownProvider)?;
    let merchant = merchants::find(&state.db, &merchant).await.map_err(|e| match e {
        DbError::NotFound => Refusal::UnknownMerchant,
        e => Refusal::Failed(e.into()),
    })?;
    let secret = match provider {
        Provider::Standard => Some(merchant.standard_webhook_secret.as_str()),
        Provider::Stripe => merchant.stripe_webhook_secret.as_deref(),
    };
    let Some(secret) = secret else {
        tracing::warn!(merchant = %merchant.slug, "stripe webhook refused: no Stripe signing secret is set");
        let reason = "no Stripe signing secret is set in Settings";
        webhook_deliveries::log_refused(&state, &merchant, provider, &body, reason).await;
        return Err(Refusal::NoSecret);
    };
    let now = crate::domain::now_millis() / 1000;
    let payload = String::from_utf8_lossy(&body);
    let mut verified = payments::verify_then_parse(provider, secret, &Headers(&headers), &body, now);
    if matches!(verified, Err(WebhookError::BadSignature)) {
        // Within a day of a rotation, the secret before it still verifies.
        let previous = shop_profile::previous_secret(&state.db, &merchant.id, provider.as_str(), now * 1000).await;
        if let Ok(Some((previous, _))) = previous {
            let again = payments::verify_then_parse(provider, &previous, &Headers(&headers), &body, now);
            if again.is_ok() {
                verified = again;
            }
        }
    }
    match verified {
        Ok(Ok(event)) => {
            let sent_type = event_type_of(&body);
            let handled = handle(&state, &merchant, provider, &event, sent_type.as_deref(), &payload).await?;
            // A delivery that made an order was logged in the order's transaction.
            if handled.outcome != DeliveryOutcome::OrderCreated {
                let event_id = &event.event_id;
                webhook_deliveries::log_verified(&state, &merchant, provider, sent_type.as_deref(), event_id, &handled)
                    .await;
            }
        }
        Ok(Err(unreadable)) => {
            let (event_id, reason) = (&unreadable.event_id, &unreadable.reason);
            orders::keep_unreadable(&state, &merchant, provider.into(), event_id, reason, &payload).await?;
            let handled = Handled { outcome: DeliveryOutcome::Unmatched, detail: reason.clone(), order_id: None };
            let sent_type = event_type_of(&body);
            webhook_deliveries::log_verified(&state, &merchant, provider, sent_type.as_deref(), event_id, &handled)
                .await;
        }
        Err(e) => {
            tracing::warn!(merchant = %merchant.slug, provider = provider.as_str(), error = %e, "webhook refused");
            webhook_deliveries::log_refused(&state, &merchant, provider, &body, &e.to_string()).await;
            return Err(Refusal::BadSignature);
        }
    }
    Ok((StatusCode::OK, "ok"))
}

/// Hands a verified event to the order service it concerns; says what it did.
async fn handle(
    state: &AppState,
    merchant: &Merchant,
    provider: Provider,
    event: &PaymentEvent,
    sent_type: Option<&str>,
    payload: &str,
) -> Result<Handled, OrderError> {
    let event_id = event.event_id.as_str();
    Ok(match &event.kind {
        EventKind::PaymentSucceeded(paid) => {
            let record = EventRecord { event_id, event_type: "payment.succeeded", payload, sent_type };
            let payment = Payment {
                provider: provider.into(),
                payment_id: &paid.payment_id,
                customer_email: &paid.customer_email,
                customer_name: &paid.customer_name,
                amount_minor: paid.amount_minor,
                currency: &paid.currency,
                items: paid.items.iter().map(|i| (i.product_ref.clone(), i.quantity)).collect(),
                test: paid.test,
                event: Some(record),
                idempotency: None,
            };
            match orders::record_payment(state, merchant, &payment).await? {
                Outcome::Created { order_id, .. } => {
                    Handled { outcome: DeliveryOutcome::OrderCreated, detail: String::new(), order_id: Some(order_id) }
                }
                Outcome::Duplicate(order_id) => {
                    Handled { outcome: DeliveryOutcome::Duplicate, detail: String::new(), order_id }
                }
                Outcome::Unmatched(why) => {
                    Handled { outcome: DeliveryOutcome::Unmatched, detail: why.to_string(), order_id: None }
                }
            }
        }
        EventKind::Refunded { payment_id } => {
            let record = EventRecord { event_id, event_type: "refund.succeeded", payload, sent_type };
            let outcome = orders::refund_payment(state, merchant, provider.into(), payment_id, record).await?;
            Handled::just(outcome)
        }
        EventKind::Other { event_type } if event_type == TEST_EVENT_TYPE => Handled::just(DeliveryOutcome::Test),
        EventKind::Other { event_type } => {
            tracing::debug!(merchant = %merchant.slug, event_type, "webhook event ignored");
            let detail = "Satchel does not act on this event type".to_owned();
            Handled { outcome: DeliveryOutcome::Ignored, detail, order_id: None }
        }
    })
}
