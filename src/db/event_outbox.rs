//! The events-out outbox: one `event_deliveries` row per event and subscribed endpoint, written
//! inside the transaction of the order operation the event tells of, so an event is queued if
//! and only if its operation committed.

use super::{Db, DbError, WriteTx, on_tx, with_pool};
use crate::domain::{Millis, order_event_payload};

mod fulfilment_events;
pub use fulfilment_events::record_expired_hit;
pub(crate) use fulfilment_events::{queue_data_event, queue_download_events, queue_email_events};

/// An order's facts as an event carries them (ids and amounts: no email, no token).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OrderFacts {
    pub(crate) id: String,
    pub(crate) customer_id: String,
    pub(crate) provider: String,
    pub(crate) payment_id: String,
    pub(crate) amount_minor: i64,
    pub(crate) currency: String,
    pub(crate) status: String,
    pub(crate) test: bool,
    pub(crate) created_at: Millis,
    pub(crate) refunded_at: Option<Millis>,
    pub(crate) revoked_at: Option<Millis>,
}

/// Queues `event_type` (`order.created`, …) about `order_id` for each of the shop's enabled
/// endpoints subscribed to it, inside `tx`. Returns how many deliveries were queued.
pub(crate) async fn queue_order_event(
    tx: &mut WriteTx,
    merchant_id: &str,
    order_id: &str,
    event_type: &str,
    now: Millis,
) -> Result<u64, DbError> {
    let facts: OrderFacts = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT id, customer_id, provider, payment_id, amount_minor, currency, status, test, created_at, \
             refunded_at, revoked_at FROM orders WHERE id = $1 AND merchant_id = $2",
        )
        .bind(order_id).bind(merchant_id).fetch_one(conn).await?
    });
    let (event_id, payload) = order_event_payload(event_type, now, &facts.into());
    queue_payload(tx, merchant_id, event_type, &event_id, &payload, now).await
}

/// Queues one event (its id and JSON body made) for each of the shop's enabled endpoints
/// subscribed to `event_type`, inside `tx`. Returns how many deliveries were queued.
async fn queue_payload(
    tx: &mut WriteTx,
    merchant_id: &str,
    event_type: &str,
    event_id: &str,
    payload: &str,
    now: Millis,
) -> Result<u64, DbError> {
    let pattern = crate::domain::subscribed_pattern(event_type);
    Ok(on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO event_deliveries (id, event_id, endpoint_id, merchant_id, event_type, payload, created_at, \
             next_attempt_at) SELECT $1 || '.' || id, $1, id, merchant_id, $2, $3, $4, $4 FROM webhook_endpoints \
             WHERE merchant_id = $5 AND enabled = TRUE AND (' ' || events || ' ') LIKE $6 ESCAPE '\\'",
        )
        .bind(event_id).bind(event_type).bind(payload).bind(now).bind(merchant_id).bind(&pattern)
        .execute(conn).await?.rows_affected()
    }))
}

impl From<OrderFacts> for crate::domain::OrderEventData {
    fn from(f: OrderFacts) -> Self {
        crate::domain::OrderEventData {
            order_id: f.id,
            customer_id: f.customer_id,
            provider: f.provider,
            payment_id: f.payment_id,
            amount_minor: f.amount_minor,
            currency: f.currency,
            status: f.status,
            test: f.test,
            created_at: f.created_at,
            refunded_at: f.refunded_at,
            revoked_at: f.revoked_at,
        }
    }
}

/// A delivery a worker claimed: what to send, where, and the lease that makes it this
/// worker's (its outcome is recorded only while the lease is still the one it took).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    /// The delivery's id.
    pub id: String,
    /// `evt_…`, sent as `webhook-id`.
    pub event_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// `order.created`, …
    pub event_type: String,
    /// The JSON body.
    pub payload: String,
    /// Attempts including this one.
    pub attempts: i32,
    /// The lease taken (unix milliseconds it ends at): the claim's token.
    pub leased_until: Millis,
}

/// Where a claimed delivery goes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Target {
    /// The endpoint's URL.
    pub url: String,
    /// Its `whsec_` signing secret.
    pub secret: String,
    /// The secret before its last rotation, while that still signs too.
    pub previous_secret: Option<String>,
    /// Whether its last attempts failed (a run of failures to end on its next 2xx).
    pub failing: bool,
}

/// The channel a PostgreSQL trigger (migration 0017) notifies when deliveries are queued.
const QUEUED_CHANNEL: &str = "satchel_events_queued";

/// On PostgreSQL, a listener notified whenever any process queues deliveries (on a connection
/// of its own, see [`super::broadcast::listen`]); None on SQLite, where the one process wakes
/// its worker itself.
pub async fn listen_for_queued(db: &Db) -> Result<Option<sqlx::postgres::PgListener>, DbError> {
    let Db::Postgres(pool) = db else { return Ok(None) };
    Ok(Some(super::broadcast::listen(pool, QUEUED_CHANNEL).await?))
}

/// The condition of a due delivery `d` at `$1`: pending, due, not leased by a live claim, to an
/// enabled endpoint (deliveries to a paused endpoint wait until it is resumed).
const DUE: &str = "d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.leased_until IS NULL OR d.leased_until <= $1) \
     AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND e.enabled = TRUE)";

/// Whether any delivery is due at `now`: a read, so an idle worker's poll never takes
/// SQLite's single writer turn (which orders wait for).
pub async fn any_due(db: &Db, now: Millis) -> Result<bool, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT d.id FROM event_deliveries d WHERE {DUE} LIMIT 1"));
    let found: Option<(String,)> = with_pool!(db, pool => {
        sqlx::query_as(sql).bind(now).fetch_optional(pool).await?
    });
    Ok(found.is_some())
}

/// Claims up to `limit` due deliveries for `lease_ms`, counting the attempt.
pub async fn claim(db: &Db, now: Millis, lease_ms: i64, limit: i64) -> Result<Vec<ClaimedDelivery>, DbError> {
    // SQLite has one writer, so a plain update is enough there; PostgreSQL skips rows another
    // process is claiming at the same moment.
    let skip_locked = if matches!(db, Db::Postgres(_)) { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE event_deliveries SET leased_until = $2, attempts = attempts + 1 WHERE id IN \
         (SELECT d.id FROM event_deliveries d WHERE {DUE} ORDER BY d.next_attempt_at LIMIT $3 {skip_locked}) \
         RETURNING id, event_id, endpoint_id, event_type, payload, attempts, leased_until"
    ));
    Ok(with_pool!(db, write pool => {
        sqlx::query_as(sql).bind(now).bind(now + lease_ms).bind(limit).fetch_all(pool).await?
    }))
}

/// The endpoint a claimed delivery goes to at `now` (None: deleted since), with its previous
/// secret while a rotation's overlap lasts.
pub async fn target(db: &Db, endpoint_id: &str, now: Millis) -> Result<Option<Target>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT url, secret, CASE WHEN previous_secret_until > $2 THEN previous_secret END AS previous_secret, \
             failing_since IS NOT NULL AS failing FROM webhook_endpoints WHERE id = $1",
        )
        .bind(endpoint_id).bind(now).fetch_optional(pool).await?
    }))
}

/// What one attempt came to, as the deliveries log keeps it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// When it was made.
    pub at: Millis,
    /// The HTTP status answered (None: no answer).
    pub response_status: Option<i32>,
    /// The first 1 KB of the answer.
    pub response_body: Option<String>,
    /// Why it failed (None: delivered).
    pub error: Option<String>,
    /// Delivered (`None`, with no error), to be tried again then, or given up (`None` with an
    /// error).
    pub next_attempt_at: Option<Millis>,
}

/// Records an attempt at delivery `id` made under the lease `leased_until`: delivered, pending
/// again, or failed. Nothing changes when the lease is no longer the one taken (it ran out and
/// another worker claimed the delivery, which then records its own attempt).
pub async fn record_attempt(db: &Db, id: &str, leased_until: Millis, record: &AttemptRecord) -> Result<(), DbError> {
    let status = match (&record.error, record.next_attempt_at) {
        (None, _) => "delivered",
        (Some(_), Some(_)) => "pending",
        (Some(_), None) => "failed",
    };
    let delivered_at = record.error.is_none().then_some(record.at);
    with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE event_deliveries SET status = $3, next_attempt_at = COALESCE($4, next_attempt_at), \
             leased_until = NULL, last_attempt_at = $5, last_response_status = $6, last_response_body = $7, \
             last_error = $8, delivered_at = $9 WHERE id = $1 AND leased_until = $2 AND status = 'pending'",
        )
        .bind(id).bind(leased_until).bind(status).bind(record.next_attempt_at).bind(record.at)
        .bind(record.response_status).bind(&record.response_body).bind(&record.error).bind(delivered_at)
        .execute(pool).await?;
    });
    Ok(())
}

/// A 2xx answer to a claimed delivery, to be recorded with its batch.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The delivery's id.
    pub id: String,
    /// The lease it was sent under.
    pub leased_until: Millis,
    /// When the answer came.
    pub at: Millis,
    /// The status answered.
    pub response_status: i32,
    /// The first 1 KB of the answer.
    pub response_body: String,
}

/// Records a batch of delivered attempts in one statement (one SQLite write turn for the
/// batch, not one per delivery), each only while its lease is still the one taken.
pub async fn record_delivered(db: &Db, delivered: &[Delivered]) -> Result<(), DbError> {
    if delivered.is_empty() {
        return Ok(());
    }
    // Built inside each arm: the builder's placeholders are the engine's own.
    with_pool!(db, write pool => {
        let mut query = sqlx::QueryBuilder::new("WITH done (id, lease, at, code, body) AS (");
        query.push_values(delivered, |mut row, d| {
            row.push_bind(d.id.as_str())
                .push_bind(d.leased_until)
                .push_bind(d.at)
                .push_bind(d.response_status)
                .push_bind(d.response_body.as_str());
        });
        query.push(
            ") UPDATE event_deliveries SET status = 'delivered', leased_until = NULL, last_attempt_at = done.at, \
             last_response_status = done.code, last_response_body = done.body, last_error = NULL, \
             delivered_at = done.at FROM done WHERE event_deliveries.id = done.id \
             AND event_deliveries.leased_until = done.lease AND event_deliveries.status = 'pending'",
        );
        query.build().persistent(false).execute(pool).await?;
    });
    Ok(())
}

// Endpoints that fail for days are disabled (issue 17; the rule is in docs/decisions.md).

/// Notes a failed attempt at `at` to endpoint `endpoint_id`: the start of its run of failures
/// is kept, and when that start is `window_ms` or more before `at` the endpoint is disabled
/// (nothing more is queued or sent for it) and an email to the shop's owner is queued, in one
/// transaction. Returns whether it was disabled now.
pub async fn note_failure(db: &Db, endpoint_id: &str, at: Millis, window_ms: i64) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    let run: Option<(Millis, String)> = on_tx!(&mut tx, conn => {
        sqlx::query_as(
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) \
             WHERE id = $1 AND enabled = TRUE RETURNING failing_since, merchant_id",
        )
        .bind(endpoint_id).bind(at).fetch_optional(conn).await?
    });
    let Some((since, merchant_id)) = run.filter(|(since, _)| at - *since >= window_ms) else {
        tx.commit().await?;
        return Ok(false);
    };
    let days = (window_ms as f64 / 86_400_000.0 * 10.0).round() / 10.0;
    let reason = format!(
        "no successful delivery for {} (every attempt since {} failed)",
        if window_ms >= 86_400_000 { format!("{days} days") } else { format!("{window_ms} ms") },
        crate::domain::rfc3339_millis(since),
    );
    on_tx!(&mut tx, conn => {
        sqlx::query(
            "UPDATE webhook_endpoints SET enabled = FALSE, disabled_at = $2, disabled_reason = $3, updated_at = $2 \
             WHERE id = $1",
        )
        .bind(endpoint_id).bind(at).bind(&reason).execute(&mut *conn).await?;
        // The first owner (an owner signs in as the shop's own address when it was created).
        let owner: Option<(String,)> = sqlx::query_as(
            "SELECT email FROM merchant_users WHERE merchant_id = $1 AND role = 'owner' ORDER BY created_at, id LIMIT 1",
        )
        .bind(&merchant_id).fetch_optional(&mut *conn).await?;
        if let Some((owner,)) = owner {
            sqlx::query(super::emails::QUEUE)
                .bind(super::new_id()).bind(&merchant_id).bind(None::<&str>)
                .bind(crate::domain::EmailKind::EndpointDisabled).bind(owner).bind(at)
                .bind(crate::domain::EmailStatus::Queued)
                .execute(&mut *conn).await?;
        }
    });
    tx.commit().await?;
    Ok(true)
}

/// Notes that endpoints answered 2xx: their runs of failures end. The worker calls it only for
/// endpoints read as failing, so a healthy endpoint's batches take no extra SQLite write turn.
pub async fn note_success(db: &Db, endpoint_ids: &[&str]) -> Result<(), DbError> {
    if endpoint_ids.is_empty() {
        return Ok(());
    }
    with_pool!(db, write pool => {
        let mut query = sqlx::QueryBuilder::new("UPDATE webhook_endpoints SET failing_since = NULL WHERE failing_since IS NOT NULL AND id IN (");
        let mut list = query.separated(", ");
        for id in endpoint_ids {
            list.push_bind(*id);
        }
        query.push(")");
        query.build().persistent(false).execute(pool).await?;
    });
    Ok(())
}
