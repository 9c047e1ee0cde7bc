//! What the Overview sums up: revenue per currency, sales per day, the best-selling products
//! and downloads. Money counts sales only ([`SALE`]).

use super::customers::{HALF, saturate};
use super::{Db, DbError, with_pool};
use crate::domain::{Millis, OrderStatus};

/// The condition an order `o` meets to count as a sale, with [`OrderStatus::Paid`] bound as
/// `$2`: paid and still paid (neither refunded nor revoked), and not a test order.
pub(crate) const SALE: &str = "o.status = $2 AND NOT o.test";

/// A day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// Money taken in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revenue {
    /// ISO currency.
    pub currency: String,
    /// Sum, minor units (clamped at `i64::MAX`).
    pub amount_minor: i64,
    /// Sales counted.
    pub orders: i64,
}

/// Sales of one day (UTC) in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySales {
    /// Days since 1970-01-01.
    pub day: i64,
    /// ISO currency.
    pub currency: String,
    /// Sum, minor units.
    pub amount_minor: i64,
    /// Sales counted.
    pub orders: i64,
}

/// A product and how often it sold.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TopProduct {
    /// Product id.
    pub product_id: String,
    /// Its current name (the name at sale time if it is gone).
    pub name: String,
    /// Sales that included it.
    pub orders: i64,
    /// Copies sold.
    pub quantity: i64,
}

#[derive(sqlx::FromRow)]
struct Parts {
    day: i64,
    currency: String,
    high: i64,
    low: i64,
    orders: i64,
}

impl Parts {
    fn amount(&self) -> i64 {
        saturate(i128::from(self.high) * i128::from(HALF) + i128::from(self.low))
    }
}

/// Sums of sales since `since` (all time with 0), per currency and, when `by_day`, per day.
async fn sums(db: &Db, merchant_id: &str, since: Millis, by_day: bool) -> Result<Vec<Parts>, DbError> {
    let (day, group) = if by_day {
        let day = format!("o.created_at / {DAY_MS}");
        (day.clone(), format!("{day}, o.currency"))
    } else {
        ("0".to_owned(), "o.currency".to_owned())
    };
    // Amounts are summed in halves, as customers' spending is, so no sum overflows.
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT CAST({day} AS BIGINT) AS day, o.currency, CAST(SUM(o.amount_minor / {HALF}) AS BIGINT) AS high, \
         CAST(SUM(o.amount_minor % {HALF}) AS BIGINT) AS low, COUNT(*) AS orders FROM orders o \
         WHERE o.merchant_id = $1 AND {SALE} AND o.created_at >= $3 \
         GROUP BY {group} ORDER BY 1, 2"
    ));
    Ok(with_pool!(db, pool => {
        sqlx::query_as(sql).bind(merchant_id).bind(OrderStatus::Paid).bind(since).fetch_all(pool).await?
    }))
}

/// Revenue per currency, all time, largest first.
pub async fn revenue(db: &Db, merchant_id: &str) -> Result<Vec<Revenue>, DbError> {
    let mut all: Vec<Revenue> = sums(db, merchant_id, 0, false)
        .await?
        .into_iter()
        .map(|p| Revenue { amount_minor: p.amount(), currency: p.currency, orders: p.orders })
        .collect();
    all.sort_by(|a, b| b.orders.cmp(&a.orders).then_with(|| a.currency.cmp(&b.currency)));
    Ok(all)
}

/// Sales per day and currency since `since`.
pub async fn per_day(db: &Db, merchant_id: &str, since: Millis) -> Result<Vec<DaySales>, DbError> {
    Ok(sums(db, merchant_id, since, true)
        .await?
        .into_iter()
        .map(|p| DaySales { day: p.day, amount_minor: p.amount(), currency: p.currency, orders: p.orders })
        .collect())
}

/// The `limit` products in the most sales, with how many copies sold.
pub async fn top_products(db: &Db, merchant_id: &str, limit: i64) -> Result<Vec<TopProduct>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT i.product_id, COALESCE(MAX(p.name), MAX(i.product_name)) AS name, COUNT(DISTINCT o.id) AS orders, \
         CAST(SUM(i.quantity) AS BIGINT) AS quantity FROM order_items i JOIN orders o ON o.id = i.order_id \
         LEFT JOIN products p ON p.id = i.product_id WHERE o.merchant_id = $1 AND {SALE} \
         GROUP BY i.product_id ORDER BY 3 DESC, 4 DESC, 2 LIMIT $3"
    ));
    Ok(with_pool!(db, pool => {
        sqlx::query_as(sql).bind(merchant_id).bind(OrderStatus::Paid).bind(limit).fetch_all(pool).await?
    }))
}

/// Downloads of real (not test) orders: counted file downloads plus external link visits.
pub async fn downloads(db: &Db, merchant_id: &str) -> Result<i64, DbError> {
    let (n,): (i64,) = with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT (SELECT CAST(COALESCE(SUM(f.download_count), 0) AS BIGINT) FROM order_files f \
             JOIN orders o ON o.id = f.order_id WHERE o.merchant_id = $1 AND NOT o.test) \
             + (SELECT CAST(COALESCE(SUM(i.link_clicks), 0) AS BIGINT) FROM order_items i \
             JOIN orders o ON o.id = i.order_id WHERE o.merchant_id = $1 AND NOT o.test)",
        )
        .bind(merchant_id).fetch_one(pool).await?
    });
    Ok(n)
}
