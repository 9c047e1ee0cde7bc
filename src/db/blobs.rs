//! Uploaded files ("blobs"): one row per distinct content per merchant.

use super::{Db, DbError, found, new_id, with_pool};
use crate::domain::{Millis, now_millis};

/// An uploaded file as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Blob {
    /// Id (the API's file id).
    pub id: String,
    /// Owner.
    pub merchant_id: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    /// Media type given at upload.
    pub content_type: String,
    /// File name given at upload.
    pub filename: String,
    /// Key in the blob store.
    pub storage_key: String,
    /// Upload time.
    pub created_at: Millis,
}

/// A freshly stored object to record.
#[derive(Debug, Clone)]
pub struct NewBlob<'a> {
    /// Owner.
    pub merchant_id: &'a str,
    /// SHA-256 hex.
    pub sha256: &'a str,
    /// Size in bytes.
    pub size: i64,
    /// Media type.
    pub content_type: &'a str,
    /// File name.
    pub filename: &'a str,
    /// Key in the store.
    pub storage_key: &'a str,
}

const COLUMNS: &str = "id, merchant_id, sha256, size, content_type, filename, storage_key, created_at";

/// The merchant's blob with this content, if any.
pub async fn find_by_sha256(db: &Db, merchant_id: &str, sha256: &str) -> Result<Option<Blob>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM blobs WHERE merchant_id = $1 AND sha256 = $2"));
    Ok(with_pool!(db, pool => sqlx::query_as(sql).bind(merchant_id).bind(sha256).fetch_optional(pool).await?))
}

/// Records a blob and says whether it is new; when the same content is recorded already,
/// returns that row. While a delete of the same content is under way ([`delete_unused`]), the
/// INSERT waits for it to finish (PostgreSQL waits on the conflicting row; SQLite on its write
/// lock), so the caller's object, put after this returns, cannot be removed by that delete.
pub async fn insert(db: &Db, new: &NewBlob<'_>) -> Result<(Blob, bool), DbError> {
    // A row found by the INSERT's conflict can be deleted before the SELECT reads it: try again.
    for _ in 0..3 {
        let inserted = with_pool!(db, write pool => {
            sqlx::query(
                "INSERT INTO blobs (id, merchant_id, sha256, size, content_type, filename, storage_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (merchant_id, sha256) DO NOTHING",
            )
            .bind(new_id()).bind(new.merchant_id).bind(new.sha256).bind(new.size).bind(new.content_type)
            .bind(new.filename).bind(new.storage_key).bind(now_millis())
            .execute(pool).await?.rows_affected()
        });
        if let Some(blob) = find_by_sha256(db, new.merchant_id, new.sha256).await? {
            return Ok((blob, inserted == 1));
        }
    }
    Err(DbError::Conflict("the same file was being deleted; try again".into()))
}

/// One of the merchant's blobs.
pub async fn get(db: &Db, merchant_id: &str, id: &str) -> Result<Blob, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM blobs WHERE merchant_id = $1 AND id = $2"));
    with_pool!(db, pool => found(sqlx::query_as(sql).bind(merchant_id).bind(id).fetch_optional(pool).await?))
}

/// All of the merchant's blobs, newest first (`id DESC` orders those of the same millisecond).
pub async fn list(db: &Db, merchant_id: &str) -> Result<Vec<Blob>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM blobs WHERE merchant_id = $1 ORDER BY created_at DESC, id DESC"
    ));
    Ok(with_pool!(db, pool => sqlx::query_as(sql).bind(merchant_id).fetch_all(pool).await?))
}

/// What still holds a blob: products whose file list has it, orders that bought it, and
/// releases that froze it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Usage {
    /// Products whose file list holds it.
    pub products: i64,
    /// Orders whose frozen delivery holds it.
    pub orders: i64,
    /// Releases (of any product) whose file list holds it.
    pub releases: i64,
}

/// How many products, orders and releases still hold this blob.
pub async fn usage(db: &Db, blob_id: &str) -> Result<Usage, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM product_files WHERE blob_id = $1) AS products, \
                    (SELECT COUNT(DISTINCT order_id) FROM order_files WHERE blob_id = $1) AS orders, \
                    (SELECT COUNT(*) FROM release_files WHERE blob_id = $1) AS releases",
        )
        .bind(blob_id).fetch_one(pool).await?
    }))
}

/// Deletes an unused blob: its row, then its object through `remove_object`, in one
/// transaction that commits only once the object is gone (an upload of the same content waits
/// for it, see [`insert`]). A failed removal rolls the row back and is returned as `Ok(Err)`.
/// Refused with [`DbError::Conflict`] while a product, an order or a release refers to it
/// (rule 2); the foreign keys make the database refuse it too, should a purchase or a save land
/// in between.
pub async fn delete_unused<F, Fut, E>(
    db: &Db,
    merchant_id: &str,
    id: &str,
    remove_object: F,
) -> Result<Result<Blob, E>, DbError>
where
    F: FnOnce(Blob) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
{
    let blob = get(db, merchant_id, id).await?;
    let Usage { products, orders, releases } = usage(db, id).await?;
    if products > 0 || orders > 0 {
        return Err(DbError::Conflict(format!(
            "the file is still delivered by {products} product(s) and {orders} order(s)"
        )));
    }
    if releases > 0 {
        return Err(DbError::Conflict(format!(
            "the file is kept by {releases} earlier release(s) of a product: a release keeps its files"
        )));
    }
    let in_use = || DbError::Conflict("the file was just attached to a product or an order".into());
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        let deleted = sqlx::query("DELETE FROM blobs WHERE id = $1 AND merchant_id = $2")
            .bind(id).bind(merchant_id).execute(&mut *tx).await.map_err(DbError::from);
        match deleted {
            Ok(done) if done.rows_affected() == 0 => return Err(DbError::NotFound),
            Ok(_) => {}
            Err(e) if e.is_constraint() => return Err(in_use()),
            Err(e) => return Err(e),
        }
        if let Err(e) = remove_object(blob.clone()).await {
            return Ok(Err(e));
        }
        tx.commit().await?;
    });
    Ok(Ok(blob))
}
