//! Customers as the merchant sees them: who bought, how often, when last, and how much.

use super::order_list::contains_pattern;
use super::page::{Cursor, Page, PageAt};
use super::sales::SALE;
use super::{Db, DbError, found, with_pool};
use crate::domain::{Millis, OrderStatus};

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
    /// Real orders placed (test orders are counted apart).
    pub orders: i64,
    /// Test orders placed.
    pub test_orders: i64,
    /// When they last bought (their creation time if they have no order).
    pub last_order_at: Millis,
    /// When they first bought.
    pub created_at: Millis,
}

/// What a customer spent in one currency: sales only (see [`super::sales::SALE`]), so refunded,
/// revoked and test orders are left out.
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
        "SELECT c.id, c.email, c.name, COUNT(CASE WHEN NOT o.test THEN o.id END) AS orders, \
         COUNT(CASE WHEN o.test THEN o.id END) AS test_orders, {LAST_ORDER} AS last_order_at, c.created_at \
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

/// A sum as the database returns it: the amounts' high and low 32-bit halves summed apart.
#[derive(sqlx::FromRow)]
struct SpentParts {
    customer_id: String,
    currency: String,
    high: i64,
    low: i64,
}

/// `2^32`: amounts are summed as `amount / 2^32` and `amount % 2^32`, so that neither sum can
/// overflow a 64-bit integer (SQLite's SUM fails on overflow, PostgreSQL's cast back to
/// BIGINT too) before billions of orders; Rust adds the halves in 128 bits.
pub(crate) const HALF: i64 = 1 << 32;

/// What each of `customer_ids` spent, per currency, counting sales only (not refunded,
/// revoked or test orders). Sums beyond an
/// `i64` (only possible with amounts stored before they were bounded) are shown as its maximum.
pub async fn spent(db: &Db, merchant_id: &str, customer_ids: &[&str]) -> Result<Vec<Spent>, DbError> {
    if customer_ids.is_empty() {
        return Ok(Vec::new());
    }
    // One placeholder per id ($3, $4, …): the list is at most a page long.
    let placeholders: Vec<String> = (0..customer_ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT customer_id, currency, CAST(SUM(amount_minor / {HALF}) AS BIGINT) AS high, \
         CAST(SUM(amount_minor % {HALF}) AS BIGINT) AS low FROM orders o \
         WHERE merchant_id = $1 AND {SALE} AND customer_id IN ({}) \
         GROUP BY customer_id, currency ORDER BY customer_id, currency",
        placeholders.join(", ")
    ));
    let parts: Vec<SpentParts> = with_pool!(db, pool => {
        let mut query = sqlx::query_as(sql).bind(merchant_id).bind(OrderStatus::Paid);
        for id in customer_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await?
    });
    Ok(parts
        .into_iter()
        .map(|p| Spent {
            customer_id: p.customer_id,
            currency: p.currency,
            amount_minor: saturate(i128::from(p.high) * i128::from(HALF) + i128::from(p.low)),
        })
        .collect())
}

/// `sum` as an `i64`, clamped at its ends.
pub(crate) fn saturate(sum: i128) -> i64 {
    i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_add_up_exactly_and_clamp() {
        let split = |a: i64| (a / HALF, a % HALF);
        for amounts in [vec![i64::MAX, i64::MAX], vec![1999, 5], vec![-7, 3, i64::MAX]] {
            let (high, low) = amounts.iter().fold((0i128, 0i128), |(h, l), a| {
                let (ah, al) = split(*a);
                (h + i128::from(ah), l + i128::from(al))
            });
            let exact: i128 = amounts.iter().map(|a| i128::from(*a)).sum();
            assert_eq!(high * i128::from(HALF) + low, exact);
        }
        assert_eq!(saturate(i128::from(i64::MAX) * 2), i64::MAX);
        assert_eq!(saturate(-5), -5);
    }
}
