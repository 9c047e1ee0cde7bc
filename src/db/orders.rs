//! Orders: created once per payment with a frozen copy of the delivery, then read by token.

use super::event_outbox::queue_order_event;
use super::{Db, DbError, found, on_tx, with_pool};
use crate::domain::{DeliveryMode, DownloadPolicy, Email, Millis, OrderStatus, PaymentSource, now_millis};

mod create;
pub use create::create;

/// One product of a new order.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// The product bought (its current delivery is frozen into the order).
    pub product_id: String,
    /// How many.
    pub quantity: i64,
}

/// A payment to turn into an order.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    /// Merchant.
    pub merchant_id: &'a str,
    /// How it was paid.
    pub provider: PaymentSource,
    /// The provider's payment id (unique per merchant and provider).
    pub payment_id: &'a str,
    /// A test order: left out of counts and revenue.
    pub test: bool,
    /// The provider's event id, when the order comes from a webhook.
    pub event: Option<EventRecord<'a>>,
    /// Customer email.
    pub customer_email: &'a Email,
    /// Customer name ("" when unknown).
    pub customer_name: &'a str,
    /// Amount paid, minor units.
    pub amount_minor: i64,
    /// Currency.
    pub currency: &'a str,
    /// Products bought.
    pub items: Vec<NewItem>,
    /// Policy in force at payment time.
    pub policy: DownloadPolicy,
    /// Random salt the order's link token is derived from.
    pub token_salt: &'a str,
    /// SHA-256 of the order token.
    pub token_hash: &'a str,
    /// `Idempotency-Key` and request hash, for `POST /api/v1/orders`.
    pub idempotency: Option<(&'a str, &'a str)>,
    /// The unmatched payment event (its row id) the merchant assigned to this order.
    pub assigns_event: Option<&'a str>,
    /// Whether a refund of this payment that arrived before it (kept as unmatched) also revokes
    /// the order: the merchant's "revoke on refund" setting.
    pub revoke_on_refund: bool,
}

/// A webhook event to keep with the order it produced.
#[derive(Debug, Clone, Copy)]
pub struct EventRecord<'a> {
    /// Provider's event id.
    pub event_id: &'a str,
    /// Provider's event type.
    pub event_type: &'a str,
    /// Raw body.
    pub payload: &'a str,
    /// The type as the provider sent it (e.g. `checkout.session.completed`), for the
    /// webhook deliveries log written with the order.
    pub sent_type: Option<&'a str>,
}

/// What creating an order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// A new order, and whether a refund of its payment had arrived first (it is applied in
    /// the same transaction).
    New {
        /// The order's id.
        order_id: String,
        /// A waiting refund was applied.
        refunded: bool,
    },
    /// The payment, event or idempotency key was seen before: nothing changed.
    Duplicate(Option<String>),
}

/// An order row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Order {
    /// Id.
    pub id: String,
    /// Merchant.
    pub merchant_id: String,
    /// Customer.
    pub customer_id: String,
    /// Customer email (joined).
    pub customer_email: String,
    /// Customer name (joined).
    pub customer_name: String,
    /// How it was paid.
    pub provider: PaymentSource,
    /// Provider's payment id.
    pub payment_id: String,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Currency.
    pub currency: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// When the email link stops working.
    pub link_expires_at: Option<Millis>,
    /// Downloads allowed per file through the email link.
    pub max_downloads_per_file: Option<i64>,
    /// Payment time.
    pub created_at: Millis,
    /// Refund time.
    pub refunded_at: Option<Millis>,
    /// Revocation time.
    pub revoked_at: Option<Millis>,
    /// Salt of the link token.
    pub token_salt: String,
    /// A test order (test checkout or a provider's test mode): left out of counts and revenue.
    pub test: bool,
    /// When the link-sharing brake locked the email link (None: not locked).
    pub link_locked_at: Option<Millis>,
}

/// A product as frozen into an order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderItem {
    /// 1-based.
    pub position: i64,
    /// Product id at the time.
    pub product_id: String,
    /// Product name at the time.
    pub product_name: String,
    /// Quantity.
    pub quantity: i64,
    /// Delivery mode at the time.
    pub delivery_mode: DeliveryMode,
    /// External link at the time.
    pub external_url: Option<String>,
    /// Instructions at the time.
    pub instructions: String,
    /// Times the external link was followed.
    pub link_clicks: i64,
}

/// A file as frozen into an order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderFile {
    /// 1-based across the order: `/d/{token}/files/{position}`.
    pub position: i64,
    /// Which item it belongs to.
    pub item_position: i64,
    /// Blob id.
    pub blob_id: String,
    /// Name shown and saved.
    pub display_name: String,
    /// Size in bytes.
    pub size: i64,
    /// Media type.
    pub content_type: String,
    /// SHA-256 hex.
    pub sha256: String,
    /// Key in the blob store.
    pub storage_key: String,
    /// Counted downloads.
    pub download_count: i64,
    /// The release of its product it came from (None: bought before releases existed).
    pub release_number: Option<i64>,
}

/// An order with everything it delivers.
#[derive(Debug, Clone)]
pub struct OrderDetail {
    /// The order.
    pub order: Order,
    /// Its products.
    pub items: Vec<OrderItem>,
    /// Its files.
    pub files: Vec<OrderFile>,
    /// The shop's link-sharing policy (read with orders opened by token; off otherwise).
    pub sharing: crate::domain::SharingPolicy,
}

impl OrderDetail {
    /// The files of the order's product at `item_position`, in order.
    pub fn files_of(&self, item_position: i64) -> impl Iterator<Item = &OrderFile> {
        self.files.iter().filter(move |f| f.item_position == item_position)
    }
}

pub(crate) const ORDER_COLUMNS: &str = "o.id, o.merchant_id, o.customer_id, c.email AS customer_email, c.name AS customer_name, \
     o.provider, o.payment_id, o.amount_minor, o.currency, o.status, o.link_expires_at, o.max_downloads_per_file, \
     o.created_at, o.refunded_at, o.revoked_at, o.token_salt, o.test, o.link_locked_at";

/// A recorded `Idempotency-Key`: the request hash and the order it made.
pub async fn idempotency(db: &Db, merchant_id: &str, key: &str) -> Result<Option<(String, String)>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as("SELECT request_hash, order_id FROM idempotency_keys WHERE merchant_id = $1 AND idempotency_key = $2")
            .bind(merchant_id).bind(key).fetch_optional(pool).await?
    }))
}

async fn load_detail(db: &Db, order: Order) -> Result<OrderDetail, DbError> {
    let (items, files) = with_pool!(db, pool => (
        sqlx::query_as::<_, OrderItem>(
            "SELECT position, product_id, product_name, quantity, delivery_mode, external_url, instructions, link_clicks \
             FROM order_items WHERE order_id = $1 ORDER BY position",
        ).bind(&order.id).fetch_all(pool).await?,
        sqlx::query_as::<_, OrderFile>(
            "SELECT position, item_position, blob_id, display_name, size, content_type, sha256, storage_key, download_count, \
             release_number FROM order_files WHERE order_id = $1 ORDER BY position",
        ).bind(&order.id).fetch_all(pool).await?,
    ));
    Ok(OrderDetail { order, items, files, sharing: Default::default() })
}

/// The order a download token opens (any status: the caller decides what is allowed).
pub async fn by_token(db: &Db, token_hash: &str) -> Result<Option<OrderDetail>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.token_hash = $1"
    ));
    let order: Option<Order> = with_pool!(db, pool => sqlx::query_as(sql).bind(token_hash).fetch_optional(pool).await?);
    let Some(order) = order else { return Ok(None) };
    // The brake's policy rides with the cached order, so a download reads nothing more for it.
    let sharing = super::sharing::policy(db, &order.merchant_id).await?;
    Ok(Some(OrderDetail { sharing, ..load_detail(db, order).await? }))
}

/// One of the merchant's orders with its delivery.
pub async fn get(db: &Db, merchant_id: &str, id: &str) -> Result<OrderDetail, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE o.merchant_id = $1 AND o.id = $2"
    ));
    let order: Order =
        with_pool!(db, pool => found(sqlx::query_as(sql).bind(merchant_id).bind(id).fetch_optional(pool).await?))?;
    load_detail(db, order).await
}

/// Filters for listing orders.
#[derive(Debug, Default)]
pub struct OrderFilter {
    /// Exact customer email (normalized).
    pub email: Option<String>,
    /// Status.
    pub status: Option<OrderStatus>,
    /// Only test orders (`Some(true)`) or only real ones (`Some(false)`).
    pub test: Option<bool>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// The merchant's orders, newest first.
pub async fn list(db: &Db, merchant_id: &str, filter: &OrderFilter) -> Result<Vec<Order>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.merchant_id = $1 \
         AND ($2 IS NULL OR c.email = $2) AND ($3 IS NULL OR o.status = $3) AND ($6 IS NULL OR o.test = $6) \
         ORDER BY o.created_at DESC, o.id DESC LIMIT $4 OFFSET $5"
    ));
    Ok(with_pool!(db, pool => {
        sqlx::query_as(sql).bind(merchant_id).bind(&filter.email).bind(filter.status)
            .bind(filter.limit).bind(filter.offset).bind(filter.test).fetch_all(pool).await?
    }))
}

/// The id of the order a payment made, if any.
pub async fn by_payment(
    db: &Db,
    merchant_id: &str,
    provider: PaymentSource,
    payment_id: &str,
) -> Result<Option<String>, DbError> {
    let row: Option<(String,)> = with_pool!(db, pool => {
        sqlx::query_as("SELECT id FROM orders WHERE merchant_id = $1 AND provider = $2 AND payment_id = $3")
            .bind(merchant_id).bind(provider).bind(payment_id).fetch_optional(pool).await?
    });
    Ok(row.map(|(id,)| id))
}

/// Marks the order of a refunded payment; revokes it too when `revoke` is set. Returns the
/// order id, or None when no order has that payment id.
pub async fn refund(
    db: &Db,
    merchant_id: &str,
    provider: PaymentSource,
    payment_id: &str,
    revoke: bool,
) -> Result<Option<String>, DbError> {
    let now = now_millis();
    let mut tx = db.begin_write().await?;
    let row: Option<(String,)> = on_tx!(&mut tx, conn => {
        sqlx::query_as(
            "UPDATE orders SET refunded_at = COALESCE(refunded_at, $4), \
             status = CASE WHEN $5 OR status = $6 THEN $6 ELSE $7 END, \
             revoked_at = CASE WHEN $5 THEN COALESCE(revoked_at, $4) ELSE revoked_at END \
             WHERE merchant_id = $1 AND provider = $2 AND payment_id = $3 RETURNING id",
        )
        .bind(merchant_id).bind(provider).bind(payment_id).bind(now).bind(revoke)
        .bind(OrderStatus::Revoked).bind(OrderStatus::Refunded)
        .fetch_optional(conn).await?
    });
    if let Some((order_id,)) = &row {
        queue_order_event(&mut tx, merchant_id, order_id, "order.refunded", now).await?;
    }
    tx.commit().await?;
    Ok(row.map(|(id,)| id))
}

/// Revokes (`true`) or restores (`false`) access to an order by hand.
pub async fn set_revoked(db: &Db, merchant_id: &str, id: &str, revoked: bool) -> Result<(), DbError> {
    let now = now_millis();
    let mut tx = db.begin_write().await?;
    let done = on_tx!(&mut tx, conn => {
        sqlx::query(
            "UPDATE orders SET revoked_at = CASE WHEN $3 THEN $4 ELSE NULL END, \
             status = CASE WHEN $3 THEN $5 WHEN refunded_at IS NOT NULL THEN $6 ELSE $7 END \
             WHERE merchant_id = $1 AND id = $2",
        )
        .bind(merchant_id).bind(id).bind(revoked).bind(now)
        .bind(OrderStatus::Revoked).bind(OrderStatus::Refunded).bind(OrderStatus::Paid)
        .execute(conn).await?.rows_affected()
    });
    if done == 0 {
        return Err(DbError::NotFound);
    }
    let event_type = if revoked { "order.revoked" } else { "order.restored" };
    queue_order_event(&mut tx, merchant_id, id, event_type, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves the link expiry of one of `merchant_id`'s orders to `until` (None: never expires),
/// never earlier than it already is. Returns the new expiry.
pub async fn extend_link(
    db: &Db,
    merchant_id: &str,
    id: &str,
    until: Option<Millis>,
) -> Result<Option<Millis>, DbError> {
    let row: Option<(Option<Millis>,)> = with_pool!(db, write pool => {
        sqlx::query_as(
            "UPDATE orders SET link_expires_at = CASE WHEN $3 IS NULL OR link_expires_at IS NULL THEN NULL \
             WHEN link_expires_at > $3 THEN link_expires_at ELSE $3 END \
             WHERE merchant_id = $1 AND id = $2 RETURNING link_expires_at",
        )
        .bind(merchant_id).bind(id).bind(until).fetch_optional(pool).await?
    });
    row.map(|(at,)| at).ok_or(DbError::NotFound)
}
