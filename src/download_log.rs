//! The download log: every download attempt is recorded (order, file, time, IP, user agent,
//! status, bytes requested) without making the download wait for a database write. Events go
//! through a channel to one task that writes them in batches, together with the download
//! counts of orders whose policy has no limit (a limit is checked synchronously instead).

use tokio::sync::mpsc;

use crate::db::{Db, new_id, with_pool};
use crate::domain::Millis;

/// Most events written in one transaction.
const BATCH: usize = 512;
/// Events waiting at most; beyond this, downloads wait for the writer (backpressure, not loss).
const QUEUE: usize = 16_384;

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
}

/// Sends events to the writer task.
#[derive(Clone, Debug)]
pub struct DownloadLog {
    sender: mpsc::Sender<DownloadEvent>,
}

impl DownloadLog {
    /// Starts the writer task on `db`.
    pub fn start(db: Db) -> DownloadLog {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(db, receiver));
        DownloadLog { sender }
    }

    /// Queues an event.
    pub async fn record(&self, event: DownloadEvent) {
        if self.sender.send(event).await.is_err() {
            tracing::warn!("download log writer has stopped; an event was not recorded");
        }
    }
}

async fn write_batches(db: Db, mut receiver: mpsc::Receiver<DownloadEvent>) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        if let Err(e) = write(&db, &batch).await {
            tracing::error!(error = %e, count = batch.len(), "could not write download events");
        }
        batch.clear();
    }
}

async fn write(db: &Db, batch: &[DownloadEvent]) -> Result<(), sqlx::Error> {
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        for e in batch {
            sqlx::query(
                "INSERT INTO download_events (id, order_id, file_position, item_position, at, ip, user_agent, status, \
                 range_start, bytes_requested, counted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(new_id()).bind(&e.order_id).bind(e.file_position).bind(e.item_position).bind(e.at).bind(&e.ip)
            .bind(&e.user_agent).bind(i64::from(e.status)).bind(e.range_start).bind(e.bytes_requested).bind(e.counted)
            .execute(&mut *tx).await?;
            if e.increment {
                match (e.file_position, e.item_position) {
                    (Some(position), _) => {
                        sqlx::query("UPDATE order_files SET download_count = download_count + 1 WHERE order_id = $1 AND position = $2")
                            .bind(&e.order_id).bind(position).execute(&mut *tx).await?;
                    }
                    (None, Some(position)) => {
                        sqlx::query("UPDATE order_items SET link_clicks = link_clicks + 1 WHERE order_id = $1 AND position = $2")
                            .bind(&e.order_id).bind(position).execute(&mut *tx).await?;
                    }
                    (None, None) => {}
                }
            }
        }
        tx.commit().await?;
    });
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
}

/// The latest download events of an order.
pub async fn of_order(db: &Db, order_id: &str, limit: i64) -> Result<Vec<DownloadEventRow>, crate::db::DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT file_position, item_position, at, ip, user_agent, status, range_start, bytes_requested, counted \
             FROM download_events WHERE order_id = $1 ORDER BY at DESC LIMIT $2",
        )
        .bind(order_id).bind(limit).fetch_all(pool).await?
    }))
}
