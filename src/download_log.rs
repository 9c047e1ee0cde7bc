//! The download log: every download attempt is recorded (order, file, time, IP, user agent,
//! status, bytes requested) without making the download wait for a database write. Events go
//! through a channel to one task that writes them in batches, together with the download
//! counts of orders whose policy has no limit (a limit is checked synchronously instead).

use tokio::sync::mpsc;

pub use crate::db::downloads::DownloadEvent;
use crate::db::{Db, downloads};

/// Most events written in one transaction.
const BATCH: usize = 512;
/// Events waiting at most; beyond this, downloads wait for the writer (backpressure, not loss).
const QUEUE: usize = 16_384;

/// First and longest pause before writing a batch again while the database is unavailable.
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(250);
const RETRY_MOST: std::time::Duration = std::time::Duration::from_secs(5);

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
        let counted = if event.counted { "true" } else { "false" };
        metrics::counter!(crate::telemetry::DOWNLOADS, "counted" => counted).increment(1);
        if self.sender.send(event).await.is_err() {
            tracing::warn!("download log writer has stopped; an event was not recorded");
        }
    }
}

async fn write_batches(db: Db, mut receiver: mpsc::Receiver<DownloadEvent>) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        let mut pause = RETRY_FIRST;
        loop {
            match downloads::write(&db, &batch).await {
                Ok(()) => break,
                // The database is down for now: keep the batch and try again (the batch's
                // transaction rolled back). Events queue meanwhile, up to QUEUE.
                Err(e) if e.is_unavailable() => {
                    tracing::warn!(error = %e, count = batch.len(), "download events wait for the database");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RETRY_MOST);
                }
                Err(e) => {
                    tracing::error!(error = %e, count = batch.len(), "could not write download events");
                    break;
                }
            }
        }
        batch.clear();
    }
}
