//! The dashboard's order list: one page of orders with what the merchant scans for (the
//! state of the latest email, downloads so far, what was bought), searched and filtered.

use super::orders::{ORDER_COLUMNS, Order};
use super::page::{Cursor, Page, PageAt};
use super::{Db, DbError, with_pool};
use crate::domain::{EmailKind, EmailStatus, Millis, OrderStatus};

/// Orders shown per page.
pub const PAGE_SIZE: usize = 50;

/// An order as a row of the list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderSummary {
    /// The order.
    #[sqlx(flatten)]
    pub order: Order,
    /// Status of the order's latest email (`queued`, `sending`, `sent`, `retrying`, `failed`).
    pub email_status: Option<EmailStatus>,
    /// Why its last attempt failed.
    pub email_error: Option<String>,
    /// When it is tried again, while retrying.
    pub email_next_attempt_at: Option<Millis>,
    /// Counted file downloads plus external link visits.
    pub downloads: i64,
    /// The first product's name as frozen into the order.
    pub first_product: Option<String>,
    /// How many products the order has.
    pub item_count: i64,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    /// Part of the customer's email (case-insensitive).
    pub email_contains: Option<String>,
    /// Only orders in this state.
    pub status: Option<OrderStatus>,
    /// Only orders whose latest email is retrying or has failed.
    pub email_trouble: bool,
    /// Only this customer's orders.
    pub customer_id: Option<String>,
    /// Only test orders (`Some(true)`) or only real ones (`Some(false)`).
    pub test: Option<bool>,
    /// Which page.
    pub page: PageAt,
}

/// A LIKE pattern matching `text` anywhere, with LIKE's own wildcards taken literally.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// One page of the merchant's orders, newest first.
pub async fn page(db: &Db, merchant_id: &str, q: &OrderQuery) -> Result<Page<OrderSummary>, DbError> {
    let (keyset, order_by) = q.page.sql("o.created_at", "o.id", 6);
    // The latest email is found by a correlated subquery in the join, which both engines run
    // through the (order_id, created_at) index. Update emails are left out: the column tells
    // of the order's delivery email (purchase or resend); releases show theirs.
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS}, le.status AS email_status, le.last_error AS email_error, \
         le.next_attempt_at AS email_next_attempt_at, \
         (SELECT CAST(COALESCE(SUM(f.download_count), 0) AS BIGINT) FROM order_files f WHERE f.order_id = o.id) \
         + (SELECT CAST(COALESCE(SUM(i.link_clicks), 0) AS BIGINT) FROM order_items i WHERE i.order_id = o.id) \
         AS downloads, \
         (SELECT i.product_name FROM order_items i WHERE i.order_id = o.id ORDER BY i.position LIMIT 1) AS first_product, \
         (SELECT COUNT(*) FROM order_items i WHERE i.order_id = o.id) AS item_count \
         FROM orders o JOIN customers c ON c.id = o.customer_id \
         LEFT JOIN emails le ON le.id = (SELECT e.id FROM emails e WHERE e.order_id = o.id AND e.kind <> $12 \
         ORDER BY e.created_at DESC, e.id DESC LIMIT 1) \
         WHERE o.merchant_id = $1 AND ($2 IS NULL OR c.email LIKE $2 ESCAPE '\\') AND ($3 IS NULL OR o.status = $3) \
         AND ($4 IS NULL OR o.customer_id = $4) AND (NOT $5 OR le.status IN ($9, $10)) \
         AND ($11 IS NULL OR o.test = $11) AND {keyset} \
         ORDER BY {order_by} LIMIT $8"
    ));
    let pattern = q.email_contains.as_deref().filter(|e| !e.trim().is_empty()).map(contains_pattern);
    let rows: Vec<OrderSummary> = with_pool!(db, pool => {
        sqlx::query_as(sql)
            .bind(merchant_id).bind(&pattern).bind(q.status).bind(&q.customer_id).bind(q.email_trouble)
            .bind(q.page.bind_at()).bind(q.page.bind_id()).bind(PAGE_SIZE as i64 + 1)
            .bind(EmailStatus::Retrying).bind(EmailStatus::Failed).bind(q.test).bind(EmailKind::ReleaseUpdate)
            .fetch_all(pool).await?
    });
    Ok(Page::new(rows, PAGE_SIZE, &q.page, |s| Cursor { at: s.order.created_at, id: s.order.id.clone() }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn search_text_is_literal() {
        assert_eq!(super::contains_pattern(" Ada_100%@X "), "%ada\\_100\\%@x%");
    }
}
