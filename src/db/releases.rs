//! Releases of a product: each saved change of its delivery, numbered 1, 2, … per product
//! and frozen (mode, link, instructions, and the file list with each file's facts). Recorded
//! by [`super::products::set_delivery`] inside the save's transaction; read by the API, the
//! dashboard and orders (which say the release they bought).

use super::{Db, DbError, WriteTx, found, on_tx, with_pool};
use crate::domain::{DeliveryMode, Millis, ReleaseContent, is_new_release};

/// A release as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Release {
    /// Its product.
    pub product_id: String,
    /// 1, 2, … per product, without gaps.
    pub number: i64,
    /// Version label ("2.1"), set when published (not yet).
    pub label: Option<String>,
    /// What changed, set when published (not yet).
    pub changelog: Option<String>,
    /// How it is delivered.
    pub delivery_mode: DeliveryMode,
    /// The link, kept in every mode.
    pub external_url: Option<String>,
    /// Instructions.
    pub instructions: String,
    /// When the delivery was saved.
    pub created_at: Millis,
    /// When the merchant published it (None: not yet).
    pub published_at: Option<Millis>,
    /// Who among past buyers it was published to: the audience's JSON (None: not published).
    pub audience: Option<String>,
    /// How many past orders publishing granted it to.
    pub granted_orders: i64,
    /// The update email's subject (None: published without one, or not published).
    pub email_subject: Option<String>,
    /// The update email's message.
    pub email_message: Option<String>,
}

/// A file of a release, its facts as they were.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReleaseFile {
    /// Which release (its number).
    pub release_number: i64,
    /// 1-based order.
    pub position: i64,
    /// File (blob) id.
    pub blob_id: String,
    /// Name shown to customers.
    pub display_name: String,
    /// Size in bytes.
    pub size: i64,
    /// Media type.
    pub content_type: String,
    /// SHA-256 hex.
    pub sha256: String,
    /// Key in the blob store.
    pub storage_key: String,
}

/// A release with its files.
#[derive(Debug, Clone)]
pub struct ReleaseDetail {
    /// The release.
    pub release: Release,
    /// Its files, in order.
    pub files: Vec<ReleaseFile>,
}

/// The release an order's item bought.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRelease {
    /// The order item (1-based).
    pub item_position: i64,
    /// The product.
    pub product_id: String,
    /// The release's number.
    pub number: i64,
    /// Its label, once published.
    pub label: Option<String>,
    /// When it was saved.
    pub created_at: Millis,
    /// False: the item bought it; true: a publish granted it later.
    pub granted: bool,
}

const COLUMNS: &str = "product_id, number, label, changelog, delivery_mode, external_url, instructions, created_at, \
     published_at, audience, granted_orders, email_subject, email_message";
const FILE_COLUMNS: &str = "release_number, position, blob_id, display_name, size, content_type, sha256, storage_key";

/// Records the product's delivery as just written in `tx` (its row and its `product_files`) as
/// release latest + 1, unless `saved` is the latest release's delivery (or, with no release
/// yet, an empty one). The caller holds the product's row lock (its UPDATE came first), so two
/// saves of one product number their releases one after the other; the primary key refuses a
/// duplicate number should that ever not hold. Returns the new release's number.
pub(crate) async fn record_on(
    tx: &mut WriteTx,
    merchant_id: &str,
    product_id: &str,
    saved: &ReleaseContent,
    now: Millis,
) -> Result<Option<i64>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM product_releases WHERE product_id = $1 ORDER BY number DESC LIMIT 1"
    ));
    let latest: Option<Release> = on_tx!(tx, conn => sqlx::query_as(sql).bind(product_id).fetch_optional(conn).await?);
    let latest_content = match &latest {
        None => None,
        Some(release) => {
            let files: Vec<(String, String)> = on_tx!(tx, conn => {
                sqlx::query_as(
                    "SELECT blob_id, display_name FROM release_files WHERE product_id = $1 AND release_number = $2 \
                     ORDER BY position",
                )
                .bind(product_id).bind(release.number).fetch_all(conn).await?
            });
            Some(ReleaseContent {
                mode: release.delivery_mode,
                external_url: release.external_url.clone(),
                instructions: release.instructions.clone(),
                files,
            })
        }
    };
    if !is_new_release(latest_content.as_ref(), saved) {
        return Ok(None);
    }
    let number = latest.map_or(1, |r| r.number + 1);
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO product_releases (product_id, number, merchant_id, delivery_mode, external_url, \
             instructions, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(product_id).bind(number).bind(merchant_id).bind(saved.mode).bind(&saved.external_url)
        .bind(&saved.instructions).bind(now)
        .execute(&mut *conn).await?;
        sqlx::query(
            "INSERT INTO release_files (product_id, release_number, position, blob_id, display_name, size, \
             content_type, sha256, storage_key) SELECT pf.product_id, $2, pf.position, pf.blob_id, pf.display_name, \
             b.size, b.content_type, b.sha256, b.storage_key FROM product_files pf JOIN blobs b ON b.id = pf.blob_id \
             WHERE pf.product_id = $1",
        )
        .bind(product_id).bind(number)
        .execute(conn).await?;
    });
    Ok(Some(number))
}

/// The merchant's product's releases, newest first, each with its files; at most `limit`.
/// [`DbError::NotFound`] when the product is not the merchant's.
pub async fn list(db: &Db, merchant_id: &str, product_id: &str, limit: i64) -> Result<Vec<ReleaseDetail>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM product_releases WHERE merchant_id = $1 AND product_id = $2 \
         ORDER BY number DESC LIMIT $3"
    ));
    let (known, releases): (Option<(String,)>, Vec<Release>) = with_pool!(db, pool => (
        sqlx::query_as("SELECT id FROM products WHERE merchant_id = $1 AND id = $2")
            .bind(merchant_id).bind(product_id).fetch_optional(pool).await?,
        sqlx::query_as(sql).bind(merchant_id).bind(product_id).bind(limit).fetch_all(pool).await?,
    ));
    found(known)?;
    let Some(oldest) = releases.last().map(|r| r.number) else { return Ok(Vec::new()) };
    let files = files_of(db, product_id, oldest, None).await?;
    Ok(releases
        .into_iter()
        .map(|release| ReleaseDetail {
            files: files.iter().filter(|f| f.release_number == release.number).cloned().collect(),
            release,
        })
        .collect())
}

/// One release of the merchant's product.
pub async fn get(db: &Db, merchant_id: &str, product_id: &str, number: i64) -> Result<ReleaseDetail, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM product_releases WHERE merchant_id = $1 AND product_id = $2 AND number = $3"
    ));
    let release: Release = with_pool!(db, pool => found(
        sqlx::query_as(sql).bind(merchant_id).bind(product_id).bind(number).fetch_optional(pool).await?
    ))?;
    let files = files_of(db, product_id, number, Some(number)).await?;
    Ok(ReleaseDetail { release, files })
}

/// The files of the product's releases numbered `from` to `to` (no end: the newest).
async fn files_of(db: &Db, product_id: &str, from: i64, to: Option<i64>) -> Result<Vec<ReleaseFile>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {FILE_COLUMNS} FROM release_files WHERE product_id = $1 AND release_number >= $2 \
         AND ($3 IS NULL OR release_number <= $3) ORDER BY release_number, position"
    ));
    Ok(with_pool!(db, pool => sqlx::query_as(sql).bind(product_id).bind(from).bind(to).fetch_all(pool).await?))
}

/// The releases an order owns: the one each item bought and those granted to it later by a
/// publish, by item then release.
pub async fn of_order(db: &Db, order_id: &str) -> Result<Vec<OrderRelease>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT x.item_position, r.product_id, r.number, r.label, r.created_at, x.granted FROM order_releases x \
             JOIN product_releases r ON r.product_id = x.product_id AND r.number = x.release_number \
             WHERE x.order_id = $1 ORDER BY x.item_position, x.release_number",
        )
        .bind(order_id).fetch_all(pool).await?
    }))
}

/// A release an order's item owns, as the customer's pages show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnedRelease {
    /// The order.
    pub order_id: String,
    /// The order item (1-based).
    pub item_position: i64,
    /// The release's number.
    pub number: i64,
    /// Its label, once published.
    pub label: Option<String>,
    /// What changed (Markdown source), once published.
    pub changelog: Option<String>,
    /// When it was saved.
    pub created_at: Millis,
    /// When it was published (None: not yet).
    pub published_at: Option<Millis>,
    /// False: the item bought it; true: a publish granted it later.
    pub granted: bool,
    /// When the order got it (its payment time for the release it bought).
    pub granted_at: Millis,
    /// Whether a file of it was served to the customer (any route, a byte or more).
    pub downloaded: bool,
}

/// The releases the orders `order_ids` own, by order, item and release, each saying whether
/// one of its files was downloaded (read from the download log, so a download shows here once
/// the log's writer has written it).
pub async fn owned_by(db: &Db, order_ids: &[&str]) -> Result<Vec<OwnedRelease>, DbError> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=order_ids.len()).map(|i| format!("${i}")).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT x.order_id, x.item_position, x.release_number AS number, r.label, r.changelog, r.created_at, \
         r.published_at, x.granted, x.granted_at, EXISTS (SELECT 1 FROM download_events e JOIN order_files f \
         ON f.order_id = e.order_id AND f.position = e.file_position WHERE e.order_id = x.order_id \
         AND f.item_position = x.item_position AND f.release_number = x.release_number AND e.status < 400 \
         AND (e.bytes_requested > 0 OR f.size = 0)) AS downloaded \
         FROM order_releases x JOIN product_releases r ON r.product_id = x.product_id AND r.number = x.release_number \
         WHERE x.order_id IN ({}) ORDER BY x.order_id, x.item_position, x.release_number",
        placeholders.join(", ")
    ));
    Ok(with_pool!(db, pool => {
        let mut query = sqlx::query_as(sql);
        for id in order_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await?
    }))
}
