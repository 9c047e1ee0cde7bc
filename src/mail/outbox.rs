//! The outbox worker: claims due emails, renders each from its order, sends it, and records
//! the outcome; failures are retried with backoff until the configured give-up time.
//!
//! It is woken as soon as an order commits (so mail leaves within a second) and also polls
//! every few seconds, which picks up retries and emails left behind by a crashed process.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Notify, watch};

use super::message::{self, PurchaseView};
use super::transport::Transport;
use crate::app::AppState;
use crate::db::emails::{self, EmailRow};
use crate::db::{merchants, orders};
use crate::domain::{EmailKind, RetryPolicy, now_millis};

/// Emails claimed at once by one worker.
const BATCH: i64 = 32;

/// The outbox's handle in the app state: how to wake the worker, and where mail goes.
#[derive(Clone)]
pub struct Outbox {
    wake: Arc<Notify>,
    transport: Transport,
}

impl Outbox {
    /// An outbox sending through `transport`.
    pub fn new(transport: Transport) -> Outbox {
        Outbox { wake: Arc::new(Notify::new()), transport }
    }

    /// Tells the worker new mail is queued. Cheap; a wake-up while it is busy is remembered.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Where mail goes.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }
}

/// Runs the worker until `stop` turns true; the emails being sent when it does are finished.
pub fn spawn_worker(state: AppState, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mail = &state.config.mail;
        let poll = Duration::from_secs(mail.poll_seconds.max(1));
        tracing::info!(transport = %state.mail.transport.describe(), "mail worker started");
        loop {
            if *stop.borrow() {
                return;
            }
            let sent = match run_once(&state).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "mail worker could not read the outbox");
                    0
                }
            };
            // A full batch means more may be due right now.
            if sent as i64 >= BATCH {
                continue;
            }
            tokio::select! {
                () = state.mail.wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

/// Claims one batch of due emails and sends them; returns how many were claimed.
pub async fn run_once(state: &AppState) -> Result<usize, crate::db::DbError> {
    let lease_ms = state.config.mail.lease_seconds.max(1) as i64 * 1000;
    let claimed = emails::claim(&state.db, now_millis(), lease_ms, BATCH).await?;
    let count = claimed.len();
    futures_util::stream::iter(claimed)
        .for_each_concurrent(state.config.mail.concurrency.max(1), |email| deliver(state, email))
        .await;
    Ok(count)
}

/// Sends one claimed email and records what happened.
async fn deliver(state: &AppState, email: EmailRow) {
    let composed = if email.kind == EmailKind::SignIn.as_str() {
        super::sign_in::compose(state, &email).await
    } else {
        compose(state, &email).await.map(Some)
    };
    let (subject, result) = match composed {
        Ok(Some((subject, message))) => {
            let result = state.mail.transport.send(&email.id, &message).await;
            (subject, result)
        }
        Ok(None) => {
            // A sign-in code that expired (or was replaced) before it could be sent is of no use.
            let why = "the sign-in code expired before it could be sent";
            if let Err(e) = emails::mark_failed_attempt(&state.db, &email.id, "", why, None).await {
                tracing::error!(email = %email.id, error = %e, "could not record the outcome of an email");
            }
            return;
        }
        Err(e) => (String::new(), Err(e)),
    };
    let recorded = match result {
        Ok(()) => {
            tracing::info!(email = %email.id, order = %email.order_id, kind = %email.kind, attempts = email.attempts, "email sent");
            metrics::counter!(crate::telemetry::EMAILS_SENT, "kind" => email.kind.clone()).increment(1);
            emails::mark_sent(&state.db, &email.id, &subject).await
        }
        Err(error) => {
            let mail = &state.config.mail;
            let policy = RetryPolicy {
                base_ms: mail.retry_base_seconds as i64 * 1000,
                cap_ms: mail.retry_cap_seconds as i64 * 1000,
                give_up_after_ms: mail.give_up_after_seconds as i64 * 1000,
            };
            let next = policy.next_attempt(email.attempts, email.created_at, now_millis(), rand::random::<f64>());
            let outcome = if next.is_some() { "retrying" } else { "failed" };
            metrics::counter!(crate::telemetry::EMAIL_FAILURES, "outcome" => outcome).increment(1);
            match next {
                Some(at) => tracing::warn!(email = %email.id, attempts = email.attempts, error = %error,
                    retry_in_ms = at - now_millis(), "email not sent; will retry"),
                None => tracing::error!(email = %email.id, attempts = email.attempts, error = %error,
                    "email not sent; giving up"),
            }
            emails::mark_failed_attempt(&state.db, &email.id, &subject, &error, next).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the email is tried again: at worst a second copy, never none.
        tracing::error!(email = %email.id, error = %e, "could not record the outcome of an email");
    }
}

/// The host part of Message-IDs: the public URL's.
pub(crate) fn message_host(state: &AppState) -> String {
    url::Url::parse(&state.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "satchel.invalid".into())
}

/// Renders the email from its order as it is now (the frozen delivery) into a message.
async fn compose(state: &AppState, email: &EmailRow) -> Result<(String, lettre::Message), String> {
    let detail = orders::get(&state.db, &email.merchant_id, &email.order_id)
        .await
        .map_err(|e| format!("loading order {}: {e}", email.order_id))?;
    let merchant =
        merchants::get(&state.db, &email.merchant_id).await.map_err(|e| format!("loading the merchant: {e}"))?;
    let token = crate::fulfilment::token_of(&state.secrets.key(), &detail.order);
    let resend = email.kind == EmailKind::Resend.as_str();
    let view = PurchaseView::new(&merchant, &detail, &token, &state.public_url, resend);
    let from = message::sender(&merchant, &state.config.mail)?;
    let host = message_host(state);
    let message = message::build(&view, &email.id, from, &email.to_address, &detail.order.customer_name, &host)?;
    Ok((view.subject, message))
}
