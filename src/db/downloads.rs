//! The download log's rows: batches written by the log's task (`crate::download_log`), and
//! the latest events of an order for the merchant.

use std::collections::HashMap;

use super::{Db, DbError, new_id, on_tx, with_pool};
use crate::domain::Millis;

/// One download attempt.
#[derive(Debug, Clone)]
pub struct DownloadEvent {
    /// Order.
    pub order_id: String,
    /// File position (None for the external link).
    pub file_position: Option<i64>,
    /// Item position (for the external link).
    pub item_position: Option<i64>,
    /// When.
    pub at: Millis,
    /// Client address.
    pub ip: String,
    /// Client's User-Agent.
    pub user_agent: String,
    /// Status answered.
    pub status: u16,
    /// First byte asked for, when a Range was served.
    pub range_start: Option<i64>,
    /// Bytes the answer carries.
    pub bytes_requested: i64,
    /// Whether it counted as a download.
    pub counted: bool,
    /// Add one to the file's (or link's) count in the same write (unlimited policies).
    pub increment: bool,
    /// The release the served file came from (None: no file, or a file from before releases).
    pub release_number: Option<i64>,
}

/// Refused answers (status 400 and above) kept per order, the latest ones: a client hammering
/// an expired or used-up link replaces these rows instead of adding to the table.
pub const REFUSED_KEPT: i64 = 50;

/// Rows per INSERT statement (12 parameters each, well under SQLite's limit).
const ROWS_PER_INSERT: usize = 128;

/// Writes a batch: multi-row INSERTs (one round trip per 128 events, not per event) and one
/// UPDATE per file or link whose count moved.
pub(crate) async fn write(db: &Db, batch: &[DownloadEvent]) -> Result<(), DbError> {
    let mut increments: HashMap<(&str, Option<i64>, Option<i64>), i64> = HashMap::new();
    for e in batch.iter().filter(|e| e.increment) {
        let key =
            (e.order_id.as_str(), e.file_position, if e.file_position.is_some() { None } else { e.item_position });
        *increments.entry(key).or_default() += 1;
    }
    // SQLite binds `$N` by looking its name up among all parameters (quadratic in a long
    // multi-row statement: it showed as the top symbol in a profile); `?` binds by position.
    let sqlite = matches!(db, Db::Sqlite(_));
    // Files whose count moved: (order, position, count before, count after), for their events.
    let mut moved: Vec<(&str, i64, i64, i64)> = Vec::new();
    let mut tx = db.begin_write().await?;
    on_tx!(&mut tx, conn => {
        for rows in batch.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO download_events (id, order_id, file_position, item_position, at, ip, user_agent, status, \
                 range_start, bytes_requested, counted, release_number) VALUES ",
            );
            for i in 0..rows.len() {
                let p = i * 12;
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                if sqlite {
                    sql.push_str("?,?,?,?,?,?,?,?,?,?,?,?");
                } else {
                    sql.push_str(&(1..=12).map(|k| format!("${}", p + k)).collect::<Vec<_>>().join(","));
                }
                sql.push(')');
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in rows {
                query = query
                    .bind(new_id()).bind(e.order_id.clone()).bind(e.file_position).bind(e.item_position).bind(e.at)
                    .bind(e.ip.clone()).bind(e.user_agent.clone()).bind(i64::from(e.status)).bind(e.range_start)
                    .bind(e.bytes_requested).bind(e.counted).bind(e.release_number);
            }
            query.execute(&mut *conn).await?;
        }
        for ((order_id, file, item), by) in &increments {
            match (file, item) {
                (Some(position), _) => {
                    let after: Option<i64> = sqlx::query_scalar(
                        "UPDATE order_files SET download_count = download_count + $3 WHERE order_id = $1 \
                         AND position = $2 RETURNING download_count",
                    )
                    .bind(*order_id).bind(*position).bind(*by).fetch_optional(&mut *conn).await?;
                    if let Some(after) = after {
                        moved.push((order_id, *position, after - by, after));
                    }
                }
                (None, Some(position)) => {
                    sqlx::query("UPDATE order_items SET link_clicks = link_clicks + $3 WHERE order_id = $1 AND position = $2")
                        .bind(*order_id).bind(*position).bind(*by).execute(&mut *conn).await?;
                }
                (None, None) => {}
            }
        }
        let mut refused: Vec<&str> = batch.iter().filter(|e| e.status >= 400).map(|e| e.order_id.as_str()).collect();
        refused.sort_unstable();
        refused.dedup();
        for order_id in refused {
            sqlx::query(
                "DELETE FROM download_events WHERE order_id = $1 AND status >= 400 AND id NOT IN \
                 (SELECT id FROM download_events WHERE order_id = $1 AND status >= 400 ORDER BY at DESC, id DESC LIMIT $2)",
            )
            .bind(order_id).bind(REFUSED_KEPT).execute(&mut *conn).await?;
        }
    });
    // download.started for a file's first download (issue 17), in the same transaction.
    let now = crate::domain::now_millis();
    for (order_id, position, before, after) in moved {
        super::event_outbox::queue_download_events(&mut tx, order_id, position, before, after, None, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A download event as the merchant sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DownloadEventRow {
    /// File position.
    pub file_position: Option<i64>,
    /// Item position (external link).
    pub item_position: Option<i64>,
    /// When.
    pub at: Millis,
    /// Client address.
    pub ip: String,
    /// User agent.
    pub user_agent: String,
    /// Status answered.
    pub status: i64,
    /// First byte of a range.
    pub range_start: Option<i64>,
    /// Bytes in the answer.
    pub bytes_requested: i64,
    /// Counted as a download.
    pub counted: bool,
    /// The release the file served came from (None: no file, or logged before releases).
    pub release_number: Option<i64>,
}

/// The latest download events of an order.
pub async fn of_order(db: &Db, order_id: &str, limit: i64) -> Result<Vec<DownloadEventRow>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT file_position, item_position, at, ip, user_agent, status, range_start, bytes_requested, counted, \
             release_number FROM download_events WHERE order_id = $1 ORDER BY at DESC LIMIT $2",
        )
        .bind(order_id).bind(limit).fetch_all(pool).await?
    }))
}
