//! Events about emails, downloads and links (issue 17): queued the same way as the order
//! events, each by the one write that records what happened.

use super::super::{Db, DbError, WriteTx, on_tx, with_pool};
use super::queue_payload;
use crate::domain::Millis;

/// Queues `event_type` with `data` (ids and facts: never a token or a full email address) for
/// each of the shop's enabled endpoints subscribed to it, inside `tx`. Returns how many
/// deliveries were queued.
pub(crate) async fn queue_data_event(
    tx: &mut WriteTx,
    merchant_id: &str,
    event_type: &str,
    data: &serde_json::Value,
    now: Millis,
) -> Result<u64, DbError> {
    let (event_id, payload) = crate::domain::event_payload(event_type, now, data);
    queue_payload(tx, merchant_id, event_type, &event_id, &payload, now).await
}

/// An order email as its events tell of it.
#[derive(Debug, sqlx::FromRow)]
struct EmailFacts {
    id: String,
    merchant_id: String,
    order_id: String,
    kind: String,
    to_address: String,
    subject: String,
    attempts: i64,
    last_error: Option<String>,
}

/// Queues `email.sent` or `email.failed` (`event_type`) for each of the emails `ids` that
/// delivers an order (the purchase email or a resend) at a shop with an endpoint subscribed to
/// it, inside `tx` (the write that records the outcome). One read finds them, so a batch at a
/// shop without endpoints costs one statement. Returns how many deliveries were queued.
pub(crate) async fn queue_email_events(
    tx: &mut WriteTx,
    ids: &[&str],
    event_type: &str,
    now: Millis,
) -> Result<u64, DbError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let pattern = crate::domain::subscribed_pattern(event_type);
    let emails: Vec<EmailFacts> = on_tx!(tx, conn => {
        let mut query = sqlx::QueryBuilder::new(
            "SELECT id, merchant_id, order_id, kind, to_address, subject, attempts, last_error FROM emails m \
             WHERE m.order_id IS NOT NULL AND m.kind IN ('purchase', 'resend') AND EXISTS (SELECT 1 FROM \
             webhook_endpoints w WHERE w.merchant_id = m.merchant_id AND w.enabled = TRUE AND \
             (' ' || w.events || ' ') LIKE ",
        );
        query.push_bind(pattern.as_str()).push(" ESCAPE '\\') AND m.id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        query.push(")");
        query.build_query_as().persistent(false).fetch_all(&mut *conn).await?
    });
    let mut queued = 0;
    for email in emails {
        let data = serde_json::json!({
            "email_id": email.id,
            "order_id": email.order_id,
            "kind": email.kind,
            "to": crate::domain::masked_email(&email.to_address),
            "subject": email.subject,
            "attempts": email.attempts,
            "error": if event_type == "email.failed" { email.last_error } else { None },
        });
        queued += queue_data_event(tx, &email.merchant_id, event_type, &data, now).await?;
    }
    Ok(queued)
}

/// Queues `link.expired_hit` about `order_id` unless one was queued in the last
/// [`crate::domain::EXPIRED_HIT_EVERY_MS`]; the mark is taken in the same transaction, so two
/// hits at once queue one event. Returns how many deliveries were queued.
async fn queue_expired_hit(
    tx: &mut WriteTx,
    merchant_id: &str,
    order_id: &str,
    expired_at: Millis,
    now: Millis,
) -> Result<u64, DbError> {
    let since = now - crate::domain::EXPIRED_HIT_EVERY_MS;
    let marked = on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO event_marks (order_id, event_type, at) VALUES ($1, 'link.expired_hit', $2) \
             ON CONFLICT (order_id, event_type) DO UPDATE SET at = excluded.at WHERE event_marks.at <= $3",
        )
        .bind(order_id).bind(now).bind(since).execute(conn).await?.rows_affected()
    });
    if marked == 0 {
        return Ok(0);
    }
    let data = serde_json::json!({
        "order_id": order_id,
        "expired_at": crate::domain::rfc3339_millis(expired_at),
    });
    queue_data_event(tx, merchant_id, "link.expired_hit", &data, now).await
}

/// A file of an order as the download events tell of it.
#[derive(Debug, sqlx::FromRow)]
struct DownloadFacts {
    merchant_id: String,
    display_name: String,
    size: i64,
}

/// Queues `download.started` (the file's first counted download) and `download.limit_reached`
/// (the download that used the last one `max` allows) for file `position` of `order_id`, whose
/// count just went from `before` to `after`, inside `tx` (the write that counted). Nothing is
/// read when neither happened. Returns how many deliveries were queued.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn queue_download_events(
    tx: &mut WriteTx,
    order_id: &str,
    position: i64,
    before: i64,
    after: i64,
    max: Option<i64>,
    now: Millis,
) -> Result<u64, DbError> {
    let started = before == 0 && after > 0;
    let limit_reached = max.is_some_and(|max| before < max && after >= max);
    if !started && !limit_reached {
        return Ok(0);
    }
    let facts: Option<DownloadFacts> = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT o.merchant_id, f.display_name, f.size FROM order_files f JOIN orders o ON o.id = f.order_id \
             WHERE f.order_id = $1 AND f.position = $2",
        )
        .bind(order_id).bind(position).fetch_optional(conn).await?
    });
    let Some(facts) = facts else { return Ok(0) };
    let data = serde_json::json!({
        "order_id": order_id,
        "file_position": position,
        "file_name": facts.display_name,
        "file_size": facts.size,
        "download_count": after,
        "max_downloads": max,
    });
    let mut queued = 0;
    if started {
        queued += queue_data_event(tx, &facts.merchant_id, "download.started", &data, now).await?;
    }
    if limit_reached {
        queued += queue_data_event(tx, &facts.merchant_id, "download.limit_reached", &data, now).await?;
    }
    Ok(queued)
}

/// Records a request to the expired link of `order_id` (expired at `expired_at`): queues
/// `link.expired_hit` when the shop has an endpoint subscribed to it and none was queued about
/// the order in the last day. A read first, so a reload loop at a shop without such an endpoint
/// (or within the day) takes no write turn.
pub async fn record_expired_hit(
    db: &Db,
    merchant_id: &str,
    order_id: &str,
    expired_at: Millis,
) -> Result<u64, DbError> {
    let now = crate::domain::now_millis();
    let since = now - crate::domain::EXPIRED_HIT_EVERY_MS;
    let pattern = crate::domain::subscribed_pattern("link.expired_hit");
    let wanted: Option<(i32,)> = with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT 1 FROM webhook_endpoints w WHERE w.merchant_id = $1 AND w.enabled = TRUE \
             AND (' ' || w.events || ' ') LIKE $2 ESCAPE '\\' AND NOT EXISTS (SELECT 1 FROM event_marks m \
             WHERE m.order_id = $3 AND m.event_type = 'link.expired_hit' AND m.at > $4) LIMIT 1",
        )
        .bind(merchant_id).bind(&pattern).bind(order_id).bind(since).fetch_optional(pool).await?
    });
    if wanted.is_none() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    let queued = queue_expired_hit(&mut tx, merchant_id, order_id, expired_at, now).await?;
    tx.commit().await?;
    Ok(queued)
}
