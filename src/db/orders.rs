//! Orders: created once per payment with a frozen copy of the delivery, then read by token.

use super::{Db, DbError, found, new_id, with_pool};
use crate::domain::{DownloadPolicy, Email, Millis, OrderStatus, now_millis};

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
    /// `standard`, `stripe`, `api` or `test`.
    pub provider: &'a str,
    /// The provider's payment id (unique per merchant and provider).
    pub payment_id: &'a str,
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
}

/// What creating an order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// A new order.
    New(String),
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
    /// Provider.
    pub provider: String,
    /// Provider's payment id.
    pub payment_id: String,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Currency.
    pub currency: String,
    /// `paid`, `refunded`, `revoked`.
    pub status: String,
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
}

impl Order {
    /// The status as a domain value.
    pub fn status(&self) -> OrderStatus {
        OrderStatus::parse("status", &self.status).unwrap_or(OrderStatus::Revoked)
    }
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
    pub delivery_mode: String,
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
}

pub(crate) const ORDER_COLUMNS: &str = "o.id, o.merchant_id, o.customer_id, c.email AS customer_email, c.name AS customer_name, \
     o.provider, o.payment_id, o.amount_minor, o.currency, o.status, o.link_expires_at, o.max_downloads_per_file, \
     o.created_at, o.refunded_at, o.revoked_at, o.token_salt";

/// Creates the order, its customer, and the frozen delivery in one transaction. A repeated
/// payment, event or idempotency key changes nothing and says so ([`Created::Duplicate`]),
/// which is what makes webhook retries safe (rule 7).
pub async fn create(db: &Db, new: &NewOrder<'_>) -> Result<Created, DbError> {
    let order_id = new_id();
    let now = now_millis();
    let result: Result<Created, DbError> = with_pool!(db, pool, begin => async {
        let mut tx = pool.begin_with(begin).await?;
        // One round trip answers both "seen this event?" and "seen this payment?".
        let (seen_event, seen_payment): (Option<String>, Option<String>) = sqlx::query_as(
            "SELECT (SELECT COALESCE(order_id, '') FROM payment_events WHERE merchant_id = $1 AND provider = $2 \
             AND event_id = $3), (SELECT id FROM orders WHERE merchant_id = $1 AND provider = $2 AND payment_id = $4)",
        )
        .bind(new.merchant_id).bind(new.provider).bind(new.event.map_or("", |e| e.event_id)).bind(new.payment_id)
        .fetch_one(&mut *tx).await?;
        if let Some(order_id) = seen_event {
            return Ok(Created::Duplicate(Some(order_id).filter(|id| !id.is_empty())));
        }
        if let Some(existing) = seen_payment {
            return Ok(Created::Duplicate(Some(existing)));
        }
        let (customer_id,): (String,) = sqlx::query_as(
            "INSERT INTO customers (id, merchant_id, email, name, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (merchant_id, email) DO UPDATE SET name = CASE WHEN customers.name = '' \
             THEN excluded.name ELSE customers.name END RETURNING id",
        )
        .bind(new_id()).bind(new.merchant_id).bind(new.customer_email.as_str()).bind(new.customer_name).bind(now)
        .fetch_one(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO orders (id, merchant_id, customer_id, provider, payment_id, amount_minor, currency, status, \
             token_salt, token_hash, link_expires_at, max_downloads_per_file, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'paid', $12, $8, $9, $10, $11)",
        )
        .bind(&order_id).bind(new.merchant_id).bind(&customer_id).bind(new.provider).bind(new.payment_id)
        .bind(new.amount_minor).bind(new.currency).bind(new.token_hash)
        .bind(new.policy.expires_at(now)).bind(new.policy.max_downloads_per_file).bind(now)
        .bind(new.token_salt)
        .execute(&mut *tx).await?;
        if let Some(event_row) = new.assigns_event {
            // Claimed in the order's transaction (after the order it refers to): an event is
            // assigned once, however many times the merchant presses the button.
            let claimed = sqlx::query(
                "UPDATE payment_events SET status = 'processed', order_id = $1, payment_id = COALESCE(payment_id, $2), \
                 detail = 'assigned in the dashboard' WHERE id = $3 AND merchant_id = $4 AND status = 'unmatched'",
            )
            .bind(&order_id).bind(new.payment_id).bind(event_row).bind(new.merchant_id)
            .execute(&mut *tx).await?.rows_affected();
            if claimed == 0 {
                return Ok(Created::Duplicate(None));
            }
        }
        let mut files_before = 0i64;
        for (i, item) in new.items.iter().enumerate() {
            let item_position = i as i64 + 1;
            // Rule 2: copy the product's delivery as it is now, inside this transaction.
            sqlx::query(
                "INSERT INTO order_items (order_id, position, product_id, product_name, quantity, delivery_mode, \
                 external_url, instructions) SELECT $1, $2, id, name, $4, delivery_mode, external_url, instructions \
                 FROM products WHERE id = $3 AND merchant_id = $5",
            )
            .bind(&order_id).bind(item_position).bind(&item.product_id).bind(item.quantity).bind(new.merchant_id)
            .execute(&mut *tx).await?;
            // Product files are numbered 1..n, so the order's numbering continues from the
            // files of the items before this one.
            let copied = sqlx::query(
                "INSERT INTO order_files (order_id, position, item_position, blob_id, display_name, size, \
                 content_type, sha256, storage_key) \
                 SELECT $1, $2 + pf.position, $3, pf.blob_id, pf.display_name, b.size, b.content_type, b.sha256, \
                 b.storage_key FROM product_files pf JOIN products p ON p.id = pf.product_id \
                 JOIN blobs b ON b.id = pf.blob_id WHERE pf.product_id = $4 AND p.delivery_mode = 'files'",
            )
            .bind(&order_id).bind(files_before).bind(item_position).bind(&item.product_id)
            .execute(&mut *tx).await?;
            files_before += copied.rows_affected() as i64;
        }
        if let Some(event) = new.event {
            sqlx::query(
                "INSERT INTO payment_events (id, merchant_id, provider, event_id, event_type, payment_id, status, \
                 payload, order_id, received_at) VALUES ($1, $2, $3, $4, $5, $6, 'processed', $7, $8, $9)",
            )
            .bind(new_id()).bind(new.merchant_id).bind(new.provider).bind(event.event_id).bind(event.event_type)
            .bind(new.payment_id).bind(event.payload).bind(&order_id).bind(now)
            .execute(&mut *tx).await?;
        }
        // Rule 7: the purchase email is queued with the order, in the same transaction, so a
        // crash after the commit cannot lose it and a retried payment cannot add another.
        sqlx::query(super::emails::QUEUE_PURCHASE)
            .bind(new_id()).bind(new.merchant_id).bind(&order_id).bind(new.customer_email.as_str()).bind(now)
            .execute(&mut *tx).await?;
        if let Some((key, request_hash)) = new.idempotency {
            sqlx::query(
                "INSERT INTO idempotency_keys (merchant_id, idempotency_key, request_hash, order_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new.merchant_id).bind(key).bind(request_hash).bind(&order_id).bind(now)
            .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Created::New(order_id.clone()))
    }.await);
    match result {
        // Two deliveries of the same payment raced (PostgreSQL runs them side by side): the
        // loser's insert hit a unique key, so the winner's order is the one.
        Err(e) if e.is_constraint() => {
            Ok(Created::Duplicate(by_payment(db, new.merchant_id, new.provider, new.payment_id).await?))
        }
        other => other,
    }
}

/// A recorded `Idempotency-Key`: the request hash and the order it made.
pub async fn idempotency(db: &Db, merchant_id: &str, key: &str) -> Result<Option<(String, String)>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as("SELECT request_hash, order_id FROM idempotency_keys WHERE merchant_id = $1 AND idempotency_key = $2")
            .bind(merchant_id).bind(key).fetch_optional(pool).await?
    }))
}

/// Keeps a verified event that made no order (unknown product, bad email, unknown payment).
pub async fn record_event(
    db: &Db,
    merchant_id: &str,
    provider: &str,
    event: EventRecord<'_>,
    payment_id: Option<&str>,
    status: &str,
    detail: &str,
) -> Result<bool, DbError> {
    let inserted = with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO payment_events (id, merchant_id, provider, event_id, event_type, payment_id, status, detail, \
             payload, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (merchant_id, provider, event_id) DO NOTHING",
        )
        .bind(new_id()).bind(merchant_id).bind(provider).bind(event.event_id).bind(event.event_type)
        .bind(payment_id).bind(status).bind(detail).bind(event.payload).bind(now_millis())
        .execute(pool).await?.rows_affected()
    });
    Ok(inserted == 1)
}

async fn load_detail(db: &Db, order: Order) -> Result<OrderDetail, DbError> {
    let (items, files) = with_pool!(db, pool => (
        sqlx::query_as::<_, OrderItem>(
            "SELECT position, product_id, product_name, quantity, delivery_mode, external_url, instructions, link_clicks \
             FROM order_items WHERE order_id = $1 ORDER BY position",
        ).bind(&order.id).fetch_all(pool).await?,
        sqlx::query_as::<_, OrderFile>(
            "SELECT position, item_position, blob_id, display_name, size, content_type, sha256, storage_key, download_count \
             FROM order_files WHERE order_id = $1 ORDER BY position",
        ).bind(&order.id).fetch_all(pool).await?,
    ));
    Ok(OrderDetail { order, items, files })
}

/// The order a download token opens (any status: the caller decides what is allowed).
pub async fn by_token(db: &Db, token_hash: &str) -> Result<Option<OrderDetail>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.token_hash = $1"
    ));
    let order: Option<Order> = with_pool!(db, pool => sqlx::query_as(sql).bind(token_hash).fetch_optional(pool).await?);
    match order {
        Some(order) => Ok(Some(load_detail(db, order).await?)),
        None => Ok(None),
    }
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
    pub status: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// The merchant's orders, newest first.
pub async fn list(db: &Db, merchant_id: &str, filter: &OrderFilter) -> Result<Vec<Order>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.merchant_id = $1 \
         AND ($2 IS NULL OR c.email = $2) AND ($3 IS NULL OR o.status = $3) \
         ORDER BY o.created_at DESC, o.id DESC LIMIT $4 OFFSET $5"
    ));
    Ok(with_pool!(db, pool => {
        sqlx::query_as(sql).bind(merchant_id).bind(&filter.email).bind(&filter.status)
            .bind(filter.limit).bind(filter.offset).fetch_all(pool).await?
    }))
}

/// The id of the order a payment made, if any.
pub async fn by_payment(
    db: &Db,
    merchant_id: &str,
    provider: &str,
    payment_id: &str,
) -> Result<Option<String>, DbError> {
    let row: Option<(String,)> = with_pool!(db, pool => {
        sqlx::query_as("SELECT id FROM orders WHERE merchant_id = $1 AND provider = $2 AND payment_id = $3")
            .bind(merchant_id).bind(provider).bind(payment_id).fetch_optional(pool).await?
    });
    Ok(row.map(|(id,)| id))
}

/// Claims a refund that arrived before its payment (kept as unmatched): marks it applied and
/// says whether there was one.
pub async fn claim_early_refund(db: &Db, merchant_id: &str, provider: &str, payment_id: &str) -> Result<bool, DbError> {
    let claimed = with_pool!(db, pool => {
        sqlx::query(
            "UPDATE payment_events SET status = 'refund', detail = 'arrived before its payment' \
             WHERE merchant_id = $1 AND provider = $2 AND payment_id = $3 AND status = 'unmatched' \
             AND event_type = 'refund.succeeded'",
        )
        .bind(merchant_id).bind(provider).bind(payment_id).execute(pool).await?.rows_affected()
    });
    Ok(claimed > 0)
}

/// Marks the order of a refunded payment; revokes it too when `revoke` is set. Returns the
/// order id, or None when no order has that payment id.
pub async fn refund(
    db: &Db,
    merchant_id: &str,
    provider: &str,
    payment_id: &str,
    revoke: bool,
) -> Result<Option<String>, DbError> {
    let now = now_millis();
    let row: Option<(String,)> = with_pool!(db, pool => {
        sqlx::query_as(
            "UPDATE orders SET refunded_at = COALESCE(refunded_at, $4), \
             status = CASE WHEN $5 OR status = 'revoked' THEN 'revoked' ELSE 'refunded' END, \
             revoked_at = CASE WHEN $5 THEN COALESCE(revoked_at, $4) ELSE revoked_at END \
             WHERE merchant_id = $1 AND provider = $2 AND payment_id = $3 RETURNING id",
        )
        .bind(merchant_id).bind(provider).bind(payment_id).bind(now).bind(revoke)
        .fetch_optional(pool).await?
    });
    Ok(row.map(|(id,)| id))
}

/// Revokes (`true`) or restores (`false`) access to an order by hand.
pub async fn set_revoked(db: &Db, merchant_id: &str, id: &str, revoked: bool) -> Result<(), DbError> {
    let done = with_pool!(db, pool => {
        sqlx::query(
            "UPDATE orders SET revoked_at = CASE WHEN $3 THEN $4 ELSE NULL END, \
             status = CASE WHEN $3 THEN 'revoked' WHEN refunded_at IS NOT NULL THEN 'refunded' ELSE 'paid' END \
             WHERE merchant_id = $1 AND id = $2",
        )
        .bind(merchant_id).bind(id).bind(revoked).bind(now_millis())
        .execute(pool).await?.rows_affected()
    });
    if done == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

/// A payment event as the merchant sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentEventRow {
    /// Id.
    pub id: String,
    /// Provider.
    pub provider: String,
    /// Provider's event id.
    pub event_id: String,
    /// Provider's event type.
    pub event_type: String,
    /// Payment id, when known.
    pub payment_id: Option<String>,
    /// `processed`, `unmatched`, `refunded`, …
    pub status: String,
    /// Why it is unmatched.
    pub detail: String,
    /// Raw body.
    pub payload: String,
    /// The order it made.
    pub order_id: Option<String>,
    /// Arrival.
    pub received_at: Millis,
}

/// The merchant's payment events with `status` (all when None), newest first.
pub async fn events(
    db: &Db,
    merchant_id: &str,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<PaymentEventRow>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, provider, event_id, event_type, payment_id, status, detail, payload, order_id, received_at \
             FROM payment_events WHERE merchant_id = $1 AND ($2 IS NULL OR status = $2) ORDER BY received_at DESC LIMIT $3",
        )
        .bind(merchant_id).bind(status).bind(limit).fetch_all(pool).await?
    }))
}

/// One of the merchant's payment events, by its row id.
pub async fn event(db: &Db, merchant_id: &str, id: &str) -> Result<PaymentEventRow, DbError> {
    with_pool!(db, pool => found(sqlx::query_as(
        "SELECT id, provider, event_id, event_type, payment_id, status, detail, payload, order_id, received_at \
         FROM payment_events WHERE merchant_id = $1 AND id = $2",
    ).bind(merchant_id).bind(id).fetch_optional(pool).await?))
}

/// Events of one order (the payment and any refund).
pub async fn events_of_order(db: &Db, merchant_id: &str, order_id: &str) -> Result<Vec<PaymentEventRow>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT e.id, e.provider, e.event_id, e.event_type, e.payment_id, e.status, e.detail, e.payload, e.order_id, \
             e.received_at FROM payment_events e JOIN orders o ON o.merchant_id = e.merchant_id \
             AND o.provider = e.provider AND o.payment_id = e.payment_id \
             WHERE e.merchant_id = $1 AND o.id = $2 ORDER BY e.received_at",
        )
        .bind(merchant_id).bind(order_id).fetch_all(pool).await?
    }))
}
