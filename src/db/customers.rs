//! Customers as the merchant sees them: who bought, how often, when last, and how much.

use super::order_list::contains_pattern;
use super::page::{Cursor, Page, PageAt};
use super::{Db, DbError, found, with_pool};
use crate::domain::Millis;

/// Customers shown per page.
pub const PAGE_SIZE: usize = 50;

/// A customer with their orders summed up.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Customer {
    /// Id.
    pub id: String,
    /// Email (normalized).
    pub email: String,
    /// Name as given at their first purchase ("" when unknown).
    pub name: String,
    /// Orders placed.
    pub orders: i64,
    /// When they last bought (their creation time if they have no order).
    pub last_order_at: Millis,
    /// When they first bought.
    pub created_at: Millis,
}

/// What a customer spent in one currency (refunded orders left out).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Spent {
    /// Customer.
    pub customer_id: String,
    /// ISO currency.
    pub currency: String,
    /// Sum, minor units.
    pub amount_minor: i64,
}

// Sorted by last purchase, the order a merchant looks for people in; the cursor compares the
// aggregate itself, so the keyset goes into HAVING.
const LAST_ORDER: &str = "COALESCE(MAX(o.created_at), c.created_at)";

fn select(filter: &str, having: &str) -> String {
    format!(
        "SELECT c.id, c.email, c.name, COUNT(o.id) AS orders, {LAST_ORDER} AS last_order_at, c.created_at \
         FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE c.merchant_id = $1 AND {filter} \
         GROUP BY c.id, c.email, c.name, c.created_at {having}"
    )
}

/// One page of the merchant's customers, latest buyers first, searched by email or name.
pub async fn page(db: &Db, merchant_id: &str, search: Option<&str>, at: &PageAt) -> Result<Page<Customer>, DbError> {
    let (keyset, order_by) = at.sql(LAST_ORDER, "c.id", 3);
    let sql = sqlx::AssertSqlSafe(format!(
        "{} ORDER BY {order_by} LIMIT $5",
        select(
            "($2 IS NULL OR c.email LIKE $2 ESCAPE '\\' OR LOWER(c.name) LIKE $2 ESCAPE '\\')",
            &format!("HAVING {keyset}")
        )
    ));
    let pattern = search.filter(|s| !s.trim().is_empty()).map(contains_pattern);
    let rows: Vec<Customer> = with_pool!(db, pool => {
        sqlx::query_as(sql)
            .bind(merchant_id).bind(&pattern).bind(at.bind_at()).bind(at.bind_id()).bind(PAGE_SIZE as i64 + 1)
            .fetch_all(pool).await?
    });
    Ok(Page::new(rows, PAGE_SIZE, at, |c| Cursor { at: c.last_order_at, id: c.id.clone() }))
}

/// One of the merchant's customers.
pub async fn get(db: &Db, merchant_id: &str, id: &str) -> Result<Customer, DbError> {
    let sql = sqlx::AssertSqlSafe(select("c.id = $2", ""));
    with_pool!(db, pool => found(sqlx::query_as(sql).bind(merchant_id).bind(id).fetch_optional(pool).await?))
}

/// What each of `customer_ids` spent, per currency, refunded orders left out.
pub async fn spent(db: &Db, merchant_id: &str, customer_ids: &[&str]) -> Result<Vec<Spent>, DbError> {
    if customer_ids.is_empty() {
        return Ok(Vec::new());
    }
    // One placeholder per id ($2, $3, …): the list is at most a page long.
    let placeholders: Vec<String> = (0..customer_ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT customer_id, currency, CAST(SUM(amount_minor) AS BIGINT) AS amount_minor FROM orders \
         WHERE merchant_id = $1 AND refunded_at IS NULL AND customer_id IN ({}) \
         GROUP BY customer_id, currency ORDER BY customer_id, currency",
        placeholders.join(", ")
    ));
    Ok(with_pool!(db, pool => {
        let mut query = sqlx::query_as(sql).bind(merchant_id);
        for id in customer_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await?
    }))
}
