//! The customer portal's data: sign-in codes (see `domain::sign_in`) and a customer's orders,
//! a page at a time.

use super::orders::{ORDER_COLUMNS, Order, OrderDetail, OrderFile, OrderItem};
use super::{Db, DbError, new_id, with_pool};
use crate::domain::{Email, EmailKind, EmailStatus, MAX_WRONG_CODES, Millis, SIGN_IN_LIFETIME_MS};

/// A sign-in code as stored (the code itself is derived from `salt`, never stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignIn {
    /// Id.
    pub id: String,
    /// The shop.
    pub merchant_id: String,
    /// Who it signs in.
    pub customer_id: String,
    /// What the code and the magic link are derived from.
    pub salt: String,
    /// Wrong codes typed so far (including a try under way).
    pub failed_attempts: i64,
    /// When it was asked for.
    pub created_at: Millis,
    /// When it stops working.
    pub expires_at: Millis,
    /// When it was used or replaced by a newer code.
    pub used_at: Option<Millis>,
}

/// A customer of one shop.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Customer {
    /// Id.
    pub id: String,
    /// Normalized email.
    pub email: String,
    /// Name ("" when unknown).
    pub name: String,
}

const SIGN_IN_COLUMNS: &str =
    "s.id, s.merchant_id, s.customer_id, s.salt, s.failed_attempts, s.created_at, s.expires_at, s.used_at";

/// Starts a sign-in for `email` at the shop, if it is a customer there, and returns the id of
/// the email that carries it; None for an address that never bought there (nothing written).
///
/// While the customer's code is live (not used, expired or locked by wrong tries) the same
/// code is sent again rather than replaced, so whoever knows the address cannot make the
/// customer's code stop working: its email, if still on its way, is left to arrive; if it was
/// sent, a new email carries the same code and link. Otherwise a new code with `salt` and
/// `link_hash` replaces any older one (one live code per customer, so guesses cannot be
/// spread over several codes), queued with its email in the same transaction.
pub async fn request_code(
    db: &Db,
    merchant_id: &str,
    email: &Email,
    salt: &str,
    link_hash: &str,
    now: Millis,
) -> Result<Option<String>, DbError> {
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        let customer: Option<(String,)> = sqlx::query_as("SELECT id FROM customers WHERE merchant_id = $1 AND email = $2")
            .bind(merchant_id).bind(email.as_str()).fetch_optional(&mut *tx).await?;
        let Some((customer_id,)) = customer else { return Ok(None) };
        let live: Option<(String, String, EmailStatus)> = sqlx::query_as(
            "SELECT s.id, s.email_id, e.status FROM sign_in_codes s JOIN emails e ON e.id = s.email_id \
             WHERE s.customer_id = $1 AND s.used_at IS NULL AND s.expires_at > $2 AND s.failed_attempts < $3 \
             ORDER BY s.created_at DESC, s.id DESC LIMIT 1",
        )
        .bind(&customer_id).bind(now).bind(MAX_WRONG_CODES).fetch_optional(&mut *tx).await?;
        if let Some((_, email_id, status)) = &live
            && status.is_pending()
        {
            return Ok(Some(email_id.clone()));
        }
        let email_id = new_id();
        sqlx::query(super::emails::QUEUE)
            .bind(&email_id).bind(merchant_id).bind(None::<&str>).bind(EmailKind::SignIn).bind(email.as_str()).bind(now)
            .bind(EmailStatus::Queued)
            .execute(&mut *tx).await?;
        if let Some((code_id, _, _)) = live {
            // The outbox finds a sign-in by its newest email.
            sqlx::query("UPDATE sign_in_codes SET email_id = $2 WHERE id = $1")
                .bind(&code_id).bind(&email_id).execute(&mut *tx).await?;
        } else {
            sqlx::query("UPDATE sign_in_codes SET used_at = $2 WHERE customer_id = $1 AND used_at IS NULL")
                .bind(&customer_id).bind(now).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO sign_in_codes (id, merchant_id, customer_id, salt, link_hash, email_id, failed_attempts, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
            )
            .bind(new_id()).bind(merchant_id).bind(&customer_id).bind(salt).bind(link_hash).bind(&email_id)
            .bind(now).bind(now + SIGN_IN_LIFETIME_MS)
            .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Some(email_id))
    })
}

/// What a typed code may be checked against.
#[derive(Debug)]
pub enum CodeTry {
    /// This code, with one try counted against it (see [`code_was_right`]).
    Counted(SignIn),
    /// No live code for this address: never asked, used, replaced or expired.
    NoCode,
    /// The code had [`MAX_WRONG_CODES`] wrong tries: only a new code helps.
    Locked,
}

/// Finds the live code of `email` at the shop and counts one try against it, atomically, so
/// parallel guesses cannot get past [`MAX_WRONG_CODES`].
pub async fn try_code(db: &Db, merchant_id: &str, email: &Email, now: Millis) -> Result<CodeTry, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {SIGN_IN_COLUMNS} FROM sign_in_codes s JOIN customers c ON c.id = s.customer_id \
         WHERE c.merchant_id = $1 AND c.email = $2 ORDER BY s.created_at DESC, s.id DESC LIMIT 1"
    ));
    let latest: Option<SignIn> =
        with_pool!(db, pool => sqlx::query_as(sql).bind(merchant_id).bind(email.as_str()).fetch_optional(pool).await?);
    let Some(mut code) = latest else { return Ok(CodeTry::NoCode) };
    if code.used_at.is_some() || code.expires_at <= now {
        return Ok(CodeTry::NoCode);
    }
    let counted = with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE sign_in_codes SET failed_attempts = failed_attempts + 1 \
             WHERE id = $1 AND failed_attempts < $2 AND used_at IS NULL",
        )
        .bind(&code.id).bind(MAX_WRONG_CODES).execute(pool).await?.rows_affected()
    });
    if counted == 0 {
        return Ok(CodeTry::Locked);
    }
    code.failed_attempts += 1;
    Ok(CodeTry::Counted(code))
}

/// Uses a code that was typed right: true when it was still live (then it never works again).
pub async fn code_was_right(db: &Db, id: &str, now: Millis) -> Result<bool, DbError> {
    let used = with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE sign_in_codes SET used_at = $2, failed_attempts = failed_attempts - 1 \
             WHERE id = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(id).bind(now).execute(pool).await?.rows_affected()
    });
    Ok(used == 1)
}

/// The sign-in a magic link names, if it is still live (for the page before the click).
pub async fn live_link(db: &Db, merchant_id: &str, link_hash: &str, now: Millis) -> Result<Option<SignIn>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {SIGN_IN_COLUMNS} FROM sign_in_codes s WHERE s.link_hash = $1 AND s.merchant_id = $2 \
         AND s.used_at IS NULL AND s.expires_at > $3"
    ));
    Ok(
        with_pool!(db, pool => sqlx::query_as(sql).bind(link_hash).bind(merchant_id).bind(now).fetch_optional(pool).await?),
    )
}

/// Uses a magic link: the customer it signs in, once, while it is live.
pub async fn use_link(db: &Db, merchant_id: &str, link_hash: &str, now: Millis) -> Result<Option<String>, DbError> {
    let customer: Option<(String,)> = with_pool!(db, write pool => {
        sqlx::query_as(
            "UPDATE sign_in_codes SET used_at = $3 WHERE link_hash = $1 AND merchant_id = $2 \
             AND used_at IS NULL AND expires_at > $3 RETURNING customer_id",
        )
        .bind(link_hash).bind(merchant_id).bind(now).fetch_optional(pool).await?
    });
    Ok(customer.map(|(id,)| id))
}

/// The sign-in an outbox email carries.
pub async fn of_email(db: &Db, email_id: &str) -> Result<Option<SignIn>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {SIGN_IN_COLUMNS} FROM sign_in_codes s WHERE s.email_id = $1"));
    Ok(with_pool!(db, pool => sqlx::query_as(sql).bind(email_id).fetch_optional(pool).await?))
}

/// A customer of the shop by id (None when unknown or another shop's).
pub async fn customer(db: &Db, merchant_id: &str, customer_id: &str) -> Result<Option<Customer>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as("SELECT id, email, name FROM customers WHERE id = $1 AND merchant_id = $2")
            .bind(customer_id).bind(merchant_id).fetch_optional(pool).await?
    }))
}

/// Where a page of purchases starts: after the order made at `created_at` with `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageStart {
    /// Payment time of the last order shown.
    pub created_at: Millis,
    /// Its id (orders paid in the same millisecond are told apart by id).
    pub id: String,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    order_id: String,
    #[sqlx(flatten)]
    item: OrderItem,
}

#[derive(sqlx::FromRow)]
struct FileRow {
    order_id: String,
    #[sqlx(flatten)]
    file: OrderFile,
}

/// Up to `limit` orders of the customer at the shop, newest first, starting after `after`,
/// with their products and files: three queries whatever the page holds (keyset pagination on
/// `(created_at, id)` over the `orders_customer_page` index, so page 500 costs what page 1 does).
pub async fn purchases(
    db: &Db,
    merchant_id: &str,
    customer_id: &str,
    after: Option<&PageStart>,
    limit: i64,
) -> Result<Vec<OrderDetail>, DbError> {
    let keyset = if after.is_some() { "AND (o.created_at, o.id) < ($4, $5)" } else { "" };
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE o.customer_id = $1 AND o.merchant_id = $2 {keyset} ORDER BY o.created_at DESC, o.id DESC LIMIT $3"
    ));
    let orders: Vec<Order> = with_pool!(db, pool => {
        let mut query = sqlx::query_as(sql).bind(customer_id).bind(merchant_id).bind(limit);
        if let Some(after) = after {
            query = query.bind(after.created_at).bind(&after.id);
        }
        query.fetch_all(pool).await?
    });
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=orders.len()).map(|i| format!("${i}")).collect();
    let placeholders = placeholders.join(", ");
    let items_sql = sqlx::AssertSqlSafe(format!(
        "SELECT order_id, position, product_id, product_name, quantity, delivery_mode, external_url, instructions, \
         link_clicks FROM order_items WHERE order_id IN ({placeholders}) ORDER BY order_id, position"
    ));
    let files_sql = sqlx::AssertSqlSafe(format!(
        "SELECT order_id, position, item_position, blob_id, display_name, size, content_type, sha256, storage_key, \
         download_count, release_number FROM order_files WHERE order_id IN ({placeholders}) ORDER BY order_id, position"
    ));
    let (items, files): (Vec<ItemRow>, Vec<FileRow>) = with_pool!(db, pool => {
        let mut items = sqlx::query_as(items_sql);
        let mut files = sqlx::query_as(files_sql);
        for order in &orders {
            items = items.bind(&order.id);
            files = files.bind(&order.id);
        }
        (items.fetch_all(pool).await?, files.fetch_all(pool).await?)
    });
    let mut details: Vec<OrderDetail> = orders
        .into_iter()
        .map(|order| OrderDetail { order, items: Vec::new(), files: Vec::new(), sharing: Default::default() })
        .collect();
    let index: std::collections::HashMap<String, usize> =
        details.iter().enumerate().map(|(i, d)| (d.order.id.clone(), i)).collect();
    for row in items {
        if let Some(&i) = index.get(&row.order_id) {
            details[i].items.push(row.item);
        }
    }
    for row in files {
        if let Some(&i) = index.get(&row.order_id) {
            details[i].files.push(row.file);
        }
    }
    Ok(details)
}
