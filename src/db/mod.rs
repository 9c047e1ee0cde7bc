//! The database: SQLite (embedded default) or PostgreSQL (several processes), behind one type.
//!
//! Queries are plain SQL with `$1` placeholders that both engines accept, run through sqlx's
//! runtime `query_as`; the [`with_pool!`] macro instantiates each one for the pool in use.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub mod api_keys;
pub mod blobs;
pub(crate) mod broadcast;
pub mod caps;
pub mod checkpoint;
pub mod emails;
pub(crate) mod event_outbox;
pub mod instances;
pub mod members;
pub mod merchants;
pub mod orders;
pub mod passwords;
pub mod portal;
pub mod products;
pub mod rate_limits;
pub mod release_grants;
pub mod releases;
pub mod sessions;
pub mod sharing;
pub mod shop_profile;
pub mod signing_key;
pub mod update_emails;

// What the dashboard's pages list, a page at a time.
pub mod customers;
pub mod downloads;
pub mod file_library;
pub mod getting_started;
pub mod order_list;
pub mod page;
pub mod payment_events;
pub mod sales;
pub mod test_data;
pub mod webhook_deliveries;
pub mod webhook_endpoints;

/// Runs `$body` with `$pool` bound to the concrete pool.
///
/// Reads: `with_pool!(db, pool => …)`. Every write first queues, on SQLite, for the database's
/// writer ([`SqliteDb::queue`]): SQLite has one writer at a time, and queueing here, in order,
/// beats SQLite's busy handler, which sleeps up to 100 ms between tries. The write forms:
/// - `with_pool!(db, write pool => …)`: a single statement.
/// - `with_pool!(db, pool, begin => …)`: a transaction, opened with `pool.begin_with(begin)`
///   (`BEGIN IMMEDIATE` on SQLite, so it takes the write lock up front instead of failing with
///   "database is locked" when a read transaction tries to upgrade).
/// - [`Db::begin_write`]: the same transaction as a value, for writes made in steps.
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($crate::db::SqliteDb { pool: $pool, .. }) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
    ($db:expr, write $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(sqlite) => {
                let _writer = sqlite.queue().await;
                let $pool = &sqlite.pool;
                $body
            }
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
    ($db:expr, $pool:ident, $begin:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(sqlite) => {
                let _writer = sqlite.queue().await;
                let $pool = &sqlite.pool;
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

/// Runs `$body` with `$conn` bound to the concrete connection of a [`WriteTx`], for writes
/// made in several steps (each step a plain function taking the transaction).
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match &mut *$tx {
            $crate::db::WriteTx::Sqlite(tx, _) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::db::WriteTx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

/// A write transaction that holds the SQLite writer lock until it ends (the form of
/// `with_pool!(db, pool, begin => …)` that can be passed to functions). Dropped without
/// [`WriteTx::commit`], it rolls back.
pub(crate) enum WriteTx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>, tokio::sync::OwnedMutexGuard<()>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl WriteTx {
    /// Commits, then lets the next SQLite writer in.
    pub(crate) async fn commit(self) -> Result<(), DbError> {
        match self {
            WriteTx::Sqlite(tx, _writer) => tx.commit().await?,
            WriteTx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// A connection pool to one of the two supported databases.
#[derive(Clone, Debug)]
pub enum Db {
    /// Embedded, single process.
    Sqlite(SqliteDb),
    /// Shared by several Satchel processes.
    Postgres(PgPool),
}

/// An SQLite pool and the queue its writes wait in (see [`with_pool!`]).
#[derive(Clone, Debug)]
pub struct SqliteDb {
    pub(crate) pool: SqlitePool,
    /// Held by every write of this process, for the length of its statement or transaction.
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteDb {
    /// Waits for this database's turn to write, in arrival order; the guard is the turn.
    pub(crate) async fn queue(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.writer.clone().lock_owned().await
    }

    /// The pool (for tests that look at rows directly).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
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

    /// True when the database could not be reached or refused work for now, and the same
    /// request is expected to work once it is back: the client is answered 503 with
    /// `Retry-After`, not 500. The rule (see docs/decisions.md, "Scale-out: faults"):
    /// - the pool found no connection in time (`PoolTimedOut`: the server is down or every
    ///   connection is busy), or is closed (shutting down);
    /// - the connection broke or could not be made (`Io`, `Tls`);
    /// - PostgreSQL said so: SQLSTATE class 08 (connection exception), 57P01–57P03 (admin or
    ///   crash shutdown, cannot connect now), 53300 (too many connections);
    /// - SQLite stayed busy or locked past its busy timeout (codes 5 and 6, with extended codes).
    ///
    /// Everything else (a bad query, a decode error, a constraint) is a bug: 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Sqlx(e) => sqlx_unavailable(e),
            DbError::Migrate(_) | DbError::NotFound | DbError::Conflict(_) => false,
        }
    }

    /// True when the SQLite file's disk is full (SQLITE_FULL): 507, like a full upload disk.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, DbError::Sqlx(sqlx::Error::Database(e))
            if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() && primary_code(e.code().as_deref()) == Some(13))
    }
}

/// [`DbError::is_unavailable`] for a bare sqlx error.
pub(crate) fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(e) => {
            let code = e.code();
            let Some(code) = code.as_deref() else { return false };
            if e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
                // 55000 is also what connecting to a database closed with `ALLOW_CONNECTIONS
                // false` answers (an operator's maintenance), which is how it reaches us.
                code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "55000")
            } else {
                matches!(primary_code(Some(code)), Some(5 | 6))
            }
        }
        _ => false,
    }
}

/// SQLite's primary result code (the low byte of an extended code such as 517, SQLITE_BUSY_SNAPSHOT).
fn primary_code(code: Option<&str>) -> Option<i64> {
    code?.parse::<i64>().ok().map(|c| c & 0xff)
}

/// Turns "no rows" into [`DbError::NotFound`].
pub(crate) fn found<T>(row: Option<T>) -> Result<T, DbError> {
    row.ok_or(DbError::NotFound)
}

impl Db {
    /// Connects to `url` (`sqlite:…` or `postgres://…`), creating the SQLite file if needed.
    /// `acquire_timeout` bounds a request's wait for a pooled connection: past it the database
    /// counts as unavailable ([`DbError::is_unavailable`]) and the client is answered 503.
    pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<Db, DbError> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
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
            .busy_timeout(Duration::from_secs(10))
            // Checkpoints run beside the writers (db::checkpoint), not inside a commit.
            .pragma("wal_autocheckpoint", checkpoint::FALLBACK_PAGES.to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Db::Sqlite(SqliteDb { pool, writer: Arc::default() }))
    }

    /// Brings the schema up to date (same version numbers in both folders).
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(sqlite) => sqlx::migrate!("./migrations/sqlite").run(&sqlite.pool).await?,
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

    /// Opens a write transaction, queued behind this process's other SQLite writes.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, DbError> {
        Ok(match self {
            Db::Sqlite(sqlite) => {
                let writer = sqlite.queue().await;
                WriteTx::Sqlite(sqlite.pool.begin_with("BEGIN IMMEDIATE").await?, writer)
            }
            Db::Postgres(pool) => WriteTx::Postgres(pool.begin().await?),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_locked_sqlite_is_unavailable_and_a_constraint_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true);
        let holder = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)").execute(&holder).await.unwrap();
        let mut writing = holder.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *writing).await.unwrap();

        let impatient = options.busy_timeout(Duration::ZERO);
        let other = SqlitePoolOptions::new().max_connections(1).connect_with(impatient).await.unwrap();
        let busy = DbError::from(sqlx::query("INSERT INTO t VALUES (2)").execute(&other).await.unwrap_err());
        assert!(busy.is_unavailable(), "{busy:?}");
        writing.commit().await.unwrap();

        let taken = DbError::from(sqlx::query("INSERT INTO t VALUES (1)").execute(&other).await.unwrap_err());
        assert!(taken.is_constraint() && !taken.is_unavailable() && !taken.is_storage_full(), "{taken:?}");
        assert!(DbError::Sqlx(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(!DbError::Sqlx(sqlx::Error::RowNotFound).is_unavailable());
    }
}
