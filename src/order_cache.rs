//! A short-lived in-memory cache of the orders behind download tokens.
//!
//! A download must not wait for several database round trips: on SQLite each one is a hop to
//! the connection's worker thread, and profiling the 16 KiB case showed those hops, not the
//! file, as the cost (2.7 k req/s). Orders are cached for a short time ([`TTL`] by default,
//! `database.order_cache_milliseconds`). A process that revokes, restores or refunds an order
//! forgets every cached order at once and, on PostgreSQL, announces it (`NOTIFY`): every
//! process listens and forgets too, so the change holds everywhere at once. Should the
//! listener lose its connection, the process forgets everything when it is back (an
//! announcement may have been missed); changes made behind Satchel's back (by hand in the
//! database) are seen once the entry ages out. Download counts that enforce a limit are never
//! read from here: they are checked by a conditional UPDATE.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::db::orders::{self, OrderDetail};
use crate::db::{Db, DbError, broadcast};
use crate::state::AppState;

/// How long a cached order is trusted unless configured otherwise.
pub const TTL: Duration = Duration::from_millis(crate::config::ORDER_CACHE_MILLISECONDS);
/// Entries kept at most; past this the cache starts over (cheaper than an LRU, and rare).
const CAPACITY: usize = 100_000;
/// Wait before listening again after the listener failed.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// Orders by token hash.
#[derive(Debug)]
pub struct OrderCache {
    ttl: Duration,
    entries: RwLock<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Bumped by every [`OrderCache::forget_all`]: an order read from the database while it
    /// changed may be older than the change, and is not kept.
    generation: u64,
    orders: HashMap<String, (Instant, Arc<OrderDetail>)>,
}

impl Default for OrderCache {
    fn default() -> Self {
        OrderCache::new(TTL)
    }
}

impl OrderCache {
    /// A cache that trusts an order for `ttl`.
    pub fn new(ttl: Duration) -> OrderCache {
        OrderCache { ttl, entries: RwLock::default() }
    }

    /// The order behind `token_hash`, from memory when fresh, else from the database.
    pub async fn get(&self, db: &Db, token_hash: &str) -> Result<Option<Arc<OrderDetail>>, DbError> {
        let generation = {
            let entries = self.entries.read().expect("cache lock");
            if let Some((at, detail)) = entries.orders.get(token_hash)
                && at.elapsed() < self.ttl
            {
                return Ok(Some(detail.clone()));
            }
            entries.generation
        };
        let Some(detail) = orders::by_token(db, token_hash).await? else {
            return Ok(None);
        };
        let detail = Arc::new(detail);
        let mut entries = self.entries.write().expect("cache lock");
        if entries.generation == generation {
            if entries.orders.len() >= CAPACITY {
                entries.orders.clear();
            }
            entries.orders.insert(token_hash.to_owned(), (Instant::now(), detail.clone()));
        }
        Ok(Some(detail))
    }

    /// Forgets everything in this process.
    pub fn forget_all(&self) {
        let mut entries = self.entries.write().expect("cache lock");
        entries.orders.clear();
        entries.generation += 1;
    }

    /// Forgets everything in every process of the database: called by the services once they
    /// changed an order's access. Should the announcement fail, the other processes see the
    /// change once their entries age out (the change itself is made; this is logged).
    pub async fn forget_everywhere(&self, db: &Db) {
        self.forget_all();
        if let Err(e) = broadcast::announce_order_access_change(db).await {
            tracing::warn!(error = %e, "could not tell the other processes that an order's access changed");
        }
    }
}

/// Forgets this process's cached orders whenever another process announces a change of access
/// (PostgreSQL; on SQLite the task ends at once). Runs until aborted or the pool closes.
pub(crate) fn follow_other_processes(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Db::Postgres(pool) = &state.db else { return };
        loop {
            // Entries cached while not listening are kept until they age out (TTL) rather than
            // dropped at once: with the database down, the orders just opened still download.
            // `listen` forgets everything once it is listening again.
            let Err(e) = listen(pool, &state.order_cache).await;
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "lost the announcements of order access changes; listening again");
            tokio::time::sleep(RELISTEN_AFTER).await;
        }
    })
}

async fn listen(pool: &sqlx::PgPool, cache: &OrderCache) -> Result<std::convert::Infallible, DbError> {
    let mut listener = broadcast::listen_for_order_access_changes(pool).await?;
    // Anything cached before this point may predate a change nobody heard about.
    cache.forget_all();
    loop {
        // `None`: the connection dropped. Listen again on a new one (which forgets everything
        // once it is made) instead of letting this listener reconnect unseen.
        match listener.try_recv().await? {
            Some(_) => cache.forget_all(),
            None => {
                let lost =
                    std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "the listener lost its connection");
                return Err(DbError::Sqlx(sqlx::Error::Io(lost)));
            }
        }
    }
}
