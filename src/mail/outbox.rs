//! The outbox worker: claims due emails, renders each from its order, sends it, and records
//! the outcome; failures are retried with backoff until the configured give-up time.
//!
//! It is woken as soon as an order commits (so mail leaves within a second; on PostgreSQL,
//! whichever process took the order, through `LISTEN`/`NOTIFY`) and also polls every few
//! seconds, which picks up retries and emails left behind by a crashed process (one whose
//! heartbeat stopped, see [`crate::instances`]).
//!
//! One email can never stop it: an error or a panic while building or sending one email marks
//! that email `retrying` (or `failed`) with the reason, and the worker goes on. Should the
//! worker itself die all the same, a supervisor logs it and starts it again; `/readyz` and the
//! `satchel_mail_worker_up` gauge say whether it runs.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::{Notify, watch};

use super::MailError;
use super::message::{self, PurchaseView};
use super::transport::Transport;
use crate::db::emails::{self, EmailRow, SentEmail};
use crate::db::{merchants, orders};
use crate::domain::{EmailKind, EmailStatus, PaymentSource, RetryPolicy, now_millis};
use crate::state::AppState;
use crate::supervisor::{Watched, relay, supervise};

/// Emails claimed at once by one worker.
const BATCH: i64 = 32;
/// How long the worker, woken by a newly queued email, waits for more before claiming.
const GATHER: Duration = Duration::from_millis(20);
/// How often a worker-only process looks for due emails.
const WORKER_ONLY_POLL: Duration = Duration::from_secs(1);
/// How long the supervisor waits before starting a worker that died again.
const RESTART_PAUSE: Duration = Duration::from_secs(1);

/// The outbox's handle in the app state: how to wake the worker, and where mail goes.
#[derive(Clone)]
pub struct Outbox {
    wake: Arc<Notify>,
    transport: Transport,
    running: Arc<AtomicBool>,
}

impl Outbox {
    /// An outbox sending through `transport`.
    pub fn new(transport: Transport) -> Outbox {
        Outbox { wake: Arc::new(Notify::new()), transport, running: Arc::new(AtomicBool::new(false)) }
    }

    /// Tells the worker new mail is queued. Cheap; a wake-up while it is busy is remembered.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Where mail goes.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Whether the worker is running (false before it starts, after it stops, and for the
    /// moment between its dying and its restart).
    pub fn worker_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

/// Runs the worker, supervised, until `stop` turns true; the emails being sent when it does
/// are finished.
pub fn spawn_worker(state: AppState, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let running = state.mail.running.clone();
    // Up from now on, so a request answered before the task first runs sees it so.
    running.store(true, Ordering::SeqCst);
    let worker_stop = stop.clone();
    // On PostgreSQL, woken whenever any process queues an email (a web-only process has no
    // worker of its own to wake); the poll stays for when this is down.
    let listening = state.clone();
    let relay = tokio::spawn(relay("emails", stop.clone(), RESTART_PAUSE, move || {
        let state = listening.clone();
        async move { listen(&state).await }
    }));
    let watched = Watched {
        name: "mail",
        running,
        up_gauge: crate::telemetry::MAIL_WORKER_UP,
        restarts_counter: crate::telemetry::MAIL_WORKER_RESTARTS,
    };
    tokio::spawn(async move {
        supervise(watched, stop, RESTART_PAUSE, move || work(state.clone(), worker_stop.clone())).await;
        let _ = relay.await;
    })
}

/// Wakes the worker on each notification; returns at once on SQLite, else only on an error.
async fn listen(state: &AppState) -> Result<(), crate::db::DbError> {
    let Some(mut listener) = emails::listen_for_queued(&state.db).await? else { return Ok(()) };
    loop {
        listener.recv().await?;
        state.mail.wake();
    }
}

/// The worker: sends what is due, then waits for a wake-up, the poll interval or `stop`.
/// A worker-only process takes no orders: it is woken only through PostgreSQL, and polls
/// every second, which also bounds how long the takeover of a dead process's email waits.
async fn work(state: AppState, mut stop: watch::Receiver<bool>) {
    let poll = match state.instance.role() {
        crate::domain::Role::Worker => WORKER_ONLY_POLL,
        _ => Duration::from_secs(state.config.mail.poll_seconds.max(1)),
    };
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
            // Under load orders arrive many a millisecond: wait a moment for the ones queued
            // right after this one, so they are claimed and recorded as one batch (two writes
            // for the batch, not two per email).
            () = state.mail.wake.notified() => tokio::time::sleep(GATHER).await,
            () = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Claims one batch of due emails and sends them; returns how many were claimed. The sent ones
/// are recorded together once the batch is done (one write, see [`emails::mark_sent`]); a
/// failed one is recorded as it fails.
pub async fn run_once(state: &AppState) -> Result<usize, crate::db::DbError> {
    let lease_ms = state.config.mail.lease_seconds.max(1) as i64 * 1000;
    let now = now_millis();
    let alive_since = crate::domain::alive_since(now, state.instance.stale_after_ms());
    let mut claimed = emails::claim(&state.db, state.instance.id(), now, lease_ms, alive_since, BATCH).await?;
    // Update emails come second and throttled: however many wait, they take no room from the
    // purchase and sign-in emails claimed above.
    let per_minute = i64::try_from(state.config.mail.update_emails_per_minute).unwrap_or(i64::MAX);
    if per_minute > 0 {
        let updates = crate::db::update_emails::claim_throttled(
            &state.db,
            state.instance.id(),
            now,
            lease_ms,
            alive_since,
            BATCH,
            per_minute,
        )
        .await?;
        claimed.extend(updates);
    }
    let count = claimed.len();
    let sent: Vec<SentEmail> = futures_util::stream::iter(claimed)
        .map(|email| deliver(state, email))
        .buffer_unordered(state.config.mail.concurrency.max(1))
        .filter_map(std::future::ready)
        .collect()
        .await;
    match emails::mark_sent(&state.db, &sent).await {
        Ok(0) => {}
        Ok(_) => state.events_out.wake(),
        // The lease runs out and they are tried again: at worst a second copy, never none.
        Err(e) => tracing::error!(emails = sent.len(), error = %e, "could not record that emails were sent"),
    }
    Ok(count)
}

/// What became of one attempt at an email.
enum Attempt {
    /// Handed to SMTP or written to the mailbox, with this subject.
    Sent(String),
    /// A sign-in code or reset link that expired (or was replaced) before it could be sent:
    /// of no use.
    Expired,
    /// Not sent, and why.
    Failed { subject: String, error: MailError },
    /// An update email whose customer unsubscribed since it was queued: never sent.
    Unsubscribed,
}

/// Where a composed email goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// The configured transport.
    Transport,
    /// The file mailbox: a test purchase to someone other than the merchant, with SMTP on.
    KeepInMailbox,
}

/// Sends one claimed email; answers it when it was sent (to be recorded with its batch), and
/// records any other outcome at once. A panic on the way is that email's failure, not the
/// worker's.
#[tracing::instrument(skip_all, fields(email_id = %email.id, attempts = email.attempts))]
async fn deliver(state: &AppState, email: EmailRow) -> Option<SentEmail> {
    let attempt =
        guarded(attempt(state, &email)).await.unwrap_or_else(|error| Attempt::Failed { subject: String::new(), error });
    record(state, &email, attempt).await
}

/// Runs `work`, turning a panic inside it into an error that says what it was.
pub(crate) async fn guarded<T>(work: impl Future<Output = T>) -> Result<T, MailError> {
    AssertUnwindSafe(work).catch_unwind().await.map_err(|panic| {
        tracing::error!(panic = %panic_message(&*panic), "building or sending an email panicked");
        MailError::Panicked(panic_message(&*panic))
    })
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "a panic".to_owned(),
    }
}

async fn attempt(state: &AppState, email: &EmailRow) -> Attempt {
    let composed = match email.kind {
        EmailKind::SignIn => {
            super::sign_in::compose(state, email).await.map(|c| c.map(|(subject, m)| (subject, m, Route::Transport)))
        }
        EmailKind::PasswordReset => super::password_reset::compose(state, email)
            .await
            .map(|c| c.map(|(subject, m)| (subject, m, Route::Transport))),
        EmailKind::TeamInvite => super::team_invite::compose(state, email)
            .await
            .map(|c| c.map(|(subject, m)| (subject, m, Route::Transport))),
        EmailKind::EndpointDisabled => super::endpoint_disabled::compose(state, email)
            .await
            .map(|c| c.map(|(subject, m)| (subject, m, Route::Transport))),
        EmailKind::Purchase | EmailKind::Resend => compose(state, email).await.map(Some),
        EmailKind::ReleaseUpdate => match super::release_update::compose(state, email).await {
            Ok(super::release_update::Composed::Message(subject, message)) => {
                // A test order's update goes where its purchase email went.
                let provider = orders::get(&state.db, &email.merchant_id, &email.order_id)
                    .await
                    .map(|d| d.order.provider)
                    .unwrap_or(PaymentSource::Test);
                match route(state, email, provider).await {
                    Ok(route) => Ok(Some((subject, *message, route))),
                    Err(error) => Err(error),
                }
            }
            Ok(super::release_update::Composed::Unsubscribed) => return Attempt::Unsubscribed,
            Err(error) => Err(error),
        },
    };
    let (subject, message, route) = match composed {
        Ok(Some(composed)) => composed,
        Ok(None) => return Attempt::Expired,
        Err(error) => return Attempt::Failed { subject: String::new(), error },
    };
    let result = match route {
        Route::Transport => state.mail.transport.send(&email.id, &message).await,
        Route::KeepInMailbox => {
            tracing::info!(email = %email.id, "test purchase kept in the mailbox: test mode emails only the merchant's own addresses");
            Transport::Mailbox(super::Mailbox::new(state.config.mailbox_dir())).send(&email.id, &message).await
        }
    };
    match result {
        Ok(()) => Attempt::Sent(subject),
        Err(error) => Attempt::Failed { subject, error },
    }
}

/// Records the outcome of an attempt: given up, or to be retried with backoff; a sent email is
/// answered, to be recorded with its batch.
async fn record(state: &AppState, email: &EmailRow, attempt: Attempt) -> Option<SentEmail> {
    let recorded = match attempt {
        Attempt::Sent(subject) => {
            tracing::info!(email = %email.id, order = %email.order_id, kind = %email.kind, attempts = email.attempts, "email sent");
            metrics::counter!(crate::telemetry::EMAILS_SENT, "kind" => email.kind.as_str()).increment(1);
            return Some(SentEmail { id: email.id.clone(), subject });
        }
        Attempt::Unsubscribed => {
            tracing::info!(email = %email.id, order = %email.order_id, "update email not sent: the customer unsubscribed");
            crate::db::update_emails::mark_suppressed(&state.db, state.instance.id(), &email.id).await.map(|()| 0)
        }
        Attempt::Expired => {
            let why = match email.kind {
                EmailKind::PasswordReset => "the reset link was used or expired before it could be sent",
                EmailKind::TeamInvite => "the invite was cancelled, accepted or expired before it could be sent",
                EmailKind::EndpointDisabled => "the endpoints were enabled again before it could be sent",
                _ => "the sign-in code expired before it could be sent",
            };
            emails::mark_failed_attempt(&state.db, state.instance.id(), &email.id, "", why, None).await
        }
        Attempt::Failed { subject, error } => {
            let mail = &state.config.mail;
            let policy = RetryPolicy {
                base_ms: mail.retry_base_seconds as i64 * 1000,
                cap_ms: mail.retry_cap_seconds as i64 * 1000,
                give_up_after_ms: mail.give_up_after_seconds as i64 * 1000,
            };
            let next = policy.next_attempt(email.attempts, email.created_at, now_millis(), rand::random::<f64>());
            let outcome = if next.is_some() { EmailStatus::Retrying } else { EmailStatus::Failed }.as_str();
            metrics::counter!(crate::telemetry::EMAIL_FAILURES, "outcome" => outcome).increment(1);
            match next {
                Some(at) => tracing::warn!(email = %email.id, attempts = email.attempts, error = %error,
                    retry_in_ms = at - now_millis(), "email not sent; will retry"),
                None => tracing::error!(email = %email.id, attempts = email.attempts, error = %error,
                    "email not sent; giving up"),
            }
            emails::mark_failed_attempt(&state.db, state.instance.id(), &email.id, &subject, &error.to_string(), next)
                .await
        }
    };
    match recorded {
        Ok(0) => {}
        Ok(_) => state.events_out.wake(),
        // The lease runs out and the email is tried again: at worst a second copy, never none.
        Err(e) => tracing::error!(email = %email.id, error = %e, "could not record the outcome of an email"),
    }
    None
}

/// The host part of Message-IDs: the public URL's.
pub(crate) fn message_host(state: &AppState) -> String {
    url::Url::parse(&state.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "satchel.invalid".into())
}

/// Renders the email from its order as it is now (the frozen delivery) into a message, and
/// says where it goes.
async fn compose(state: &AppState, email: &EmailRow) -> Result<(String, lettre::Message, Route), MailError> {
    let detail = orders::get(&state.db, &email.merchant_id, &email.order_id)
        .await
        .map_err(MailError::load(format!("order {}", email.order_id)))?;
    let merchant = merchants::get(&state.db, &email.merchant_id).await.map_err(MailError::load("the merchant"))?;
    let token = crate::orders::token_of(&state.secrets.key(), &detail.order);
    let resend = email.kind == EmailKind::Resend;
    let view = PurchaseView::new(&merchant, &detail, &token, &state.public_url, resend);
    let from = message::sender(&merchant, &state.config.mail, &state.public_url)?;
    let host = message_host(state);
    let message = message::build(&view, &email.id, from, &email.to_address, &detail.order.customer_name, &host)?;
    let route = route(state, email, detail.order.provider).await?;
    Ok((view.subject, message, route))
}

/// A test purchase goes out by SMTP only to the merchant's own sign-in addresses (as Stripe's
/// test mode does): the test checkout must not mail strangers. The rest is kept in the mailbox,
/// which the dashboard's Mailbox page shows.
async fn route(state: &AppState, email: &EmailRow, provider: PaymentSource) -> Result<Route, MailError> {
    if provider != PaymentSource::Test || !matches!(state.mail.transport, Transport::Smtp { .. }) {
        return Ok(Route::Transport);
    }
    let own = merchants::user_emails(&state.db, &email.merchant_id)
        .await
        .map_err(MailError::load("the merchant's addresses"))?;
    let to = email.to_address.trim().to_lowercase();
    Ok(if own.iter().any(|a| a.eq_ignore_ascii_case(&to)) { Route::Transport } else { Route::KeepInMailbox })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_the_emails_error() {
        assert_eq!(guarded(async { 7 }).await.unwrap(), 7);
        let error = guarded::<u8>(async { panic!("writing `Mailboxes` returned an error") }).await.unwrap_err();
        let error = error.to_string();
        assert!(error.contains("failed unexpectedly: writing `Mailboxes` returned an error"), "{error}");
        let owned = guarded::<u8>(async { panic!("{}", String::from("owned")) }).await.unwrap_err().to_string();
        assert!(owned.ends_with("owned"), "{owned}");
    }
}
