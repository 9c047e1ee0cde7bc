//! The link-sharing brake's storage: the shop's policy, the networks an order's email link was
//! downloaded from (`link_networks`, bounded per order), and the link's lock.

use super::event_outbox::queue_order_event;
use super::{Db, DbError, on_tx, with_pool};
use crate::domain::{Millis, OrderStatus, Seen, SharingMode, SharingPolicy};

/// A shop's policy (the default when the shop is gone).
pub async fn policy(db: &Db, merchant_id: &str) -> Result<SharingPolicy, DbError> {
    let row: Option<(SharingMode, i64, i64)> = with_pool!(db, pool => {
        sqlx::query_as("SELECT sharing_mode, sharing_max_networks, sharing_window_hours FROM merchants WHERE id = $1")
            .bind(merchant_id).fetch_optional(pool).await?
    });
    Ok(row.map_or_else(SharingPolicy::default, |(mode, max_networks, window_hours)| SharingPolicy {
        mode,
        max_networks,
        window_hours,
    }))
}

/// Saves a shop's policy.
pub async fn set_policy(db: &Db, merchant_id: &str, policy: &SharingPolicy) -> Result<(), DbError> {
    let done = with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE merchants SET sharing_mode = $2, sharing_max_networks = $3, sharing_window_hours = $4 WHERE id = $1",
        )
        .bind(merchant_id).bind(policy.mode).bind(policy.max_networks).bind(policy.window_hours)
        .execute(pool).await?.rows_affected()
    });
    if done == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// Upserts (order, network, agent) seen at `now`, unless the order has `kept` rows already and
/// this is a new one: then nothing is written and the answer is false.
const UPSERT: &str = "INSERT INTO link_networks (order_id, network, agent, first_seen, last_seen, downloads) \
     SELECT $1, $2, $3, $4, $4, 1 WHERE (SELECT COUNT(*) FROM link_networks WHERE order_id = $1) < $5 \
     OR EXISTS (SELECT 1 FROM link_networks WHERE order_id = $1 AND network = $2 AND agent = $3) \
     ON CONFLICT (order_id, network, agent) DO UPDATE SET last_seen = excluded.last_seen, \
     downloads = link_networks.downloads + 1";

/// Records a counted download of `order_id`'s email link from `network` with agent family
/// `agent` at `now` (one write; at the bound, the least recently seen row makes room first),
/// then reads how the link stands: distinct networks seen since `window_start` (and since the
/// last unlock or new link), whether suspicion went out, whether it is locked.
pub async fn record(
    db: &Db,
    order_id: &str,
    (network, agent): (&str, &str),
    now: Millis,
    window_start: Millis,
    kept: i64,
) -> Result<Seen, DbError> {
    let written = with_pool!(db, write pool => {
        sqlx::query(UPSERT).bind(order_id).bind(network).bind(agent).bind(now).bind(kept)
            .execute(pool).await?.rows_affected()
    });
    if written == 0 {
        make_room(db, order_id, (network, agent), now, kept).await?;
    }
    let row: Option<(i64, Option<Millis>, Option<Millis>)> = with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT (SELECT COUNT(DISTINCT n.network) FROM link_networks n WHERE n.order_id = o.id \
             AND n.last_seen >= $2 AND n.last_seen >= COALESCE(o.sharing_reset_at, 0)), \
             o.sharing_suspected_at, o.link_locked_at FROM orders o WHERE o.id = $1",
        )
        .bind(order_id).bind(window_start).fetch_optional(pool).await?
    });
    let (networks, suspected_at, locked_at) = row.ok_or(DbError::NotFound)?;
    Ok(Seen { networks, suspected_at, locked: locked_at.is_some() })
}

/// At the bound: drops the order's least recently seen rows down to `kept - 1`, then records.
async fn make_room(
    db: &Db,
    order_id: &str,
    (network, agent): (&str, &str),
    now: Millis,
    kept: i64,
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    on_tx!(&mut tx, conn => {
        sqlx::query(
            "DELETE FROM link_networks WHERE order_id = $1 AND (network, agent) NOT IN (SELECT network, agent \
             FROM link_networks WHERE order_id = $1 ORDER BY last_seen DESC, network, agent LIMIT $2)",
        )
        .bind(order_id).bind(kept - 1).execute(&mut *conn).await?;
    });
    on_tx!(&mut tx, conn => {
        sqlx::query(UPSERT).bind(order_id).bind(network).bind(agent).bind(now).bind(kept).execute(&mut *conn).await?;
    });
    tx.commit().await
}

/// What [`flag`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flagged {
    /// `sharing.suspected` was queued.
    pub suspected: bool,
    /// The link was locked now (and `sharing.locked` queued).
    pub locked: bool,
}

/// Marks an order as suspected of sharing (once per window: unless it was since
/// `window_start`) and, with `lock`, locks its email link, queueing `sharing.suspected` and
/// `sharing.locked` in the same transaction. A revoked order is left alone.
pub async fn flag(
    db: &Db,
    merchant_id: &str,
    order_id: &str,
    now: Millis,
    window_start: Millis,
    lock: bool,
) -> Result<Flagged, DbError> {
    let mut tx = db.begin_write().await?;
    let suspected = on_tx!(&mut tx, conn => {
        sqlx::query(
            "UPDATE orders SET sharing_suspected_at = $3 WHERE merchant_id = $1 AND id = $2 AND status <> $5 \
             AND (sharing_suspected_at IS NULL OR sharing_suspected_at < $4)",
        )
        .bind(merchant_id).bind(order_id).bind(now).bind(window_start).bind(OrderStatus::Revoked)
        .execute(conn).await?.rows_affected()
    }) > 0;
    let locked = lock
        && on_tx!(&mut tx, conn => {
            sqlx::query(
                "UPDATE orders SET link_locked_at = $3 WHERE merchant_id = $1 AND id = $2 AND status <> $4 \
                 AND link_locked_at IS NULL",
            )
            .bind(merchant_id).bind(order_id).bind(now).bind(OrderStatus::Revoked)
            .execute(conn).await?.rows_affected()
        }) > 0;
    if suspected {
        queue_order_event(&mut tx, merchant_id, order_id, "sharing.suspected", now).await?;
    }
    if locked {
        queue_order_event(&mut tx, merchant_id, order_id, "sharing.locked", now).await?;
    }
    tx.commit().await?;
    Ok(Flagged { suspected, locked })
}

/// Unlocks an order's email link and starts counting networks afresh from `now` (the ones seen
/// before stay listed).
pub async fn unlock(db: &Db, merchant_id: &str, order_id: &str, now: Millis) -> Result<(), DbError> {
    let done = with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE orders SET link_locked_at = NULL, sharing_suspected_at = NULL, sharing_reset_at = $3 \
             WHERE merchant_id = $1 AND id = $2",
        )
        .bind(merchant_id).bind(order_id).bind(now).execute(pool).await?.rows_affected()
    });
    if done == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// Gives an order's email link a new token (`salt`, stored as `token_hash`): the old link is
/// unknown from now on. The new link is unlocked and counts networks afresh from `now`.
pub async fn rotate(
    db: &Db,
    merchant_id: &str,
    order_id: &str,
    (salt, token_hash): (&str, &str),
    now: Millis,
) -> Result<(), DbError> {
    let done = with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE orders SET token_salt = $3, token_hash = $4, link_locked_at = NULL, sharing_suspected_at = NULL, \
             sharing_reset_at = $5 WHERE merchant_id = $1 AND id = $2",
        )
        .bind(merchant_id).bind(order_id).bind(salt).bind(token_hash).bind(now).execute(pool).await?.rows_affected()
    });
    if done == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// A network an order's email link was downloaded from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NetworkRow {
    /// `203.0.113.0/24` or `2001:db8:1::/48`.
    pub network: String,
    /// The user-agent family.
    pub agent: String,
    /// First counted download from it.
    pub first_seen: Millis,
    /// Latest one.
    pub last_seen: Millis,
    /// Counted downloads from it.
    pub downloads: i64,
}

/// How an order's link stands, for its page.
#[derive(Debug, Clone, Default)]
pub struct LinkSharing {
    /// The latest networks seen (at most the number asked for), most recent first.
    pub networks: Vec<NetworkRow>,
    /// Rows kept in all.
    pub total: i64,
    /// When `sharing.suspected` last went out.
    pub suspected_at: Option<Millis>,
    /// When networks started being counted afresh (the last unlock or new link).
    pub reset_at: Option<Millis>,
}

/// The networks one of `merchant_id`'s orders was downloaded from, and its brake state.
pub async fn of_order(db: &Db, merchant_id: &str, order_id: &str, limit: i64) -> Result<LinkSharing, DbError> {
    let (networks, state) = with_pool!(db, pool => (
        sqlx::query_as::<_, NetworkRow>(
            "SELECT n.network, n.agent, n.first_seen, n.last_seen, n.downloads FROM link_networks n \
             JOIN orders o ON o.id = n.order_id WHERE o.merchant_id = $1 AND n.order_id = $2 \
             ORDER BY n.last_seen DESC, n.network, n.agent LIMIT $3",
        ).bind(merchant_id).bind(order_id).bind(limit).fetch_all(pool).await?,
        sqlx::query_as::<_, (i64, Option<Millis>, Option<Millis>)>(
            "SELECT (SELECT COUNT(*) FROM link_networks WHERE order_id = o.id), o.sharing_suspected_at, \
             o.sharing_reset_at FROM orders o WHERE o.merchant_id = $1 AND o.id = $2",
        ).bind(merchant_id).bind(order_id).fetch_optional(pool).await?,
    ));
    let (total, suspected_at, reset_at) = state.ok_or(DbError::NotFound)?;
    Ok(LinkSharing { networks, total, suspected_at, reset_at })
}
