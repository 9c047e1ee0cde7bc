//! Attempt counters shared by every process of the database (see [`crate::rate_limit`]).
//!
//! One row per key: the attempts counted in its current window and when that window ends.
//! Each attempt is one upsert, so processes counting the same key at once never lose a count.

use super::{Db, DbError, with_pool};
use crate::domain::Millis;

/// Counts one attempt for `key` at `now`, starting a new window of `window_ms` when the key has
/// none or its window ended; returns the attempts counted in the window and when it ends.
pub(crate) async fn count_attempt(db: &Db, key: &str, now: Millis, window_ms: i64) -> Result<(i64, Millis), DbError> {
    let counted = with_pool!(db, write pool => {
        sqlx::query_as::<_, (i64, i64)>(
            "INSERT INTO rate_limits (key, attempts, window_ends_at) VALUES ($1, 1, $3) \
             ON CONFLICT (key) DO UPDATE SET \
               attempts = CASE WHEN rate_limits.window_ends_at <= $2 THEN 1 \
                               ELSE rate_limits.attempts + 1 END, \
               window_ends_at = CASE WHEN rate_limits.window_ends_at <= $2 THEN excluded.window_ends_at \
                                     ELSE rate_limits.window_ends_at END \
             RETURNING attempts, window_ends_at",
        )
        .bind(key)
        .bind(now)
        .bind(now.saturating_add(window_ms))
        .fetch_one(pool)
        .await?
    });
    Ok(counted)
}

/// Takes back one attempt counted for `key` (never below zero; nothing when there is none).
pub(crate) async fn forgive(db: &Db, key: &str) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query("UPDATE rate_limits SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0")
            .bind(key)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Deletes the counters whose window ended by `now`; returns how many.
pub async fn sweep_ended(db: &Db, now: Millis) -> Result<u64, DbError> {
    let done = with_pool!(db, write pool => {
        sqlx::query("DELETE FROM rate_limits WHERE window_ends_at <= $1").bind(now).execute(pool).await?.rows_affected()
    });
    Ok(done)
}
