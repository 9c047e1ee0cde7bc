//! A merchant's test data: the test orders and everything hanging off them, counted and
//! deleted in one transaction. Real orders are never touched: every statement names test
//! orders (or customers left with no order at all once they are gone).

use super::{Db, DbError, WriteTx, on_tx, with_pool};

/// What "Delete test data" removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Test orders.
    pub orders: u64,
    /// Customers who had bought nothing but test orders.
    pub customers: u64,
    /// The ids of the emails removed (their copies in the file mailbox go too).
    pub email_ids: Vec<String>,
}

/// How many test orders `merchant_id` has.
pub async fn count(db: &Db, merchant_id: &str) -> Result<i64, DbError> {
    let (n,): (i64,) = with_pool!(db, pool => {
        sqlx::query_as("SELECT COUNT(*) FROM orders WHERE merchant_id = $1 AND test").bind(merchant_id)
            .fetch_one(pool).await?
    });
    Ok(n)
}

// The merchant's test orders, as a subquery bound to $1.
const TEST_ORDERS: &str = "SELECT id FROM orders WHERE merchant_id = $1 AND test";

/// Deletes `merchant_id`'s test orders with their frozen delivery, download log, emails,
/// payment events and idempotency keys, then the customers who bought nothing else (with their
/// sign-in codes, sign-in emails and portal sessions). All or nothing.
pub async fn delete(db: &Db, merchant_id: &str) -> Result<Deleted, DbError> {
    let mut tx = db.begin_write().await?;
    let customers = test_only_customers(&mut tx, merchant_id).await?;
    let mut email_ids =
        ids(&mut tx, &format!("SELECT id FROM emails WHERE order_id IN ({TEST_ORDERS})"), merchant_id).await?;
    for table in ["order_items", "order_files", "order_releases", "download_events", "emails"] {
        run(&mut tx, &format!("DELETE FROM {table} WHERE order_id IN ({TEST_ORDERS})"), merchant_id, &[]).await?;
    }
    for table in ["payment_events", "idempotency_keys"] {
        let sql = format!("DELETE FROM {table} WHERE merchant_id = $1 AND order_id IN ({TEST_ORDERS})");
        run(&mut tx, &sql, merchant_id, &[]).await?;
    }
    let orders = run(&mut tx, "DELETE FROM orders WHERE merchant_id = $1 AND test", merchant_id, &[]).await?;
    let customer_ids: Vec<&str> = customers.iter().map(String::as_str).collect();
    let mut removed_customers = 0;
    // A page of placeholders at a time keeps every statement under both engines' limits.
    for chunk in customer_ids.chunks(500) {
        let list = placeholders(chunk.len());
        let codes = format!("SELECT email_id FROM sign_in_codes WHERE merchant_id = $1 AND customer_id IN ({list})");
        let mut codes_emails = ids_with(&mut tx, &codes, merchant_id, chunk).await?;
        let sql = format!("DELETE FROM sign_in_codes WHERE merchant_id = $1 AND customer_id IN ({list})");
        run(&mut tx, &sql, merchant_id, chunk).await?;
        for email_chunk in codes_emails.clone().chunks(500) {
            let sql =
                format!("DELETE FROM emails WHERE merchant_id = $1 AND id IN ({})", placeholders(email_chunk.len()));
            let refs: Vec<&str> = email_chunk.iter().map(String::as_str).collect();
            run(&mut tx, &sql, merchant_id, &refs).await?;
        }
        email_ids.append(&mut codes_emails);
        let sql =
            format!("DELETE FROM sessions WHERE merchant_id = $1 AND kind = 'customer' AND subject_id IN ({list})");
        run(&mut tx, &sql, merchant_id, chunk).await?;
        let sql = format!("DELETE FROM customers WHERE merchant_id = $1 AND id IN ({list})");
        removed_customers += run(&mut tx, &sql, merchant_id, chunk).await?;
    }
    tx.commit().await?;
    Ok(Deleted { orders, customers: removed_customers, email_ids })
}

/// Customers all of whose orders are test orders.
async fn test_only_customers(tx: &mut WriteTx, merchant_id: &str) -> Result<Vec<String>, DbError> {
    let sql = "SELECT DISTINCT o.customer_id FROM orders o WHERE o.merchant_id = $1 AND o.test \
               AND NOT EXISTS (SELECT 1 FROM orders r WHERE r.customer_id = o.customer_id AND NOT r.test)";
    ids(tx, sql, merchant_id).await
}

/// `$2, $3, …`: one placeholder per value after the merchant's id.
fn placeholders(n: usize) -> String {
    (0..n).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ")
}

async fn ids(tx: &mut WriteTx, sql: &str, merchant_id: &str) -> Result<Vec<String>, DbError> {
    ids_with(tx, sql, merchant_id, &[]).await
}

async fn ids_with(tx: &mut WriteTx, sql: &str, merchant_id: &str, values: &[&str]) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> = on_tx!(tx, conn => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned())).bind(merchant_id);
        for value in values {
            query = query.bind(*value);
        }
        query.fetch_all(conn).await?
    });
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

async fn run(tx: &mut WriteTx, sql: &str, merchant_id: &str, values: &[&str]) -> Result<u64, DbError> {
    Ok(on_tx!(tx, conn => {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).bind(merchant_id);
        for value in values {
            query = query.bind(*value);
        }
        query.execute(conn).await?.rows_affected()
    }))
}
