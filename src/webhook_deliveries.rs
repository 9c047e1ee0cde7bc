//! The webhook deliveries log: every delivery to a shop's endpoint, verified or refused, with
//! what it did, so a merchant can see whether their provider reaches Satchel; and the
//! dashboard's "Send test event", which signs a sample event with the shop's own secret and
//! delivers it to the shop's own endpoint over HTTP, like the provider would.
//!
//! Growth is bounded two ways. Refused deliveries are anyone's to send, so each shop logs at
//! most [`REFUSED_PER_MINUTE`] of them a minute in each process (counted in memory: a flood
//! costs no database write past that), and they land only in the log of the shop whose URL
//! they named. And the hourly sweep keeps each shop's newest [`KEEP_PER_SHOP`] deliveries of
//! the last [`KEEP_DAYS`] days.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::db::merchants::Merchant;
use crate::db::webhook_deliveries::{self, Delivery, NewDelivery};
use crate::db::{Db, DbError};
use crate::domain::{DeliveryOutcome, Millis, TEST_EVENT_TYPE, delivery_text, now_millis};
use crate::payments::{self, Provider};
use crate::state::AppState;

/// Deliveries kept per shop (the newest).
pub const KEEP_PER_SHOP: i64 = 1_000;
/// Days a delivery is kept.
pub const KEEP_DAYS: i64 = 30;
/// Refused deliveries one shop logs per minute, per process; the rest are answered 401 alike
/// but not logged (a warning says how many were left out).
pub const REFUSED_PER_MINUTE: u32 = 60;
/// Deliveries the dashboard lists.
pub const LISTED: i64 = 200;
/// How long "Send test event" waits for the shop's own endpoint.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How many refused deliveries each shop logged in the current minute, in this process.
#[derive(Debug, Default)]
pub struct RefusedBudget {
    minutes: Mutex<HashMap<String, (Millis, u32)>>,
}

impl RefusedBudget {
    /// Takes one from `merchant_id`'s budget for the minute of `now`: false when spent.
    fn take(&self, merchant_id: &str, now: Millis) -> bool {
        let minute = now / 60_000;
        let mut minutes = self.minutes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // One entry per shop that was sent refused deliveries; old minutes go when many pile up.
        if minutes.len() > 10_000 {
            minutes.retain(|_, (at, _)| *at == minute);
        }
        let (at, count) = minutes.entry(merchant_id.to_owned()).or_insert((minute, 0));
        if *at != minute {
            (*at, *count) = (minute, 0);
        }
        *count += 1;
        if *count == REFUSED_PER_MINUTE + 1 {
            tracing::warn!(
                merchant_id,
                "more than {REFUSED_PER_MINUTE} refused webhook deliveries this minute; not logging the rest"
            );
        }
        *count <= REFUSED_PER_MINUTE
    }
}

/// What a verified delivery did, for the log.
#[derive(Debug, Clone)]
pub struct Handled {
    /// The outcome.
    pub outcome: DeliveryOutcome,
    /// What an unmatched or ignored event lacked ("" otherwise).
    pub detail: String,
    /// The order it concerned.
    pub order_id: Option<String>,
}

impl Handled {
    /// An outcome with nothing more to say.
    pub fn just(outcome: DeliveryOutcome) -> Handled {
        Handled { outcome, detail: String::new(), order_id: None }
    }
}

/// Logs a verified delivery (one that made an order was logged with it already). A failure
/// to write is logged and swallowed: the event itself was handled, and answering an error
/// would only make the provider send it again.
pub async fn log_verified(
    state: &AppState,
    merchant: &Merchant,
    provider: Provider,
    event_type: Option<&str>,
    event_id: &str,
    handled: &Handled,
) {
    let detail = delivery_text(&handled.detail);
    let delivery = NewDelivery {
        merchant_id: &merchant.id,
        provider: provider.into(),
        received_at: now_millis(),
        event_type,
        event_id: Some(event_id),
        verified: true,
        outcome: handled.outcome,
        detail: &detail,
        order_id: handled.order_id.as_deref(),
    };
    write(&state.db, &delivery).await;
}

/// Logs a refused delivery to `merchant`'s endpoint, within the shop's budget.
pub async fn log_refused(state: &AppState, merchant: &Merchant, provider: Provider, body: &[u8], reason: &str) {
    let now = now_millis();
    if !state.refused_deliveries.take(&merchant.id, now) {
        return;
    }
    let event_type = crate::domain::event_type_of(body);
    let detail = delivery_text(reason);
    let delivery = NewDelivery {
        merchant_id: &merchant.id,
        provider: provider.into(),
        received_at: now,
        event_type: event_type.as_deref(),
        event_id: None,
        verified: false,
        outcome: DeliveryOutcome::Refused,
        detail: &detail,
        order_id: None,
    };
    write(&state.db, &delivery).await;
}

async fn write(db: &Db, delivery: &NewDelivery<'_>) {
    if let Err(e) = webhook_deliveries::insert(db, delivery).await {
        tracing::warn!(error = %e, merchant_id = delivery.merchant_id, "could not log a webhook delivery");
    }
}

/// The shop's newest deliveries, newest first (at most [`LISTED`]).
pub async fn recent(db: &Db, merchant_id: &str) -> Result<Vec<Delivery>, DbError> {
    webhook_deliveries::newest(db, merchant_id, LISTED).await
}

/// The Overview's line: the newest verified delivery, and the newest delivery of all when it
/// was refused after that (a secret that changed shows up here first).
#[derive(Debug, Clone, Default)]
pub struct LastEvent {
    /// The newest delivery that verified.
    pub verified: Option<Delivery>,
    /// The newest delivery, when it was refused.
    pub refused_since: Option<Delivery>,
}

/// See [`LastEvent`].
pub async fn last_event(db: &Db, merchant_id: &str) -> Result<LastEvent, DbError> {
    let verified = webhook_deliveries::last_verified(db, merchant_id).await?;
    let newest = webhook_deliveries::newest(db, merchant_id, 1).await?.into_iter().next();
    let refused_since = newest.filter(|d| !d.verified);
    Ok(LastEvent { verified, refused_since })
}

/// Deletes what the log no longer keeps; returns how many.
pub async fn trim(db: &Db) -> Result<u64, DbError> {
    webhook_deliveries::trim(db, KEEP_PER_SHOP, now_millis() - KEEP_DAYS * 24 * 3600 * 1000).await
}

/// Why a test event did not get through.
#[derive(Debug, thiserror::Error)]
pub enum TestEventError {
    /// The provider has no signing secret set (Stripe before one is pasted).
    #[error("set the {0} signing secret first")]
    NoSecret(&'static str),
    /// The shop's endpoint could not be reached at the server's public URL.
    #[error("could not reach {url}: {reason}")]
    Unreachable {
        /// Where it was sent.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The endpoint answered something other than 200.
    #[error("{url} answered {status}")]
    Refused {
        /// Where it was sent.
        url: String,
        /// The answer's status.
        status: u16,
    },
}

/// Signs a test event with `merchant`'s secret for `provider` and delivers it to the shop's
/// own endpoint at the server's public URL, where it is verified, acknowledged and logged as
/// "test event received" without touching orders.
pub async fn send_test_event(state: &AppState, merchant: &Merchant, provider: Provider) -> Result<(), TestEventError> {
    let id = format!("evt_test_{}", uuid::Uuid::now_v7().simple());
    let body = serde_json::json!({
        "id": id,
        "type": TEST_EVENT_TYPE,
        "data": {"object": {"message": "A test event sent from the Satchel dashboard."}},
    })
    .to_string();
    let now = now_millis() / 1000;
    let url = format!("{}/webhooks/{}/{}", state.public_url, merchant.slug, provider.as_str());
    let client = reqwest::Client::builder().timeout(TEST_TIMEOUT).build().map_err(|e| unreachable(&url, &e))?;
    let request = client.post(&url).header("content-type", "application/json");
    let request = match provider {
        Provider::Standard => {
            let signature = payments::standard::sign(&merchant.standard_webhook_secret, &id, now, body.as_bytes())
                .map_err(|_| TestEventError::NoSecret("Standard Webhooks"))?;
            request
                .header(payments::standard::ID_HEADER, &id)
                .header(payments::standard::TIMESTAMP_HEADER, now.to_string())
                .header(payments::standard::SIGNATURE_HEADER, signature)
        }
        Provider::Stripe => {
            let secret = merchant.stripe_webhook_secret.as_deref().ok_or(TestEventError::NoSecret("Stripe"))?;
            request.header(payments::stripe::SIGNATURE_HEADER, payments::stripe::sign(secret, now, body.as_bytes()))
        }
    };
    let answer = request.body(body).send().await.map_err(|e| unreachable(&url, &e))?;
    if answer.status() != reqwest::StatusCode::OK {
        return Err(TestEventError::Refused { url, status: answer.status().as_u16() });
    }
    Ok(())
}

fn unreachable(url: &str, e: &reqwest::Error) -> TestEventError {
    use std::error::Error as _;
    let reason = e.source().map_or_else(|| e.to_string(), |s| s.to_string());
    TestEventError::Unreachable { url: url.to_owned(), reason }
}
