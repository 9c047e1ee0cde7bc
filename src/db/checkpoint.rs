//! SQLite's write-ahead log, copied back into the database file by a task of its own.
//!
//! Left to itself, SQLite checkpoints inside the commit that grows the log past 1,000 pages:
//! that commit then copies the log into the database and syncs both files while it holds the
//! one writer's turn, and every order waiting for the writer waits for the disk. Here a
//! passive checkpoint runs every [`EVERY`] beside the writers (it never blocks them), and the
//! commit-time checkpoint only happens if the log still grew past [`FALLBACK_PAGES`] (this task
//! stopped, or a reader held old pages for long).

use std::time::Duration;

use super::{Db, DbError};

/// How often the log is copied back.
pub(crate) const EVERY: Duration = Duration::from_millis(500);
/// Log pages at which a commit checkpoints by itself (SQLite's `wal_autocheckpoint`; its
/// default is 1,000 pages, about 4 MiB).
pub(crate) const FALLBACK_PAGES: u32 = 16_000;

/// Copies the log into the database file now, without waiting for (or blocking) writers;
/// answers how many log pages were copied.
pub async fn passive(db: &Db) -> Result<i64, DbError> {
    let Db::Sqlite(sqlite) = db else { return Ok(0) };
    let (_busy, _log, copied): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&sqlite.pool).await?;
    Ok(copied.max(0))
}

/// Runs [`passive`] every [`EVERY`] until the task is dropped; nothing on PostgreSQL.
pub async fn keep_log_short(db: Db) {
    if !matches!(db, Db::Sqlite(_)) {
        return;
    }
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = passive(&db).await {
            tracing::warn!(error = %e, "could not checkpoint the SQLite log");
        }
    }
}
