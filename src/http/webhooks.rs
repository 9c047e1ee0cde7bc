//! `POST /webhooks/{merchant}/{provider}`: signed payment events from Standard Webhooks
//! senders (Dodo Payments) and Stripe.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::db::merchants::{self, Merchant};
use crate::db::orders::{self, EventRecord};
use crate::db::payment_events;
use crate::domain::PaymentEventStatus;
use crate::fulfilment::{self, Outcome, Payment};
use crate::payments::{self, EventKind, HeaderLookup, PaymentEvent, Provider};

/// The request's headers as the payment module reads them.
pub(crate) struct Headers<'a>(pub(crate) &'a HeaderMap);

impl HeaderLookup for Headers<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

/// Verifies, then records the event. Bad signatures get 401 and leave nothing but a log
/// line; everything verified answers 200 once stored, so the provider stops retrying.
pub async fn receive(
    State(state): State<AppState>,
    Path((merchant, provider)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(provider) = Provider::parse(&provider) else {
        return plain(StatusCode::NOT_FOUND, "unknown provider; use standard or stripe");
    };
    let merchant = match merchants::find(&state.db, &merchant).await {
        Ok(m) => m,
        Err(crate::db::DbError::NotFound) => return plain(StatusCode::NOT_FOUND, "unknown merchant"),
        Err(e) => return crate::http::Error::from(e).into_response(),
    };
    let secret = match provider {
        Provider::Standard => Some(merchant.standard_webhook_secret.as_str()),
        Provider::Stripe => merchant.stripe_webhook_secret.as_deref(),
    };
    let Some(secret) = secret else {
        tracing::warn!(merchant = %merchant.slug, "stripe webhook refused: no Stripe signing secret is set");
        return plain(StatusCode::UNAUTHORIZED, "no signing secret is configured for this provider");
    };
    let now = crate::domain::now_millis() / 1000;
    let event = match payments::verify_then_parse(provider, secret, &Headers(&headers), &body, now) {
        Ok(Ok(event)) => event,
        Ok(Err(unreadable)) => {
            tracing::warn!(merchant = %merchant.slug, reason = %unreadable.reason, "signed webhook kept as unmatched");
            let payload = String::from_utf8_lossy(&body);
            let record = EventRecord { event_id: &unreadable.event_id, event_type: "unreadable", payload: &payload };
            let stored = payment_events::record_event(
                &state.db,
                &merchant.id,
                provider.into(),
                record,
                None,
                PaymentEventStatus::Unmatched,
                &unreadable.reason,
            )
            .await;
            return match stored {
                Ok(_) => plain(StatusCode::OK, "ok"),
                Err(e) => crate::http::Error::from(e).into_response(),
            };
        }
        Err(e) => {
            tracing::warn!(merchant = %merchant.slug, provider = provider.as_str(), error = %e, "webhook refused");
            return plain(StatusCode::UNAUTHORIZED, "signature verification failed");
        }
    };
    match handle(&state, &merchant, provider, event, &body).await {
        Ok(()) => plain(StatusCode::OK, "ok"),
        Err(e) => crate::http::Error::from(e).into_response(),
    }
}

async fn handle(
    state: &AppState,
    merchant: &Merchant,
    provider: Provider,
    event: PaymentEvent,
    body: &[u8],
) -> Result<(), crate::db::DbError> {
    let payload = String::from_utf8_lossy(body);
    match event.kind {
        EventKind::PaymentSucceeded(paid) => {
            let record = EventRecord { event_id: &event.event_id, event_type: "payment.succeeded", payload: &payload };
            let payment = Payment {
                provider: provider.into(),
                payment_id: &paid.payment_id,
                customer_email: &paid.customer_email,
                customer_name: &paid.customer_name,
                amount_minor: paid.amount_minor,
                currency: &paid.currency,
                items: paid.items.iter().map(|i| (i.product_ref.clone(), i.quantity)).collect(),
                event: Some(record),
                idempotency: None,
            };
            match fulfilment::record_payment(&state.db, &state.secrets.key(), merchant, &payment).await? {
                Outcome::Unmatched(why) => {
                    tracing::warn!(merchant = %merchant.slug, payment = %paid.payment_id, reason = %why, "payment kept as unmatched");
                }
                Outcome::Created { .. } => state.mail.wake(),
                Outcome::Duplicate(_) => {}
            }
        }
        EventKind::Refunded { payment_id } => {
            let record = EventRecord { event_id: &event.event_id, event_type: "refund.succeeded", payload: &payload };
            let order = orders::by_payment(&state.db, &merchant.id, provider.into(), &payment_id).await?;
            let (status, detail) = match &order {
                Some(_) => (PaymentEventStatus::Refund, String::new()),
                None => (PaymentEventStatus::Unmatched, format!("no order has payment id {payment_id}")),
            };
            // The event is stored first: a retried refund must not revoke again an order the
            // merchant has restored since.
            let first_time = payment_events::record_event(
                &state.db,
                &merchant.id,
                provider.into(),
                record,
                Some(&payment_id),
                status,
                &detail,
            )
            .await?;
            if first_time && order.is_some() {
                orders::refund(&state.db, &merchant.id, provider.into(), &payment_id, merchant.revoke_on_refund)
                    .await?;
                state.order_cache.forget_all();
            }
        }
        EventKind::Other { event_type } => {
            tracing::debug!(merchant = %merchant.slug, event_type, "webhook event ignored");
        }
    }
    Ok(())
}
