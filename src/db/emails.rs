//! The email outbox: rows queued with their order, claimed by workers, marked sent or retried.
//!
//! The purchase email's row is inserted by [`super::orders::create`] in the order's own
//! transaction, so an order never exists without its email, and never has two.

use super::{Db, DbError, new_id, on_tx, with_pool};
use crate::domain::{EmailKind, EmailStatus, Millis, now_millis};

/// An email as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailRow {
    /// Id (also the file name in the mailbox and the local part of the Message-ID).
    pub id: String,
    /// Merchant.
    pub merchant_id: String,
    /// The order it delivers ("" for a sign-in email).
    pub order_id: String,
    /// Why it is sent.
    pub kind: EmailKind,
    /// Recipient.
    pub to_address: String,
    /// Subject as last rendered ("" before the first attempt).
    pub subject: String,
    /// Where it stands.
    pub status: EmailStatus,
    /// Attempts started so far.
    pub attempts: i64,
    /// When it is due (again).
    pub next_attempt_at: Millis,
    /// End of the sending worker's lease.
    pub locked_until: Option<Millis>,
    /// Why the last failed attempt failed (kept after a later success, as history).
    pub last_error: Option<String>,
    /// When the server accepted it.
    pub sent_at: Option<Millis>,
    /// When it was queued.
    pub created_at: Millis,
    /// The product of the release an update email announces (None for other kinds).
    pub product_id: Option<String>,
    /// The release an update email announces (None for other kinds).
    pub release_number: Option<i64>,
}

// Sign-in emails have no order: their order_id reads as "".
pub(crate) const COLUMNS: &str = "id, merchant_id, COALESCE(order_id, '') AS order_id, kind, to_address, subject, status, attempts, \
     next_attempt_at, locked_until, last_error, sent_at, created_at, product_id, release_number";

/// Which emails are due, for [`claim`] and the throttled claim of update emails: `$1` now, `$4`
/// queued, `$5` retrying, `$6` sending, `$7` the oldest live heartbeat.
pub(crate) const DUE: &str = "(status IN ($4, $5) AND next_attempt_at <= $1) OR (status = $6 AND (locked_until <= $1 OR \
     (claimed_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = emails.claimed_by \
     AND i.heartbeat_at > $7))))";

/// The statement that queues an email; `$1` email id, `$2` merchant, `$3` order (NULL for a
/// sign-in), `$4` kind, `$5` recipient, `$6` now, `$7` [`EmailStatus::Queued`]. The purchase
/// email runs it inside the order's transaction.
pub(crate) const QUEUE: &str = "INSERT INTO emails (id, merchant_id, order_id, kind, to_address, status, \
     attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $7, 0, $6, $6)";

/// What asking for a resend did.
#[derive(Debug)]
pub enum Resend {
    /// Queued: the new email.
    Queued(Box<EmailRow>),
    /// Too many resends of this order lately: the earliest time another is allowed.
    Limited {
        /// When the oldest counted resend leaves the window.
        retry_at: Millis,
    },
}

/// Queues another copy of an order's email to its customer, unless `limit` copies were already
/// queued in the last `window_ms`. The order's row is locked first (a no-op update), so two
/// concurrent requests cannot both see room for one more.
pub async fn resend(db: &Db, merchant_id: &str, order_id: &str, limit: i64, window_ms: i64) -> Result<Resend, DbError> {
    let now = now_millis();
    let id = new_id();
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        let locked = sqlx::query("UPDATE orders SET status = status WHERE merchant_id = $1 AND id = $2")
            .bind(merchant_id).bind(order_id).execute(&mut *tx).await?.rows_affected();
        if locked == 0 {
            return Err(DbError::NotFound);
        }
        let (to_address,): (String,) = sqlx::query_as(
            "SELECT c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1",
        )
        .bind(order_id).fetch_one(&mut *tx).await?;
        let recent: Vec<(Millis,)> = sqlx::query_as(
            "SELECT created_at FROM emails WHERE order_id = $1 AND kind = $3 AND created_at > $2 \
             ORDER BY created_at",
        )
        .bind(order_id).bind(now - window_ms).bind(EmailKind::Resend).fetch_all(&mut *tx).await?;
        if recent.len() as i64 >= limit {
            let oldest = recent.first().map_or(now, |(at,)| *at);
            return Ok(Resend::Limited { retry_at: oldest + window_ms });
        }
        let sql = sqlx::AssertSqlSafe(format!("{QUEUE} RETURNING {COLUMNS}"));
        let row: EmailRow = sqlx::query_as(sql)
            .bind(&id).bind(merchant_id).bind(order_id).bind(EmailKind::Resend).bind(&to_address).bind(now)
            .bind(EmailStatus::Queued)
            .fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(Resend::Queued(Box::new(row)))
    })
}

/// The channel migration 0008's trigger notifies on PostgreSQL when emails are queued.
const QUEUED_CHANNEL: &str = "satchel_emails_queued";

/// On PostgreSQL, a listener notified whenever any process queues an email (on a connection of
/// its own, see [`super::broadcast::listen`]); None on SQLite, where the one process wakes its
/// worker itself.
pub async fn listen_for_queued(db: &Db) -> Result<Option<sqlx::postgres::PgListener>, DbError> {
    let Db::Postgres(pool) = db else { return Ok(None) };
    Ok(Some(super::broadcast::listen(pool, QUEUED_CHANNEL).await?))
}

/// How many emails wait to be sent or retried, across merchants (for `/metrics`).
pub async fn waiting(db: &Db) -> Result<i64, DbError> {
    let (n,): (i64,) = with_pool!(db, pool => {
        sqlx::query_as("SELECT COUNT(*) FROM emails WHERE status IN ($1, $2, $3)")
            .bind(EmailStatus::Queued).bind(EmailStatus::Retrying).bind(EmailStatus::Sending).fetch_one(pool).await?
    });
    Ok(n)
}

/// The emails of an order, oldest first.
pub async fn of_order(db: &Db, order_id: &str) -> Result<Vec<EmailRow>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM emails WHERE order_id = $1 ORDER BY created_at, id"));
    Ok(with_pool!(db, pool => sqlx::query_as(sql).bind(order_id).fetch_all(pool).await?))
}

/// Claims up to `limit` due emails, update emails aside (they are claimed, throttled, by
/// [`super::update_emails::claim_throttled`], so a backlog of them never delays a purchase or
/// sign-in email), for the instance `owner` until `now + lease_ms`, counting
/// the attempt. Due: queued or retrying and past their time, or left `sending` by a process
/// that died: one whose lease ran out, or whose owner's heartbeat is not after `alive_since`
/// (or whose owner's row is gone). An email claimed before owners were recorded (no owner)
/// waits for its lease. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several processes claim
/// side by side without ever taking the same row; SQLite has one writer, so a plain update is
/// enough.
pub async fn claim(
    db: &Db,
    owner: &str,
    now: Millis,
    lease_ms: i64,
    alive_since: Millis,
    limit: i64,
) -> Result<Vec<EmailRow>, DbError> {
    // $4 queued, $5 retrying, $6 sending, $7 the oldest live heartbeat, $8 the owner.
    // SQLite has one writer, so a plain update is enough there.
    let skip_locked = if matches!(db, Db::Postgres(_)) { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE emails SET status = $6, locked_until = $2, claimed_by = $8, attempts = attempts + 1 WHERE id IN \
         (SELECT id FROM emails WHERE kind <> 'release_update' AND ({DUE}) ORDER BY next_attempt_at LIMIT $3 {skip_locked}) RETURNING {COLUMNS}"
    ));
    Ok(with_pool!(db, write pool => {
        sqlx::query_as(sql)
            .bind(now).bind(now + lease_ms).bind(limit)
            .bind(EmailStatus::Queued).bind(EmailStatus::Retrying).bind(EmailStatus::Sending)
            .bind(alive_since).bind(owner)
            .fetch_all(pool).await?
    }))
}

/// An email the server accepted, and the subject it went out with.
pub struct SentEmail {
    /// The email's id.
    pub id: String,
    /// Its subject as sent.
    pub subject: String,
}

/// Records that the server accepted these emails, in one statement: the worker marks a whole
/// batch at once, so on SQLite a batch takes one turn of the single writer, not one per email
/// (the turns the webhooks that create orders wait for). Returns how many event deliveries
/// (`email.sent`) were queued with it.
pub async fn mark_sent(db: &Db, sent: &[SentEmail]) -> Result<u64, DbError> {
    if sent.is_empty() {
        return Ok(0);
    }
    let now = now_millis();
    let mut tx = db.begin_write().await?;
    // Built inside each arm: the builder's placeholders are the engine's own.
    on_tx!(&mut tx, conn => {
        let mut query = sqlx::QueryBuilder::new("WITH sent (id, subject) AS (");
        query.push_values(sent, |mut row, email| {
            row.push_bind(email.id.as_str()).push_bind(email.subject.as_str());
        });
        query.push(") UPDATE emails SET status = ").push_bind(EmailStatus::Sent).push(", sent_at = ").push_bind(now);
        query.push(", locked_until = NULL, subject = (SELECT subject FROM sent WHERE sent.id = emails.id) \
             WHERE id IN (SELECT id FROM sent)");
        query.build().persistent(false).execute(&mut *conn).await?;
    });
    // email.sent for the order emails among them (issue 17), with the record of their sending.
    let ids: Vec<&str> = sent.iter().map(|e| e.id.as_str()).collect();
    let queued = super::event_outbox::queue_email_events(&mut tx, &ids, "email.sent", now).await?;
    tx.commit().await?;
    Ok(queued)
}

/// Records a failed attempt by `owner`: retried at `next` (`retrying`), or given up when
/// `next` is None (`failed`). Nothing changes when the email is no longer `owner`'s to send
/// (another process took it over, taking this one for dead, and may have sent it). Returns how
/// many event deliveries (`email.failed`) were queued with it.
pub async fn mark_failed_attempt(
    db: &Db,
    owner: &str,
    id: &str,
    subject: &str,
    error: &str,
    next: Option<Millis>,
) -> Result<u64, DbError> {
    let status = if next.is_some() { EmailStatus::Retrying } else { EmailStatus::Failed };
    let mut tx = db.begin_write().await?;
    let done = on_tx!(&mut tx, conn => {
        sqlx::query(
            "UPDATE emails SET status = $2, next_attempt_at = COALESCE($3, next_attempt_at), last_error = $4, \
             subject = CASE WHEN $5 = '' THEN subject ELSE $5 END, locked_until = NULL \
             WHERE id = $1 AND status = $6 AND claimed_by = $7",
        )
        .bind(id).bind(status).bind(next).bind(error).bind(subject).bind(EmailStatus::Sending).bind(owner)
        .execute(conn).await?.rows_affected()
    });
    // email.failed when an order email is given up (issue 17), with the record of it.
    let queued = if done == 1 && next.is_none() {
        super::event_outbox::queue_email_events(&mut tx, &[id], "email.failed", now_millis()).await?
    } else {
        0
    };
    tx.commit().await?;
    Ok(queued)
}

/// Emails shown per page of the dashboard's mailbox and outbox.
pub const PAGE_SIZE: usize = 50;

/// One page of the merchant's emails, newest first: those sent (`sent_only`, by sending time,
/// for the file mailbox) or all of them in any state (by queueing time, for the outbox).
pub async fn page(
    db: &Db,
    merchant_id: &str,
    sent_only: bool,
    at: &super::page::PageAt,
) -> Result<super::page::Page<EmailRow>, DbError> {
    let time = if sent_only { "COALESCE(sent_at, created_at)" } else { "created_at" };
    let (keyset, order_by) = at.sql(time, "id", 3);
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM emails WHERE merchant_id = $1 AND (NOT $2 OR status = $6) AND {keyset} \
         ORDER BY {order_by} LIMIT $5"
    ));
    let rows: Vec<EmailRow> = with_pool!(db, pool => {
        sqlx::query_as(sql)
            .bind(merchant_id).bind(sent_only).bind(at.bind_at()).bind(at.bind_id()).bind(PAGE_SIZE as i64 + 1)
            .bind(EmailStatus::Sent)
            .fetch_all(pool).await?
    });
    Ok(super::page::Page::new(rows, PAGE_SIZE, at, |e| super::page::Cursor {
        at: if sent_only { e.sent_at.unwrap_or(e.created_at) } else { e.created_at },
        id: e.id.clone(),
    }))
}

/// One of the merchant's emails.
pub async fn of_merchant(db: &Db, merchant_id: &str, id: &str) -> Result<EmailRow, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM emails WHERE merchant_id = $1 AND id = $2"));
    with_pool!(db, pool => super::found(sqlx::query_as(sql).bind(merchant_id).bind(id).fetch_optional(pool).await?))
}
