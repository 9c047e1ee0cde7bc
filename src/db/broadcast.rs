//! Telling the other processes of a PostgreSQL database that something changed, with
//! `NOTIFY` (SQLite has one process: there is nobody to tell).

use sqlx::postgres::{PgListener, PgPool};

use super::{Db, DbError};

/// The channel on which a change to an order's access (revoked, restored, refunded) is
/// announced; the payload is empty (listeners forget every cached order).
const ORDER_ACCESS_CHANNEL: &str = "satchel_order_access";

/// Announces that an order's access changed (nothing on SQLite).
pub(crate) async fn announce_order_access_change(db: &Db) -> Result<(), DbError> {
    if let Db::Postgres(pool) = db {
        sqlx::query("SELECT pg_notify($1, '')").bind(ORDER_ACCESS_CHANNEL).execute(pool).await?;
    }
    Ok(())
}

/// A listener on the order-access channel, on a connection of its own taken from `pool`. It
/// reconnects by itself when the connection drops (and says so by receiving `None`), and
/// stops with `Err` once the pool is closed.
pub(crate) async fn listen_for_order_access_changes(pool: &PgPool) -> Result<PgListener, DbError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(ORDER_ACCESS_CHANNEL).await?;
    Ok(listener)
}
