//! The delivery worker: claims due events from the outbox (`event_deliveries`), signs each in
//! the Standard Webhooks format with its endpoint's secret, POSTs it through the guarded client,
//! and records the attempt: delivered on a 2xx, otherwise tried again with growing delays for
//! about three days (see [`crate::domain::next_delivery_attempt`]), then failed.
//!
//! Like the email outbox it is woken when an operation that queues events commits (in this
//! process directly; on PostgreSQL in any process, through `LISTEN`/`NOTIFY`), and polls every
//! second besides, which picks up retries, events queued by other
//! processes and deliveries whose lease ran out (a crashed process). A claim takes a lease, so
//! two workers never send the same attempt; a worker that outlives its lease records nothing.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::{Notify, watch};

use crate::db::event_outbox::{self, AttemptRecord, ClaimedDelivery, Delivered, Target};
use crate::domain::{Millis, next_delivery_attempt, now_millis, response_excerpt};
use crate::payments::standard;
use crate::state::AppState;
use crate::supervisor::{Watched, relay, supervise};

/// Deliveries claimed at once by one worker.
const BATCH: i64 = 64;
/// How long a claim is this worker's beyond the client's whole-request timeout, so a lease
/// never runs out while its attempt is still being sent.
const LEASE_MARGIN: Duration = Duration::from_secs(45);
/// How often the worker looks for due deliveries when nothing wakes it.
const POLL: Duration = Duration::from_secs(1);
/// How long the worker, woken by a newly queued event, waits for more before claiming.
const GATHER: Duration = Duration::from_millis(20);
/// How long the supervisor waits before starting a worker that died again (and the relay
/// before listening again).
const RESTART_PAUSE: Duration = Duration::from_secs(1);

/// The worker's handle in the app state: how to wake it, and the client it sends with.
#[derive(Clone)]
pub struct EventsOut {
    wake: Arc<Notify>,
    client: reqwest::Client,
    running: Arc<AtomicBool>,
}

impl EventsOut {
    /// A handle sending with the guarded client, as `[webhooks_out]` configures it.
    pub fn new(config: &crate::config::WebhooksOutConfig) -> reqwest::Result<EventsOut> {
        let total = Duration::from_millis(config.timeout_milliseconds.max(1));
        Ok(EventsOut {
            wake: Arc::new(Notify::new()),
            client: super::client(config.allow_private, total)?,
            running: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Whether the worker is running (false before it starts, after it stops, and for the
    /// moment between its dying and its restart).
    pub fn worker_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Tells the worker new events are queued. Cheap; a wake-up while it is busy is remembered.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Runs the worker, supervised (started again should it die outside one delivery), until
/// `stop` turns true; the deliveries being sent when it does are finished and recorded.
pub fn spawn_worker(state: AppState, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let running = state.events_out.running.clone();
    // Up from now on, so a request answered before the task first runs sees it so.
    running.store(true, Ordering::SeqCst);
    // On PostgreSQL, woken whenever any process queues deliveries (a web-only process has no
    // worker of its own to wake); the poll stays for when this is down.
    let listening = state.clone();
    let relay = tokio::spawn(relay("events", stop.clone(), RESTART_PAUSE, move || {
        let state = listening.clone();
        async move { listen(&state).await }
    }));
    let watched = Watched {
        name: "events-out",
        running,
        up_gauge: crate::telemetry::EVENTS_WORKER_UP,
        restarts_counter: crate::telemetry::EVENTS_WORKER_RESTARTS,
    };
    let worker_stop = stop.clone();
    tokio::spawn(async move {
        supervise(watched, stop, RESTART_PAUSE, move || work(state.clone(), worker_stop.clone())).await;
        let _ = relay.await;
    })
}

/// Wakes the worker on each notification; returns at once on SQLite, else only on an error.
async fn listen(state: &AppState) -> Result<(), crate::db::DbError> {
    let Some(mut listener) = event_outbox::listen_for_queued(&state.db).await? else { return Ok(()) };
    loop {
        listener.recv().await?;
        state.events_out.wake();
    }
}

async fn work(state: AppState, mut stop: watch::Receiver<bool>) {
    tracing::info!("events-out worker started");
    loop {
        if *stop.borrow() {
            return;
        }
        let (claimed, soonest_retry) = match run_once(&state).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = %e, "events-out worker could not read the outbox");
                (0, None)
            }
        };
        // A full batch means more may be due right now.
        if claimed as i64 >= BATCH {
            continue;
        }
        // A retry this worker scheduled sooner than the next poll is not left waiting for it.
        let wait = soonest_retry
            .map(|at| Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0).max(1)).min(POLL))
            .unwrap_or(POLL);
        tokio::select! {
            () = state.events_out.wake.notified() => tokio::time::sleep(GATHER).await,
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Claims one batch of due deliveries and sends them; returns how many were claimed and the
/// soonest retry it scheduled.
pub async fn run_once(state: &AppState) -> Result<(usize, Option<Millis>), crate::db::DbError> {
    let timeout_ms = i64::try_from(state.config.webhooks_out.timeout_milliseconds).unwrap_or(i64::MAX / 4);
    let lease_ms = timeout_ms.saturating_add(LEASE_MARGIN.as_millis() as i64);
    let now = now_millis();
    if !event_outbox::any_due(&state.db, now).await? {
        return Ok((0, None));
    }
    let claimed = event_outbox::claim(&state.db, now, lease_ms, BATCH).await?;
    let count = claimed.len();
    // Each endpoint read once per batch (None: deleted since the claim, its deliveries with it).
    let mut targets: HashMap<String, Option<Target>> = HashMap::new();
    for delivery in &claimed {
        if !targets.contains_key(&delivery.endpoint_id) {
            let target = event_outbox::target(&state.db, &delivery.endpoint_id, now).await?;
            targets.insert(delivery.endpoint_id.clone(), target);
        }
    }
    let concurrency = state.config.webhooks_out.concurrency.max(1);
    let outcomes: Vec<(String, Outcome)> = futures_util::stream::iter(claimed)
        .map(|delivery| {
            let target = targets.get(&delivery.endpoint_id).and_then(Option::as_ref);
            let endpoint_id = delivery.endpoint_id.clone();
            deliver(state, delivery, target).map(move |outcome| (endpoint_id, outcome))
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    // A run of failures needs ending only where one may have begun: an endpoint read as failing,
    // or one that failed in this batch. A healthy endpoint's batch takes no write for it.
    let failed: Vec<&str> =
        outcomes.iter().filter(|(_, o)| !matches!(o, Outcome::Delivered(..))).map(|(e, _)| e.as_str()).collect();
    let failing = |endpoint_id: &str| {
        failed.contains(&endpoint_id) || targets.get(endpoint_id).and_then(Option::as_ref).is_some_and(|t| t.failing)
    };
    let mut answered: Vec<String> = Vec::new();
    for (endpoint_id, outcome) in &outcomes {
        if matches!(outcome, Outcome::Delivered(..)) && failing(endpoint_id) && !answered.contains(endpoint_id) {
            answered.push(endpoint_id.clone());
        }
    }
    let mut delivered = Vec::new();
    let mut soonest: Option<Millis> = None;
    for (_, outcome) in outcomes {
        match outcome {
            Outcome::Delivered(d) => delivered.push(d),
            Outcome::RetryAt(at) => soonest = Some(soonest.map_or(at, |s| s.min(at))),
            Outcome::Done => {}
        }
    }
    if let Err(e) = event_outbox::record_delivered(&state.db, &delivered).await {
        // The leases run out and they are sent again: at least once, never lost.
        tracing::error!(deliveries = delivered.len(), error = %e, "could not record delivered events");
    }
    let answered: Vec<&str> = answered.iter().map(String::as_str).collect();
    if let Err(e) = event_outbox::note_success(&state.db, &answered).await {
        tracing::warn!(error = %e, "could not note endpoints that answered");
    }
    Ok((count, soonest))
}

/// What became of one claimed delivery, for its batch.
enum Outcome {
    /// Answered 2xx: recorded with the batch.
    Delivered(Delivered),
    /// Failed and recorded; due again then.
    RetryAt(Millis),
    /// Nothing more to do (given up and recorded, the endpoint is gone, or the record failed and
    /// the lease will run out).
    Done,
}

/// Sends one claimed delivery; a failure is recorded at once, a success answered for its batch.
#[tracing::instrument(skip_all, fields(event_id = %delivery.event_id, endpoint_id = %delivery.endpoint_id,
    attempts = delivery.attempts))]
async fn deliver(state: &AppState, delivery: ClaimedDelivery, target: Option<&Target>) -> Outcome {
    let Some(target) = target else { return Outcome::Done };
    // A panic while sending is this attempt's failure, not the worker's.
    let sent = AssertUnwindSafe(send(state, &delivery, target)).catch_unwind().await.unwrap_or_else(|_| {
        tracing::error!("sending an event panicked");
        Sent::NotSent("failed unexpectedly (see the server log)".into())
    });
    let at = now_millis();
    let (response_status, response_body, error) = match sent {
        Sent::Answered { status, body } if (200..300).contains(&status) => {
            tracing::info!(event_type = %delivery.event_type, status, "event delivered");
            let leased_until = delivery.leased_until;
            return Outcome::Delivered(Delivered {
                id: delivery.id,
                leased_until,
                at,
                response_status: status,
                response_body: body,
            });
        }
        Sent::Answered { status, body } => (Some(status), Some(body), answered_error(status)),
        Sent::NotSent(error) => (None, None, error),
    };
    let base_ms = i64::try_from(state.config.webhooks_out.retry_base_milliseconds).unwrap_or(i64::MAX);
    let next = next_delivery_attempt(delivery.attempts, at, base_ms, rand::random::<f64>());
    match next {
        Some(next) => tracing::warn!(error = %error, retry_in_ms = next - at, "event not delivered; will retry"),
        None => tracing::error!(error = %error, "event not delivered; giving up"),
    }
    let record = AttemptRecord { at, response_status, response_body, error: Some(error), next_attempt_at: next };
    if let Err(e) = event_outbox::record_attempt(&state.db, &delivery.id, delivery.leased_until, &record).await {
        // The lease runs out and it is tried again.
        tracing::error!(error = %e, "could not record a delivery attempt");
        return Outcome::Done;
    }
    let window_ms = i64::try_from(state.config.webhooks_out.disable_after_milliseconds).unwrap_or(i64::MAX);
    match event_outbox::note_failure(&state.db, &delivery.endpoint_id, at, window_ms).await {
        Ok(true) => {
            tracing::warn!("endpoint disabled: every attempt failed for the configured window");
            state.mail.wake();
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "could not note a failed attempt"),
    }
    next.map_or(Outcome::Done, Outcome::RetryAt)
}

/// What became of sending one attempt.
enum Sent {
    /// The endpoint answered with this status and (the start of) this body.
    Answered { status: i32, body: String },
    /// No answer, and why (refused by the guard, no connection, a timeout…).
    NotSent(String),
}

fn answered_error(status: i32) -> String {
    let reason = u16::try_from(status)
        .ok()
        .and_then(|s| reqwest::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("the endpoint answered {status} {reason}").trim_end().to_owned()
}

/// Signs and POSTs the event: `webhook-id` (the event's id, the same on every attempt),
/// `webhook-timestamp` (now, unix seconds) and `webhook-signature: v1,…`.
async fn send(state: &AppState, delivery: &ClaimedDelivery, target: &Target) -> Sent {
    let url = match reqwest::Url::parse(&target.url) {
        Ok(url) => url,
        Err(e) => return Sent::NotSent(format!("the endpoint's URL cannot be used: {e}")),
    };
    if let Err(refused) = super::check_host(&url, state.config.webhooks_out.allow_private) {
        return Sent::NotSent(refused);
    }
    let timestamp = now_millis().div_euclid(1000);
    // During a rotation's overlap both secrets sign, space-separated as Standard Webhooks
    // allows, so a receiver verifies with whichever it has.
    let mut signatures = Vec::with_capacity(2);
    for secret in std::iter::once(&target.secret).chain(target.previous_secret.as_ref()) {
        match standard::sign(secret, &delivery.event_id, timestamp, delivery.payload.as_bytes()) {
            Ok(signature) => signatures.push(signature),
            Err(e) => return Sent::NotSent(format!("the endpoint's secret cannot sign: {e}")),
        }
    }
    let signature = signatures.join(" ");
    let request = state
        .events_out
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(standard::ID_HEADER, &delivery.event_id)
        .header(standard::TIMESTAMP_HEADER, timestamp.to_string())
        .header(standard::SIGNATURE_HEADER, signature)
        .body(delivery.payload.clone());
    match request.send().await {
        Ok(mut response) => {
            let status = i32::from(response.status().as_u16());
            // Only the start of the answer is kept: reading stops there (a 1 KB log entry, not
            // whatever an endpoint chooses to send).
            let mut body = Vec::new();
            while body.len() < crate::domain::MAX_RESPONSE_EXCERPT {
                match response.chunk().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) | Err(_) => break,
                }
            }
            Sent::Answered { status, body: response_excerpt(&body) }
        }
        Err(e) => Sent::NotSent(error_chain(&e)),
    }
}

/// The error and its causes, `: `-separated (reqwest's own message names only the URL; the
/// guard's refusal or the connection error is in its sources).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text =
        if error.to_string().starts_with("error sending request") { "no answer".to_owned() } else { error.to_string() };
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
