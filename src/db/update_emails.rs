//! Update emails: queued for every order a publish granted a release to (one `INSERT …
//! SELECT`, in the publish's transaction), counted per release, throttled when claimed, and
//! the per-shop unsubscribe of the customers who do not want them.

use super::emails::{COLUMNS, DUE};
use super::{Db, DbError, WriteTx, on_tx, with_pool};
use crate::db::emails::EmailRow;
use crate::domain::{EmailKind, EmailStatus, Millis};

/// Queues one update email of release `number` for each order granted it (by this publish,
/// since a release is published once), except those that have one already (the unique index
/// makes it once per order and release whatever happens). Customers who unsubscribed from
/// the shop's update emails get a row `suppressed` at once, so the release's counts report
/// them. The id is the order's, product's and release's, so a row can never be queued twice
/// under two ids. Returns how many rows were queued, suppressed ones included.
pub(crate) async fn queue(
    tx: &mut WriteTx,
    merchant_id: &str,
    product_id: &str,
    number: i64,
    now: Millis,
) -> Result<u64, DbError> {
    let suffix = format!(".{product_id}.{number}");
    Ok(on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO emails (id, merchant_id, order_id, kind, to_address, status, attempts, next_attempt_at, \
             created_at, product_id, release_number) \
             SELECT o.id || $6, o.merchant_id, o.id, $4, c.email, \
             CASE WHEN s.unsubscribed_at IS NULL THEN $7 ELSE $8 END, 0, $5, $5, $2, $3 \
             FROM orders o JOIN customers c ON c.id = o.customer_id \
             LEFT JOIN update_email_subscriptions s ON s.customer_id = o.customer_id \
             WHERE o.merchant_id = $1 AND o.id IN (SELECT x.order_id FROM order_releases x \
                 WHERE x.product_id = $2 AND x.release_number = $3 AND x.granted = TRUE) \
             AND NOT EXISTS (SELECT 1 FROM emails e WHERE e.kind = 'release_update' AND e.order_id = o.id \
                 AND e.product_id = $2 AND e.release_number = $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(merchant_id).bind(product_id).bind(number).bind(EmailKind::ReleaseUpdate).bind(now).bind(&suffix)
        .bind(EmailStatus::Queued).bind(EmailStatus::Suppressed)
        .execute(conn).await?.rows_affected()
    }))
}

/// What became of a release's update emails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct EmailCounts {
    /// Waiting, being sent, or waiting for another try.
    pub queued: i64,
    /// Accepted by the mail server.
    pub sent: i64,
    /// Given up on.
    pub failed: i64,
    /// Not sent: the customer unsubscribed from the shop's update emails.
    pub unsubscribed: i64,
}

/// The counts of release `number`'s update emails.
pub async fn counts(db: &Db, product_id: &str, number: i64) -> Result<EmailCounts, DbError> {
    Ok(counts_between(db, product_id, number, Some(number)).await?.pop().map(|(_, c)| c).unwrap_or_default())
}

/// The counts of the update emails of the product's releases numbered `from` or later, by
/// release number (a release without update emails is absent).
pub async fn counts_by_release(db: &Db, product_id: &str, from: i64) -> Result<Vec<(i64, EmailCounts)>, DbError> {
    counts_between(db, product_id, from, None).await
}

/// The counts of the update emails of releases `from` to `to` (no end: the newest), by release.
async fn counts_between(
    db: &Db,
    product_id: &str,
    from: i64,
    to: Option<i64>,
) -> Result<Vec<(i64, EmailCounts)>, DbError> {
    let rows: Vec<(i64, i64, i64, i64, i64)> = with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT release_number, SUM(CASE WHEN status IN ($4, $5, $6) THEN 1 ELSE 0 END), \
             SUM(CASE WHEN status = $7 THEN 1 ELSE 0 END), SUM(CASE WHEN status = $8 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN status = $9 THEN 1 ELSE 0 END) \
             FROM emails WHERE kind = 'release_update' AND product_id = $1 AND release_number >= $2 \
             AND ($3 IS NULL OR release_number <= $3) GROUP BY release_number",
        )
        .bind(product_id).bind(from).bind(to)
        .bind(EmailStatus::Queued).bind(EmailStatus::Sending).bind(EmailStatus::Retrying)
        .bind(EmailStatus::Sent).bind(EmailStatus::Failed).bind(EmailStatus::Suppressed)
        .fetch_all(pool).await?
    });
    Ok(rows
        .into_iter()
        .map(|(n, queued, sent, failed, unsubscribed)| (n, EmailCounts { queued, sent, failed, unsubscribed }))
        .collect())
}

/// Claims at most `limit` due update emails for `owner`, and no more than keeps the update
/// emails claimed in the last minute, by every process together, within `per_minute`. The
/// throttle's row is locked first, so two processes claim one after the other and each sees
/// the other's claims.
pub async fn claim_throttled(
    db: &Db,
    owner: &str,
    now: Millis,
    lease_ms: i64,
    alive_since: Millis,
    limit: i64,
    per_minute: i64,
) -> Result<Vec<EmailRow>, DbError> {
    let mut tx = db.begin_write().await?;
    let recent: (i64,) = on_tx!(&mut tx, conn => {
        sqlx::query("UPDATE mail_throttle SET touched_at = $1 WHERE name = 'release_update'")
            .bind(now).execute(&mut *conn).await?;
        sqlx::query_as("SELECT COUNT(*) FROM emails WHERE kind = 'release_update' AND claimed_at > $1")
            .bind(now - 60_000).fetch_one(&mut *conn).await?
    });
    let room = (per_minute - recent.0).min(limit);
    if room <= 0 {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let skip_locked = if matches!(db, Db::Postgres(_)) { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE emails SET status = $6, locked_until = $2, claimed_by = $8, claimed_at = $1, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM emails WHERE kind = 'release_update' AND ({DUE}) ORDER BY next_attempt_at \
         LIMIT $3 {skip_locked}) RETURNING {COLUMNS}"
    ));
    let claimed: Vec<EmailRow> = on_tx!(&mut tx, conn => {
        sqlx::query_as(sql)
            .bind(now).bind(now + lease_ms).bind(room)
            .bind(EmailStatus::Queued).bind(EmailStatus::Retrying).bind(EmailStatus::Sending)
            .bind(alive_since).bind(owner)
            .fetch_all(conn).await?
    });
    tx.commit().await?;
    Ok(claimed)
}

/// Marks an update email `suppressed` (its customer unsubscribed before it was sent), unless
/// it is no longer `owner`'s to send.
pub async fn mark_suppressed(db: &Db, owner: &str, id: &str) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query("UPDATE emails SET status = $2, locked_until = NULL WHERE id = $1 AND status = $3 AND claimed_by = $4")
            .bind(id).bind(EmailStatus::Suppressed).bind(EmailStatus::Sending).bind(owner)
            .execute(pool).await?;
    });
    Ok(())
}

/// A customer's subscription to a shop's update emails.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Subscription {
    /// The customer (one shop's).
    pub customer_id: String,
    /// The shop.
    pub merchant_id: String,
    /// The salt of the unsubscribe token.
    pub token_salt: String,
    /// Since when they are unsubscribed (None: subscribed).
    pub unsubscribed_at: Option<Millis>,
}

/// The customer's subscription row, made with `salt` and `hash` (of the token derived from
/// it) if it has none yet; an existing row keeps its salt, so every email to the customer
/// carries the same link.
pub async fn subscription_of(
    db: &Db,
    merchant_id: &str,
    customer_id: &str,
    salt: &str,
    hash: &str,
    now: Millis,
) -> Result<Subscription, DbError> {
    Ok(with_pool!(db, write pool => {
        sqlx::query(
            "INSERT INTO update_email_subscriptions (customer_id, merchant_id, token_salt, token_hash, changed_at) \
             SELECT id, merchant_id, $3, $4, $5 FROM customers WHERE id = $1 AND merchant_id = $2 \
             ON CONFLICT DO NOTHING",
        )
        .bind(customer_id).bind(merchant_id).bind(salt).bind(hash).bind(now)
        .execute(pool).await?;
        super::found(sqlx::query_as(
            "SELECT customer_id, merchant_id, token_salt, unsubscribed_at FROM update_email_subscriptions \
             WHERE customer_id = $1 AND merchant_id = $2",
        )
        .bind(customer_id).bind(merchant_id).fetch_optional(pool).await?)?
    }))
}

/// The subscription whose unsubscribe token hashes to `hash`.
pub async fn by_token(db: &Db, hash: &str) -> Result<Option<Subscription>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT customer_id, merchant_id, token_salt, unsubscribed_at FROM update_email_subscriptions \
             WHERE token_hash = $1",
        )
        .bind(hash).fetch_optional(pool).await?
    }))
}

/// Unsubscribes (`unsubscribed`) or subscribes again the customer whose token hashes to
/// `hash`; unsubscribing again keeps the first time. Returns whether the token names a row.
pub async fn set_unsubscribed(db: &Db, hash: &str, unsubscribed: bool, now: Millis) -> Result<bool, DbError> {
    let at = unsubscribed.then_some(now);
    Ok(with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE update_email_subscriptions SET unsubscribed_at = CASE WHEN $2 IS NULL THEN NULL \
             ELSE COALESCE(unsubscribed_at, $2) END, changed_at = $3 WHERE token_hash = $1",
        )
        .bind(hash).bind(at).bind(now)
        .execute(pool).await?.rows_affected() > 0
    }))
}

/// Whether the customer unsubscribed from the shop's update emails.
pub async fn is_unsubscribed(db: &Db, customer_id: &str) -> Result<bool, DbError> {
    let row: Option<(Option<Millis>,)> = with_pool!(db, pool => {
        sqlx::query_as("SELECT unsubscribed_at FROM update_email_subscriptions WHERE customer_id = $1")
            .bind(customer_id).fetch_optional(pool).await?
    });
    Ok(matches!(row, Some((Some(_),))))
}

/// What publishing release `number` to `audience` would do now, for the dashboard's preview:
/// how many orders it would be granted to, how many of those belong to customers who
/// unsubscribed from the shop's update emails, and one of the orders to show the email of (a
/// subscribed one when there is one). The grant's own conditions
/// ([`super::release_grants::AUDIENCE_ITEMS`]).
pub async fn preview(
    db: &Db,
    merchant_id: &str,
    product_id: &str,
    number: i64,
    audience: crate::domain::Audience,
) -> Result<(i64, i64, Option<String>), DbError> {
    let row: (i64, i64, Option<String>, Option<String>) = with_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(DISTINCT o.id), COUNT(DISTINCT CASE WHEN s.unsubscribed_at IS NOT NULL THEN o.id END), \
             MIN(CASE WHEN s.unsubscribed_at IS NULL THEN o.id END), MIN(o.id) \
             FROM order_items oi JOIN orders o ON o.id = oi.order_id \
             LEFT JOIN update_email_subscriptions s ON s.customer_id = o.customer_id WHERE {}",
            super::release_grants::AUDIENCE_ITEMS
        )))
        .bind(product_id).bind(number).bind(merchant_id).bind(crate::domain::OrderStatus::Revoked)
        .bind(audience.bought_from()).bind(audience.up_to())
        .fetch_one(pool).await?
    });
    if !audience.reaches_past_orders() {
        return Ok((0, 0, None));
    }
    Ok((row.0, row.1, row.2.or(row.3)))
}
