//! Telling the other processes of a PostgreSQL database that something changed, with
//! `NOTIFY` (SQLite has one process: there is nobody to tell).

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

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

/// A listener on the order-access channel (see [`listen`]).
pub(crate) async fn listen_for_order_access_changes(pool: &PgPool) -> Result<PgListener, DbError> {
    listen(pool, ORDER_ACCESS_CHANNEL).await
}

/// A listener on `channel`, on a connection of its own to `pool`'s database (not one of the
/// pool's: a small pool would lose a connection to it for good). It reconnects by itself when
/// the connection drops, and says so by receiving `None`.
pub(crate) async fn listen(pool: &PgPool, channel: &str) -> Result<PgListener, DbError> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with((*pool.connect_options()).clone())
        .await?;
    let mut listener = PgListener::connect_with(&own).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
