//! The database: SQLite (embedded default) or PostgreSQL (several processes), behind one type.
//!
//! Queries are plain SQL with `$1` placeholders that both engines accept, run through sqlx's
//! runtime `query_as`; the [`with_pool!`] macro instantiates each one for the pool in use.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub mod api_keys;
pub mod blobs;
pub mod caps;
pub mod emails;
pub mod merchants;
pub mod orders;
pub mod portal;
pub mod products;
pub mod sessions;

// What the dashboard's pages list, a page at a time.
pub mod customers;
pub mod order_list;
pub mod page;

/// Runs `$body` with `$pool` bound to the concrete pool; `$begin` (optional) is the statement
/// that opens a write transaction (`BEGIN IMMEDIATE` on SQLite, so two writers queue up front
/// instead of failing with "database is locked" when a read transaction tries to upgrade).
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
    ($db:expr, $pool:ident, $begin:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => {
                // SQLite has one writer at a time: queue here, in order, rather than in
                // SQLite's busy handler, which sleeps up to 100 ms between tries.
                let _writer = $crate::db::SQLITE_WRITER.lock().await;
                let $begin = "BEGIN IMMEDIATE";
                $body
            }
            $crate::db::Db::Postgres($pool) => {
                let $begin = "BEGIN";
                $body
            }
        }
    };
}
pub(crate) use with_pool;

/// Serializes SQLite write transactions of this process (see [`with_pool!`]).
pub(crate) static SQLITE_WRITER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A connection pool to one of the two supported databases.
#[derive(Clone, Debug)]
pub enum Db {
    /// Embedded, single process.
    Sqlite(SqlitePool),
    /// Shared by several Satchel processes.
    Postgres(PgPool),
}

/// What the data layer can report.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row does not exist (or belongs to another merchant).
    #[error("not found")]
    NotFound,
    /// The change would break a rule the database keeps (e.g. a file still in use).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database itself failed.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// Migrations failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl DbError {
    /// True when a unique or foreign-key constraint refused the write.
    pub fn is_constraint(&self) -> bool {
        matches!(self, DbError::Sqlx(sqlx::Error::Database(e))
            if e.is_unique_violation() || e.is_foreign_key_violation())
    }
}

/// Turns "no rows" into [`DbError::NotFound`].
pub(crate) fn found<T>(row: Option<T>) -> Result<T, DbError> {
    row.ok_or(DbError::NotFound)
}

impl Db {
    /// Connects to `url` (`sqlite:…` or `postgres://…`), creating the SQLite file if needed.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            return Ok(Db::Postgres(pool));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable across process crashes (only an OS crash can lose the
            // last commits) and avoids an fsync per transaction.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(max_connections).connect_with(options).await?;
        Ok(Db::Sqlite(pool))
    }

    /// Brings the schema up to date (same version numbers in both folders).
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), DbError> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Which engine this is, for logs.
    pub fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection (on shutdown, so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }
}

/// A new random id for a row.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
