//! The dashboard's files library: every uploaded file (blob) of a shop, a page at a time,
//! with where each is used. What may be deleted is decided by [`super::blobs::delete_unused`]
//! (rule 2 of the blob reference rules), never here: this only lists.

use super::page::{Cursor, Page, PageAt};
use super::{Db, DbError, found, with_pool};
use crate::domain::Millis;

/// Files shown per page.
pub const PAGE_SIZE: usize = 50;

/// An uploaded file with how many orders and earlier releases froze it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LibraryFile {
    /// Id (the API's file id).
    pub id: String,
    /// File name given at upload.
    pub filename: String,
    /// Media type given at upload.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 hex.
    pub sha256: String,
    /// Upload time.
    pub created_at: Millis,
    /// Orders whose snapshot delivers it (bought bytes: never deletable).
    pub orders: i64,
    /// Releases that froze it, of products whose file list no longer holds it (a release
    /// keeps its files: not deletable either).
    pub releases: i64,
}

// The library's columns of blob `b`, with its order and earlier-release counts.
const COLUMNS: &str = "b.id, b.filename, b.content_type, b.size, b.sha256, b.created_at, \
     (SELECT COUNT(DISTINCT f.order_id) FROM order_files f WHERE f.blob_id = b.id) AS orders, \
     (SELECT COUNT(*) FROM release_files r WHERE r.blob_id = b.id AND NOT EXISTS \
      (SELECT 1 FROM product_files pf WHERE pf.product_id = r.product_id AND pf.blob_id = b.id)) AS releases";

/// A product whose file list holds a file.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileUse {
    /// The file.
    pub blob_id: String,
    /// The product.
    pub product_id: String,
    /// Its name.
    pub product_name: String,
    /// False once archived (an archived product's list still holds the file).
    pub active: bool,
    /// The name customers see for the file in that product.
    pub display_name: String,
}

/// One page of the shop's files, newest first, each with its order count.
pub async fn page(db: &Db, merchant_id: &str, at: &PageAt) -> Result<Page<LibraryFile>, DbError> {
    let (keyset, order_by) = at.sql("b.created_at", "b.id", 2);
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM blobs b WHERE b.merchant_id = $1 AND {keyset} ORDER BY {order_by} LIMIT $4"
    ));
    let rows: Vec<LibraryFile> = with_pool!(db, pool => {
        sqlx::query_as(sql)
            .bind(merchant_id).bind(at.bind_at()).bind(at.bind_id()).bind(PAGE_SIZE as i64 + 1)
            .fetch_all(pool).await?
    });
    Ok(Page::new(rows, PAGE_SIZE, at, |f| Cursor { at: f.created_at, id: f.id.clone() }))
}

/// One of the merchant's files, with its counts.
pub async fn one(db: &Db, merchant_id: &str, id: &str) -> Result<LibraryFile, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM blobs b WHERE b.merchant_id = $1 AND b.id = $2"));
    with_pool!(db, pool => found(sqlx::query_as(sql).bind(merchant_id).bind(id).fetch_optional(pool).await?))
}

/// The products whose file lists hold any of `blob_ids` (all of `merchant_id`'s), by product name.
pub async fn uses(db: &Db, merchant_id: &str, blob_ids: &[&str]) -> Result<Vec<FileUse>, DbError> {
    if blob_ids.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<String> = (0..blob_ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT pf.blob_id, p.id AS product_id, p.name AS product_name, p.active, pf.display_name \
         FROM product_files pf JOIN products p ON p.id = pf.product_id \
         WHERE p.merchant_id = $1 AND pf.blob_id IN ({}) ORDER BY p.name, p.id",
        params.join(", ")
    ));
    Ok(with_pool!(db, pool => {
        let mut query = sqlx::query_as(sql).bind(merchant_id);
        for id in blob_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await?
    }))
}
