//! A short-lived in-memory cache of the orders behind download tokens.
//!
//! A download must not wait for several database round trips: on SQLite each one is a hop to
//! the connection's worker thread, and profiling the 16 KiB case showed those hops, not the
//! file, as the cost (2.7 k req/s). Orders are cached for [`TTL`]; this process forgets them at
//! once when it revokes, restores or refunds an order, and another process's change is seen
//! within [`TTL`]. Download counts that enforce a limit are never read from here: they are
//! checked by a conditional UPDATE.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::db::orders::{self, OrderDetail};
use crate::db::{Db, DbError};

/// How long a cached order is trusted.
pub const TTL: Duration = Duration::from_secs(2);
/// Entries kept at most; past this the cache starts over (cheaper than an LRU, and rare).
const CAPACITY: usize = 100_000;

/// Orders by token hash.
#[derive(Debug, Default)]
pub struct OrderCache {
    entries: RwLock<HashMap<String, (Instant, Arc<OrderDetail>)>>,
}

impl OrderCache {
    /// The order behind `token_hash`, from memory when fresh, else from the database.
    pub async fn get(&self, db: &Db, token_hash: &str) -> Result<Option<Arc<OrderDetail>>, DbError> {
        if let Some((at, detail)) = self.entries.read().expect("cache lock").get(token_hash)
            && at.elapsed() < TTL
        {
            return Ok(Some(detail.clone()));
        }
        let Some(detail) = orders::by_token(db, token_hash).await? else {
            return Ok(None);
        };
        let detail = Arc::new(detail);
        let mut entries = self.entries.write().expect("cache lock");
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(token_hash.to_owned(), (Instant::now(), detail.clone()));
        Ok(Some(detail))
    }

    /// Forgets everything: called when this process changes an order's access.
    pub fn forget_all(&self) {
        self.entries.write().expect("cache lock").clear();
    }
}
