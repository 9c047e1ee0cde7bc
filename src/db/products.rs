//! Products and their delivery settings.

use super::{Db, DbError, WriteTx, found, new_id, on_tx, with_pool};
use crate::domain::{
    Delivery, DeliveryMode, Millis, Price, ProductName, ReleaseContent, has_something_to_deliver, now_millis,
};

/// A product as stored, with its external ids and delivered files.
#[derive(Debug, Clone)]
pub struct Product {
    /// Product columns.
    pub row: ProductRow,
    /// (provider, external id) pairs.
    pub external_ids: Vec<(String, String)>,
    /// Delivered files, in order.
    pub files: Vec<ProductFile>,
}

impl Product {
    /// Whether it can be bought: not archived, and its delivery set (files or a link). A
    /// product without one is a draft.
    pub fn on_sale(&self) -> bool {
        self.row.active && has_something_to_deliver(self.row.delivery_mode)
    }
}

/// The `products` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    /// Id.
    pub id: String,
    /// Owner.
    pub merchant_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Price in minor units.
    pub price_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// False once archived.
    pub active: bool,
    /// How it is delivered.
    pub delivery_mode: DeliveryMode,
    /// The external link, in link mode.
    pub external_url: Option<String>,
    /// Instructions shown with the delivery.
    pub instructions: String,
    /// Creation time.
    pub created_at: Millis,
    /// Last change.
    pub updated_at: Millis,
}

/// A delivered file with its blob's facts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductFile {
    /// Product.
    pub product_id: String,
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

/// A product to create.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// Name.
    pub name: ProductName,
    /// Description (free text).
    pub description: String,
    /// Price.
    pub price: Price,
    /// (provider, external id) pairs.
    pub external_ids: Vec<(String, String)>,
}

/// A partial update (None = unchanged).
#[derive(Debug, Clone, Default)]
pub struct ProductChange {
    /// New name.
    pub name: Option<ProductName>,
    /// New description.
    pub description: Option<String>,
    /// New price.
    pub price: Option<Price>,
    /// Archive (false) or restore (true).
    pub active: Option<bool>,
    /// Replaces all external ids.
    pub external_ids: Option<Vec<(String, String)>>,
}

const COLUMNS: &str = "id, merchant_id, name, description, price_minor, currency, active, delivery_mode, \
     external_url, instructions, created_at, updated_at";
const FILE_COLUMNS: &str =
    "pf.product_id, pf.position, pf.blob_id, pf.display_name, b.size, b.content_type, b.sha256, b.storage_key";

fn taken(e: DbError) -> DbError {
    if e.is_constraint() { DbError::Conflict("an external id is already used by another product".into()) } else { e }
}

/// Creates a product (delivery mode `none`).
pub async fn create(db: &Db, merchant_id: &str, new: &NewProduct) -> Result<Product, DbError> {
    let id = new_id();
    let now = now_millis();
    let result: Result<(), DbError> = with_pool!(db, pool, begin => async {
        let mut tx = pool.begin_with(begin).await?;
        sqlx::query(
            "INSERT INTO products (id, merchant_id, name, description, price_minor, currency, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id).bind(merchant_id).bind(new.name.as_str()).bind(&new.description)
        .bind(new.price.amount_minor).bind(new.price.currency.as_str()).bind(now)
        .execute(&mut *tx).await?;
        for (provider, external_id) in &new.external_ids {
            sqlx::query("INSERT INTO product_external_ids (merchant_id, provider, external_id, product_id) VALUES ($1, $2, $3, $4)")
                .bind(merchant_id).bind(provider).bind(external_id).bind(&id)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }.await);
    result.map_err(taken)?;
    get(db, merchant_id, &id).await
}

/// One of the merchant's products.
pub async fn get(db: &Db, merchant_id: &str, id: &str) -> Result<Product, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM products WHERE merchant_id = $1 AND id = $2"));
    let row: ProductRow =
        with_pool!(db, pool => found(sqlx::query_as(sql).bind(merchant_id).bind(id).fetch_optional(pool).await?))?;
    let mut products = attach(db, merchant_id, vec![row]).await?;
    Ok(products.remove(0))
}

/// The merchant's products, newest first (ids are UUIDv7, so `id DESC` orders those made in the
/// same millisecond); archived ones only when asked.
pub async fn list(db: &Db, merchant_id: &str, include_archived: bool) -> Result<Vec<Product>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM products WHERE merchant_id = $1 AND (active OR $2) ORDER BY created_at DESC, id DESC"
    ));
    let rows: Vec<ProductRow> =
        with_pool!(db, pool => sqlx::query_as(sql).bind(merchant_id).bind(include_archived).fetch_all(pool).await?);
    attach(db, merchant_id, rows).await
}

/// Loads external ids and files for `rows` with two queries, whatever their number.
async fn attach(db: &Db, merchant_id: &str, rows: Vec<ProductRow>) -> Result<Vec<Product>, DbError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let single = (rows.len() == 1).then(|| rows[0].id.clone());
    let ids_sql = "SELECT product_id, provider, external_id FROM product_external_ids \
                   WHERE merchant_id = $1 AND ($2 IS NULL OR product_id = $2) ORDER BY provider";
    let files_sql = sqlx::AssertSqlSafe(format!(
        "SELECT {FILE_COLUMNS} FROM product_files pf JOIN products p ON p.id = pf.product_id \
         JOIN blobs b ON b.id = pf.blob_id WHERE p.merchant_id = $1 AND ($2 IS NULL OR p.id = $2) \
         ORDER BY pf.product_id, pf.position"
    ));
    let (ids, files): (Vec<(String, String, String)>, Vec<ProductFile>) = with_pool!(db, pool => (
        sqlx::query_as(ids_sql).bind(merchant_id).bind(&single).fetch_all(pool).await?,
        sqlx::query_as(files_sql).bind(merchant_id).bind(&single).fetch_all(pool).await?,
    ));
    Ok(rows
        .into_iter()
        .map(|row| Product {
            external_ids: ids.iter().filter(|i| i.0 == row.id).map(|i| (i.1.clone(), i.2.clone())).collect(),
            files: files.iter().filter(|f| f.product_id == row.id).cloned().collect(),
            row,
        })
        .collect())
}

/// Applies a partial update.
pub async fn update(db: &Db, merchant_id: &str, id: &str, change: &ProductChange) -> Result<Product, DbError> {
    let current = get(db, merchant_id, id).await?.row;
    let result: Result<(), DbError> = with_pool!(db, pool, begin => async {
        let mut tx = pool.begin_with(begin).await?;
        sqlx::query(
            "UPDATE products SET name = $3, description = $4, price_minor = $5, currency = $6, active = $7, updated_at = $8 \
             WHERE merchant_id = $1 AND id = $2",
        )
        .bind(merchant_id).bind(id)
        .bind(change.name.as_ref().map_or(current.name.as_str(), |n| n.as_str()))
        .bind(change.description.as_ref().unwrap_or(&current.description))
        .bind(change.price.as_ref().map_or(current.price_minor, |p| p.amount_minor))
        .bind(change.price.as_ref().map_or(current.currency.as_str(), |p| p.currency.as_str()))
        .bind(change.active.unwrap_or(current.active))
        .bind(now_millis())
        .execute(&mut *tx).await?;
        if let Some(external_ids) = &change.external_ids {
            sqlx::query("DELETE FROM product_external_ids WHERE merchant_id = $1 AND product_id = $2")
                .bind(merchant_id).bind(id).execute(&mut *tx).await?;
            for (provider, external_id) in external_ids {
                sqlx::query("INSERT INTO product_external_ids (merchant_id, provider, external_id, product_id) VALUES ($1, $2, $3, $4)")
                    .bind(merchant_id).bind(provider).bind(external_id).bind(id)
                    .execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }.await);
    result.map_err(taken)?;
    get(db, merchant_id, id).await
}

/// Replaces a product's delivery in one transaction: its mode, its file list and its link
/// (both kept whatever the mode), its instructions, and records it as the product's next
/// release when it changed anything ([`super::releases::record_on`]), so a saved delivery never
/// lacks its release. Every file must be one of the merchant's own uploads
/// ([`DbError::Conflict`] names the first that is not), and either all of it is saved or
/// nothing is. Returns the product and the number of the release it made, if any.
pub async fn set_delivery(
    db: &Db,
    merchant_id: &str,
    id: &str,
    delivery: &Delivery,
) -> Result<(Product, Option<i64>), DbError> {
    let now = now_millis();
    let mut tx = db.begin_write().await?;
    // The product's row first: on PostgreSQL this locks it until the commit, so two saves of
    // one product run one after the other and number their releases 1, 2 (SQLite's writer
    // lock already does).
    let updated = on_tx!(&mut tx, conn => {
        sqlx::query(
            "UPDATE products SET delivery_mode = $3, external_url = $4, instructions = $5, updated_at = $6 \
             WHERE merchant_id = $1 AND id = $2",
        )
        .bind(merchant_id).bind(id).bind(delivery.mode()).bind(delivery.external_url().map(|u| u.as_str()))
        .bind(delivery.instructions().as_str()).bind(now)
        .execute(conn).await?.rows_affected()
    });
    if updated == 0 {
        return Err(DbError::NotFound);
    }
    replace_files(&mut tx, merchant_id, id, delivery).await?;
    let release = super::releases::record_on(&mut tx, merchant_id, id, &ReleaseContent::of(delivery), now).await?;
    tx.commit().await?;
    Ok((get(db, merchant_id, id).await?, release))
}

/// Replaces the product's file list with `delivery`'s, in `tx`.
async fn replace_files(tx: &mut WriteTx, merchant_id: &str, id: &str, delivery: &Delivery) -> Result<(), DbError> {
    on_tx!(tx, conn => {
        for file in delivery.files() {
            let owned: Option<(String,)> = sqlx::query_as("SELECT id FROM blobs WHERE id = $1 AND merchant_id = $2")
                .bind(&file.file_id).bind(merchant_id).fetch_optional(&mut *conn).await?;
            if owned.is_none() {
                return Err(DbError::Conflict(format!("file {} does not exist", file.file_id)));
            }
        }
        sqlx::query("DELETE FROM product_files WHERE product_id = $1").bind(id).execute(&mut *conn).await?;
        for (i, file) in delivery.files().iter().enumerate() {
            // A delete of the file that began after the check above (PostgreSQL's SELECT does
            // not wait for it) makes this INSERT wait, then fail on the foreign key once the
            // delete commits: the file is gone, which is a refusal, not a fault.
            sqlx::query("INSERT INTO product_files (product_id, position, blob_id, display_name) VALUES ($1, $2, $3, $4)")
                .bind(id).bind(i as i64 + 1).bind(&file.file_id).bind(file.display_name.as_str())
                .execute(&mut *conn).await.map_err(|e| match e {
                    sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                        DbError::Conflict(format!("file {} does not exist", file.file_id))
                    }
                    e => DbError::from(e),
                })?;
        }
    });
    Ok(())
}

/// The product a payment names, as matching a payment needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NamedProduct {
    /// Its id.
    pub id: String,
    /// Its name, to say which one in a refusal.
    pub name: String,
    /// What it delivers (`none`: a draft, nothing to deliver yet).
    pub delivery_mode: DeliveryMode,
}

/// Finds the product a payment names: by Satchel id or by the external id set for `provider`.
pub async fn resolve(
    db: &Db,
    merchant_id: &str,
    provider: &str,
    reference: &str,
) -> Result<Option<NamedProduct>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, name, delivery_mode FROM products WHERE merchant_id = $1 AND (id = $3 OR id IN \
             (SELECT product_id FROM product_external_ids WHERE merchant_id = $1 AND provider = $2 AND external_id = $3)) \
             ORDER BY CASE WHEN id = $3 THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(merchant_id).bind(provider).bind(reference).fetch_optional(pool).await?
    }))
}

/// A product that can be bought at the test checkout, with its merchant: active, and its
/// merchant's test mode on.
pub async fn for_sale(db: &Db, product_id: &str) -> Result<Option<(super::merchants::Merchant, Product)>, DbError> {
    let merchant_id: Option<(String,)> = with_pool!(db, pool => {
        sqlx::query_as("SELECT merchant_id FROM products WHERE id = $1 AND active").bind(product_id).fetch_optional(pool).await?
    });
    let Some((merchant_id,)) = merchant_id else { return Ok(None) };
    let merchant = super::merchants::get(db, &merchant_id).await?;
    if !merchant.test_mode {
        return Ok(None);
    }
    let product = get(db, &merchant_id, product_id).await?;
    Ok(Some((merchant, product)))
}
