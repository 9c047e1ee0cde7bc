//! Publishing a product's latest release: its label, changelog and audience, and granting it
//! to the past orders its audience names, as set operations (one `INSERT … SELECT` for the
//! orders' releases and one for their files, whatever the number of orders), with the
//! `release.published` event and the update emails (one per granted order) queued in the same
//! transaction.

use super::{Db, DbError, WriteTx, found, on_tx, with_pool};
use crate::domain::{Audience, DeliveryMode, Millis, OrderStatus, UpdateEmail};

/// The product's latest release as publishing needs it: its number and whether it is
/// published already.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Latest {
    /// Its number.
    pub number: i64,
    /// When it was published (None: not yet).
    pub published_at: Option<Millis>,
}

/// The merchant's product's latest release (None: the product has none).
/// [`DbError::NotFound`] when the product is not the merchant's.
pub async fn latest(db: &Db, merchant_id: &str, product_id: &str) -> Result<Option<Latest>, DbError> {
    let (known, latest): (Option<(String,)>, Option<Latest>) = with_pool!(db, pool => (
        sqlx::query_as("SELECT id FROM products WHERE merchant_id = $1 AND id = $2")
            .bind(merchant_id).bind(product_id).fetch_optional(pool).await?,
        sqlx::query_as(
            "SELECT number, published_at FROM product_releases WHERE merchant_id = $1 AND product_id = $2 \
             ORDER BY number DESC LIMIT 1",
        )
        .bind(merchant_id).bind(product_id).fetch_optional(pool).await?,
    ));
    found(known)?;
    Ok(latest)
}

/// What publishing sets on the release.
#[derive(Debug, Clone)]
pub struct Publication<'a> {
    /// The release publishing was checked against: it must still be the latest, unpublished.
    pub number: i64,
    /// Version label.
    pub label: Option<&'a str>,
    /// What changed.
    pub changelog: Option<&'a str>,
    /// Which past orders get it.
    pub audience: Audience,
    /// The update email to every order granted it, if any.
    pub email: Option<&'a UpdateEmail>,
}

/// Why a publication was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotPublished {
    /// The release is published already (by an earlier request, perhaps this one repeated).
    AlreadyPublished,
    /// A newer release was saved since the release was checked.
    NoLongerLatest,
}

/// Publishes release `p.number` of the merchant's product and grants it to the past orders
/// `p.audience` names, in one transaction; returns how many orders were granted it.
/// [`DbError::NotFound`]: not the merchant's product.
pub async fn publish(
    db: &Db,
    merchant_id: &str,
    product_id: &str,
    p: &Publication<'_>,
    now: Millis,
) -> Result<Result<i64, NotPublished>, DbError> {
    let mut tx = db.begin_write().await?;
    // The product's row first, as saving a delivery does: a save and a publish of one product
    // run one after the other, so "the latest release" cannot change under the publish.
    let (locked, latest): (u64, Option<Granted>) = on_tx!(&mut tx, conn => (
        sqlx::query("UPDATE products SET updated_at = updated_at WHERE merchant_id = $1 AND id = $2")
            .bind(merchant_id).bind(product_id).execute(&mut *conn).await?.rows_affected(),
        sqlx::query_as(
            "SELECT number, delivery_mode, external_url, instructions FROM product_releases \
             WHERE product_id = $1 ORDER BY number DESC LIMIT 1",
        )
        .bind(product_id).fetch_optional(&mut *conn).await?,
    ));
    if locked == 0 {
        return Err(DbError::NotFound);
    }
    let Some(release) = latest.filter(|r| r.number == p.number) else {
        return Ok(Err(NotPublished::NoLongerLatest));
    };
    let number = release.number;
    let audience = p.audience.to_json().to_string();
    let marked = on_tx!(&mut tx, conn => {
        sqlx::query(
            "UPDATE product_releases SET label = $3, changelog = $4, published_at = $5, audience = $6, \
             email_subject = $7, email_message = $8 WHERE product_id = $1 AND number = $2 AND published_at IS NULL",
        )
        .bind(product_id).bind(number).bind(p.label).bind(p.changelog).bind(now).bind(&audience)
        .bind(p.email.map(|e| e.subject.as_str())).bind(p.email.map(|e| e.message.as_str()))
        .execute(conn).await?.rows_affected()
    });
    if marked == 0 {
        return Ok(Err(NotPublished::AlreadyPublished));
    }
    let granted = if p.audience.reaches_past_orders() {
        grant(&mut tx, merchant_id, product_id, &release, p.audience, now).await?
    } else {
        0
    };
    // In the same transaction as the grant: the release is never published without its
    // emails queued, and the emails never queued for a publish that did not happen.
    if p.email.is_some() && granted > 0 {
        super::update_emails::queue(&mut tx, merchant_id, product_id, number, now).await?;
    }
    let data = serde_json::json!({
        "product_id": product_id, "release_number": number, "label": p.label, "granted_orders": granted,
    });
    super::event_outbox::queue_data_event(&mut tx, merchant_id, "release.published", &data, now).await?;
    tx.commit().await?;
    Ok(Ok(granted))
}

/// The past order items (`oi`, of order `o`) that publishing release `$2` of product `$1` of
/// merchant `$3` grants it to: not revoked (`$4` is the revoked status), not owning it yet,
/// bought on or after `$5` and on release `$6` or earlier when given. The grant and the
/// dashboard's preview of it ([`super::update_emails::preview`]) both read it, so the preview
/// counts exactly whom the grant reaches.
pub(super) const AUDIENCE_ITEMS: &str = "oi.product_id = $1 AND o.merchant_id = $3 AND o.status <> $4 \
     AND NOT EXISTS (SELECT 1 FROM order_releases x WHERE x.order_id = oi.order_id \
         AND x.item_position = oi.position AND x.release_number = $2) \
     AND ($5 IS NULL OR o.created_at >= $5) \
     AND ($6 IS NULL OR (SELECT MAX(x.release_number) FROM order_releases x \
         WHERE x.order_id = oi.order_id AND x.item_position = oi.position) <= $6)";

/// The release being published, as granting it needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Granted {
    number: i64,
    delivery_mode: DeliveryMode,
    external_url: Option<String>,
    instructions: String,
}

/// Grants `release` to every past order item of the product that `audience` names, is not
/// revoked and does not own it yet, with the release's files (in files mode) appended after
/// the order's own, so the positions, and so the download URLs, the order had keep their
/// files. The granted items then deliver as the release does: its mode, its instructions and,
/// in link mode, its link (an earlier link stays in the row, unshown, when the release has
/// none). Records and returns the number of orders granted it.
async fn grant(
    tx: &mut WriteTx,
    merchant_id: &str,
    product_id: &str,
    release: &Granted,
    audience: Audience,
    now: Millis,
) -> Result<i64, DbError> {
    let (number, mode) = (release.number, release.delivery_mode);
    let link = release.external_url.as_deref().filter(|_| mode == DeliveryMode::ExternalLink);
    // One statement per table: SQLite materializes a SELECT that reads the table it inserts
    // into before inserting, PostgreSQL reads the statement's snapshot, so the owned releases
    // and the file positions read are those from before the grant.
    let granted: (i64,) = on_tx!(tx, conn => {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO order_releases (order_id, item_position, product_id, release_number, granted_at, granted) \
             SELECT oi.order_id, oi.position, oi.product_id, $2, $7, TRUE \
             FROM order_items oi JOIN orders o ON o.id = oi.order_id WHERE {AUDIENCE_ITEMS}",
        )))
        .bind(product_id).bind(number).bind(merchant_id).bind(OrderStatus::Revoked)
        .bind(audience.bought_from()).bind(audience.up_to()).bind(now)
        .execute(&mut *conn).await?;
        if mode == DeliveryMode::Files {
            sqlx::query(
                "INSERT INTO order_files (order_id, position, item_position, blob_id, display_name, size, \
                 content_type, sha256, storage_key, release_number) \
                 SELECT x.order_id, COALESCE((SELECT MAX(f.position) FROM order_files f WHERE f.order_id = x.order_id), 0) \
                 + ROW_NUMBER() OVER (PARTITION BY x.order_id ORDER BY x.item_position, rf.position), \
                 x.item_position, rf.blob_id, rf.display_name, rf.size, rf.content_type, rf.sha256, rf.storage_key, \
                 rf.release_number \
                 FROM order_releases x JOIN release_files rf ON rf.product_id = x.product_id \
                 AND rf.release_number = x.release_number \
                 WHERE x.product_id = $1 AND x.release_number = $2 AND x.granted = TRUE",
            )
            .bind(product_id).bind(number)
            .execute(&mut *conn).await?;
        }
        sqlx::query(
            "UPDATE order_items SET delivery_mode = $3, instructions = $4, external_url = COALESCE($5, external_url) \
             WHERE product_id = $1 AND EXISTS (SELECT 1 FROM order_releases x WHERE x.order_id = order_items.order_id \
                 AND x.item_position = order_items.position AND x.product_id = $1 AND x.release_number = $2 \
                 AND x.granted = TRUE)",
        )
        .bind(product_id).bind(number).bind(mode).bind(&release.instructions).bind(link)
        .execute(&mut *conn).await?;
        // A release is published once, so every granted row of it is this publish's.
        let granted: (i64,) = sqlx::query_as(
            "SELECT COUNT(DISTINCT order_id) FROM order_releases \
             WHERE product_id = $1 AND release_number = $2 AND granted = TRUE",
        )
        .bind(product_id).bind(number).fetch_one(&mut *conn).await?;
        sqlx::query("UPDATE product_releases SET granted_orders = $3 WHERE product_id = $1 AND number = $2")
            .bind(product_id).bind(number).bind(granted.0)
            .execute(conn).await?;
        granted
    });
    Ok(granted.0)
}
