//! `GET /dashboard/webhooks`: every delivery to the shop's webhook endpoints, newest first
//! (time, provider, event type, verified or why refused, what it did), and
//! `POST /dashboard/webhooks/test`, the "Send test event" button. Also the Overview's "last
//! event received" line ([`last_webhook`], shown by `templates/dashboard/_last_webhook.html`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::overview::NoticeQuery;
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::db::webhook_deliveries::Delivery;
use crate::db::{Db, DbError};
use crate::domain::{DeliveryOutcome, Millis, PaymentSource, now_millis};
use crate::http::pages::render;
use crate::payments::Provider;
use crate::state::AppState;
use crate::webhook_deliveries::{self as log, KEEP_DAYS, KEEP_PER_SHOP, LISTED, REFUSED_PER_MINUTE, TestEventError};

/// [`KEEP_PER_SHOP`] as the page writes it.
const KEEP_PER_SHOP_TEXT: &str = "1,000";
const _: () = assert!(KEEP_PER_SHOP == 1_000, "say the new number in KEEP_PER_SHOP_TEXT");

/// The Overview's line about webhooks: when the last verified event came, what it was, and
/// whether refused deliveries came after it.
#[derive(Debug, Clone)]
pub struct LastWebhook {
    /// "3 minutes ago (29 Nov 2026, 23:41 UTC)", or None when no event ever verified.
    pub when: Option<String>,
    /// Its provider and event type, e.g. "Stripe · checkout.session.completed".
    pub what: String,
    /// What it did.
    pub outcome: &'static str,
    /// Set when the newest delivery was refused after it: why.
    pub refused_since: Option<String>,
}

/// The [`LastWebhook`] line of a shop.
pub async fn last_webhook(db: &Db, merchant_id: &str) -> Result<LastWebhook, DbError> {
    let last = log::last_event(db, merchant_id).await?;
    let now = now_millis();
    Ok(LastWebhook {
        when: last
            .verified
            .as_ref()
            .map(|d| format!("{} ({})", ago(now, d.received_at), crate::domain::human_date_time(d.received_at))),
        what: last.verified.as_ref().map(what).unwrap_or_default(),
        outcome: last.verified.as_ref().map_or("", |d| d.outcome.describe()),
        refused_since: last.refused_since.map(|d| d.detail),
    })
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago".
fn ago(now: Millis, then: Millis) -> String {
    let seconds = (now - then).max(0) / 1000;
    let (n, unit) = match seconds {
        0..60 => return "just now".to_owned(),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

fn provider_name(provider: PaymentSource) -> &'static str {
    match provider {
        PaymentSource::Standard => "Standard Webhooks",
        PaymentSource::Stripe => "Stripe",
        PaymentSource::Api => "API",
        PaymentSource::Test => "Test checkout",
    }
}

fn what(d: &Delivery) -> String {
    let kind = d.event_type.as_deref().unwrap_or("unreadable body");
    format!("{} · {kind}", provider_name(d.provider))
}

struct Row {
    time: String,
    provider: &'static str,
    event_type: String,
    verified: bool,
    detail: String,
    outcome: &'static str,
    badge: &'static str,
    order_href: Option<String>,
}

fn row(d: Delivery) -> Row {
    let format =
        time::macros::format_description!("[day padding:none] [month repr:short] [year], [hour]:[minute]:[second]");
    let time = time::OffsetDateTime::from_unix_timestamp(d.received_at / 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default();
    Row {
        time,
        provider: provider_name(d.provider),
        event_type: d.event_type.unwrap_or_else(|| "—".to_owned()),
        verified: d.verified,
        outcome: d.outcome.describe(),
        badge: match d.outcome {
            DeliveryOutcome::OrderCreated | DeliveryOutcome::Refund | DeliveryOutcome::Test => "badge-ok",
            DeliveryOutcome::Unmatched => "badge-warn",
            DeliveryOutcome::Refused => "badge-bad",
            DeliveryOutcome::Duplicate | DeliveryOutcome::Ignored => "",
        },
        order_href: d.order_id.map(|id| format!("/dashboard/orders/{id}")),
        detail: d.detail,
    }
}

#[derive(Template)]
#[template(path = "dashboard/deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    rows: Vec<Row>,
    stripe_set: bool,
    error: String,
    listed: i64,
    keep: &'static str,
    days: i64,
    refused_per_minute: u32,
}

async fn page(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    notice: Option<&str>,
    error: String,
) -> PageResult {
    let rows = log::recent(&state.db, &user.merchant.id).await?.into_iter().map(row).collect();
    let mut chrome = Chrome::new(user, Section::Settings, notice);
    chrome.last_webhook = Some(last_webhook(&state.db, &user.merchant.id).await?);
    let view = DeliveriesPage {
        chrome,
        rows,
        stripe_set: user.merchant.stripe_webhook_secret.is_some(),
        error,
        listed: LISTED,
        keep: KEEP_PER_SHOP_TEXT,
        days: KEEP_DAYS,
        refused_per_minute: REFUSED_PER_MINUTE,
    };
    Ok(render(status, &view))
}

/// `GET /dashboard/webhooks`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn list(State(state): State<AppState>, user: SignedIn, Query(q): Query<NoticeQuery>) -> PageResult {
    page(&state, &user, StatusCode::OK, q.notice.as_deref(), String::new()).await
}

/// Which endpoint the test event goes to.
#[derive(Deserialize)]
pub struct TestForm {
    /// `standard` or `stripe`.
    #[serde(default)]
    provider: String,
}

/// `POST /dashboard/webhooks/test`: signs a test event with the shop's secret and delivers it
/// to the shop's own endpoint; it then shows in the list as "Test event received".
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn send_test(State(state): State<AppState>, Verified { user, form }: Verified<TestForm>) -> PageResult {
    let Some(provider) = Provider::parse(&form.provider) else {
        let error = "Choose Standard Webhooks or Stripe for the test event.".to_owned();
        return page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, None, error).await;
    };
    match log::send_test_event(&state, &user.merchant, provider).await {
        Ok(()) => Ok(Redirect::to("/dashboard/webhooks?notice=test-sent").into_response()),
        Err(e @ TestEventError::NoSecret(_)) => {
            let error = format!("No test event was sent: {e}, in Settings → Payment webhooks.");
            page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, None, error).await
        }
        Err(e) => {
            tracing::warn!(error = %e, "test webhook event did not get through");
            let error = format!(
                "The test event did not get through: {e}. Check that server.public_url is this server's \
                 address as your provider reaches it."
            );
            page(&state, &user, StatusCode::BAD_GATEWAY, None, error).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_speech() {
        let now = 10_000_000_000;
        assert_eq!(ago(now, now - 5_000), "just now");
        assert_eq!(ago(now, now - 60_000), "1 minute ago");
        assert_eq!(ago(now, now - 5 * 3_600_000), "5 hours ago");
        assert_eq!(ago(now, now - 2 * 86_400_000), "2 days ago");
        assert_eq!(ago(now, now + 5_000), "just now", "a clock a little ahead");
    }
}
