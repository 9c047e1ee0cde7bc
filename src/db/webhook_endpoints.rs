//! A shop's own webhook endpoints (events out) and the deliveries queued for them.

use super::{Db, DbError, new_id, with_pool};
use crate::domain::{EndpointUrl, MAX_ENDPOINTS, Millis, now_millis};

/// An endpoint as stored (its secret included: callers decide whether to show it).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Endpoint {
    /// Id.
    pub id: String,
    /// Owner.
    pub merchant_id: String,
    /// Where events are sent.
    pub url: String,
    /// Subscribed event types, space-separated.
    pub events: String,
    /// `whsec_…`, the Standard Webhooks signing secret.
    pub secret: String,
    /// Whether events are queued for it.
    pub enabled: bool,
    /// Until when the secret before the last rotation still signs too (None: no rotation, or
    /// its overlap may have ended: compare with now).
    pub previous_secret_until: Option<Millis>,
    /// When Satchel disabled it for failing (None: it did not; `enabled` says if it is paused).
    pub disabled_at: Option<Millis>,
    /// Why Satchel disabled it.
    pub disabled_reason: Option<String>,
    /// Creation time.
    pub created_at: Millis,
    /// Last change.
    pub updated_at: Millis,
}

impl Endpoint {
    /// The subscribed event types.
    pub fn event_types(&self) -> Vec<&str> {
        self.events.split_whitespace().collect()
    }
}

/// A change to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct EndpointChange {
    /// New URL.
    pub url: Option<EndpointUrl>,
    /// New event types (checked).
    pub events: Option<Vec<&'static str>>,
    /// Pause or resume.
    pub enabled: Option<bool>,
}

/// One queued event for one endpoint, as the deliveries log shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventDelivery {
    /// The event's id (`evt_…`), sent as `webhook-id`.
    pub event_id: String,
    /// `order.created`, …
    pub event_type: String,
    /// When the event happened.
    pub created_at: Millis,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due (while pending).
    pub next_attempt_at: Millis,
    /// When the last attempt was made.
    pub last_attempt_at: Option<Millis>,
    /// The HTTP status the endpoint last answered.
    pub last_response_status: Option<i32>,
    /// The first 1 KB of the endpoint's last answer.
    pub last_response_body: Option<String>,
    /// Why the last attempt failed, when it did.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<Millis>,
}

/// Adds an endpoint with a new secret; refused (Conflict) when the shop has [`MAX_ENDPOINTS`].
pub async fn create(db: &Db, merchant_id: &str, url: &EndpointUrl, events: &[&str]) -> Result<Endpoint, DbError> {
    let now = now_millis();
    let endpoint = Endpoint {
        id: new_id(),
        merchant_id: merchant_id.to_owned(),
        url: url.as_str().to_owned(),
        events: events.join(" "),
        secret: super::merchants::new_webhook_secret(),
        enabled: true,
        previous_secret_until: None,
        disabled_at: None,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        // Locks the shop's row (PostgreSQL), so two creations at once cannot both pass the count.
        sqlx::query("UPDATE merchants SET id = id WHERE id = $1").bind(merchant_id).execute(&mut *tx).await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_endpoints WHERE merchant_id = $1")
            .bind(merchant_id).fetch_one(&mut *tx).await?;
        if count >= MAX_ENDPOINTS {
            return Err(DbError::Conflict(format!("a shop can have at most {MAX_ENDPOINTS} webhook endpoints")));
        }
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, merchant_id, url, events, secret, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&endpoint.id).bind(merchant_id).bind(&endpoint.url).bind(&endpoint.events).bind(&endpoint.secret)
        .bind(true).bind(now).bind(now)
        .execute(&mut *tx).await?;
        tx.commit().await?;
    });
    Ok(endpoint)
}

/// A shop's endpoints, oldest first.
pub async fn list(db: &Db, merchant_id: &str) -> Result<Vec<Endpoint>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, merchant_id, url, events, secret, enabled, previous_secret_until, disabled_at, disabled_reason, \
             created_at, updated_at FROM webhook_endpoints \
             WHERE merchant_id = $1 ORDER BY created_at, id",
        )
        .bind(merchant_id).fetch_all(pool).await?
    }))
}

/// One of the shop's endpoints (NotFound for another shop's).
pub async fn get(db: &Db, merchant_id: &str, id: &str) -> Result<Endpoint, DbError> {
    let row: Option<Endpoint> = with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, merchant_id, url, events, secret, enabled, previous_secret_until, disabled_at, disabled_reason, \
             created_at, updated_at FROM webhook_endpoints \
             WHERE id = $1 AND merchant_id = $2",
        )
        .bind(id).bind(merchant_id).fetch_optional(pool).await?
    });
    row.ok_or(DbError::NotFound)
}

/// Changes an endpoint and returns it.
pub async fn update(db: &Db, merchant_id: &str, id: &str, change: &EndpointChange) -> Result<Endpoint, DbError> {
    let url = change.url.as_ref().map(EndpointUrl::as_str);
    let events = change.events.as_ref().map(|e| e.join(" "));
    let done = with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE webhook_endpoints SET url = COALESCE($3, url), events = COALESCE($4, events), \
             enabled = COALESCE($5, enabled), updated_at = $6, \
             disabled_at = CASE WHEN $5 = TRUE THEN NULL ELSE disabled_at END, \
             disabled_reason = CASE WHEN $5 = TRUE THEN NULL ELSE disabled_reason END, \
             failing_since = CASE WHEN $5 = TRUE THEN NULL ELSE failing_since END \
             WHERE id = $1 AND merchant_id = $2",
        )
        .bind(id).bind(merchant_id).bind(url).bind(events).bind(change.enabled).bind(now_millis())
        .execute(pool).await?.rows_affected()
    });
    if done == 0 {
        return Err(DbError::NotFound);
    }
    get(db, merchant_id, id).await
}

/// How long a rotated-out secret keeps signing next to the new one.
pub const ROTATION_OVERLAP_MS: Millis = 24 * 3600 * 1000;

/// Gives an endpoint a new secret and returns the endpoint with it; the secret it had keeps
/// signing every delivery too for [`ROTATION_OVERLAP_MS`] (a rotation within that day drops
/// the older one: two secrets at most).
pub async fn rotate_secret(db: &Db, merchant_id: &str, id: &str) -> Result<Endpoint, DbError> {
    let now = now_millis();
    let secret = super::merchants::new_webhook_secret();
    let done = with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $3, secret = $4, \
             updated_at = $5 WHERE id = $1 AND merchant_id = $2",
        )
        .bind(id).bind(merchant_id).bind(now + ROTATION_OVERLAP_MS).bind(&secret).bind(now)
        .execute(pool).await?.rows_affected()
    });
    if done == 0 {
        return Err(DbError::NotFound);
    }
    get(db, merchant_id, id).await
}

/// Sets when a rotated-out secret stops signing (tests move it into the past instead of
/// waiting a day).
pub async fn set_previous_secret_until(db: &Db, id: &str, until: Option<Millis>) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query("UPDATE webhook_endpoints SET previous_secret_until = $2 WHERE id = $1")
            .bind(id).bind(until).execute(pool).await?;
    });
    Ok(())
}

/// Queues an endpoint's delivery of event `event_id` again, due now with a fresh set of
/// attempts, whatever became of it (delivered, failed or still pending). NotFound when the
/// endpoint or the delivery is not the shop's.
pub async fn resend(db: &Db, merchant_id: &str, id: &str, event_id: &str) -> Result<(), DbError> {
    let done = with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE event_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $4, leased_until = NULL, \
             delivered_at = NULL WHERE endpoint_id = $1 AND merchant_id = $2 AND event_id = $3",
        )
        .bind(id).bind(merchant_id).bind(event_id).bind(now_millis())
        .execute(pool).await?.rows_affected()
    });
    if done == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// Deletes an endpoint and its deliveries (nothing more is sent to it).
pub async fn delete(db: &Db, merchant_id: &str, id: &str) -> Result<(), DbError> {
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        sqlx::query("DELETE FROM event_deliveries WHERE endpoint_id = $1 AND merchant_id = $2")
            .bind(id).bind(merchant_id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2")
            .bind(id).bind(merchant_id).execute(&mut *tx).await?.rows_affected();
        if done == 0 {
            return Err(DbError::NotFound);
        }
        tx.commit().await?;
    });
    Ok(())
}

/// An endpoint's deliveries, newest first (at most `limit`).
pub async fn deliveries(db: &Db, merchant_id: &str, id: &str, limit: i64) -> Result<Vec<EventDelivery>, DbError> {
    get(db, merchant_id, id).await?;
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT event_id, event_type, created_at, status, attempts, next_attempt_at, last_attempt_at, \
             last_response_status, last_response_body, last_error, delivered_at FROM event_deliveries \
             WHERE endpoint_id = $1 AND merchant_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
        )
        .bind(id).bind(merchant_id).bind(limit).fetch_all(pool).await?
    }))
}

/// Lets dashboard user `user_id` see endpoint `id`'s current secret once (after creating or
/// rotating it from the dashboard, on the page the form redirects to).
pub async fn reveal_once_to(db: &Db, merchant_id: &str, id: &str, user_id: &str) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query("UPDATE webhook_endpoints SET secret_reveal_to = $3 WHERE id = $1 AND merchant_id = $2")
            .bind(id).bind(merchant_id).bind(user_id).execute(pool).await?;
    });
    Ok(())
}

/// Endpoint `id`'s secret, if `user_id` may still see it once; that once is then used up.
pub async fn reveal(db: &Db, merchant_id: &str, id: &str, user_id: &str) -> Result<Option<String>, DbError> {
    Ok(with_pool!(db, write pool => {
        sqlx::query_scalar(
            "UPDATE webhook_endpoints SET secret_reveal_to = NULL WHERE id = $1 AND merchant_id = $2 \
             AND secret_reveal_to = $3 RETURNING secret",
        )
        .bind(id).bind(merchant_id).bind(user_id).fetch_optional(pool).await?
    }))
}
