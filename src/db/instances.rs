//! The running processes and their heartbeats (see [`crate::instances`]).

use super::{Db, DbError, with_pool};
use crate::domain::{Millis, Role};

/// A process as registered.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InstanceRow {
    /// Id, chosen at start; emails it claims name it.
    pub id: String,
    /// What it does.
    pub role: Role,
    /// The machine it runs on.
    pub host: String,
    /// Its process id there.
    pub pid: i64,
    /// When it started.
    pub started_at: Millis,
    /// When it last said it was alive.
    pub heartbeat_at: Millis,
}

/// Records that `instance` is alive as of its `heartbeat_at`: inserts its row, or moves its
/// heartbeat on (a row removed while the process was silent comes back).
pub async fn beat(db: &Db, instance: &InstanceRow) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query(
            "INSERT INTO instances (id, role, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        )
        .bind(&instance.id).bind(instance.role).bind(&instance.host).bind(instance.pid)
        .bind(instance.started_at).bind(instance.heartbeat_at)
        .execute(pool).await?;
    });
    Ok(())
}

/// Removes an instance's row (its clean shutdown).
pub async fn remove(db: &Db, id: &str) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query("DELETE FROM instances WHERE id = $1").bind(id).execute(pool).await?;
    });
    Ok(())
}

/// Removes the rows of instances that last beat at or before `alive_since` (dead ones), and
/// returns them.
pub async fn remove_stale(db: &Db, alive_since: Millis) -> Result<Vec<InstanceRow>, DbError> {
    Ok(with_pool!(db, write pool => {
        sqlx::query_as(
            "DELETE FROM instances WHERE heartbeat_at <= $1 \
             RETURNING id, role, host, pid, started_at, heartbeat_at",
        )
        .bind(alive_since).fetch_all(pool).await?
    }))
}

/// Removes every row but `id`'s, and returns them: on SQLite, which one process serves at a
/// time, every other instance is one that ended.
pub async fn remove_all_but(db: &Db, id: &str) -> Result<Vec<InstanceRow>, DbError> {
    Ok(with_pool!(db, write pool => {
        sqlx::query_as(
            "DELETE FROM instances WHERE id <> $1 RETURNING id, role, host, pid, started_at, heartbeat_at",
        )
        .bind(id).fetch_all(pool).await?
    }))
}

/// Every registered instance, oldest first.
pub async fn list(db: &Db) -> Result<Vec<InstanceRow>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as("SELECT id, role, host, pid, started_at, heartbeat_at FROM instances ORDER BY started_at, id")
            .fetch_all(pool).await?
    }))
}
