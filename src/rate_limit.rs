//! Fixed-window attempt counters for sign-in forms, portal codes and the test checkout, kept
//! in the database so that every process behind a load balancer counts against the same limit.
//!
//! Each attempt is one atomic upsert (`db::rate_limits`); windows are measured with each
//! process's clock, which processes that share a database keep in step (NTP). Counters whose
//! window ended are swept hourly.

use std::time::Duration;

use crate::db::{Db, DbError, rate_limits};
use crate::domain::now_millis;

/// Whether an attempt may go ahead: `Err(retry_after)` when the limit was reached.
pub type Verdict = Result<(), Duration>;

/// Counts attempts per key (e.g. `"portal-ip:1.2.3.4"`) in fixed windows, shared by every
/// process of the database.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    db: Db,
}

impl RateLimiter {
    /// Counters kept in `db`.
    pub fn new(db: Db) -> RateLimiter {
        RateLimiter { db }
    }

    /// Counts one attempt for `key`; `Ok(Err(retry_after))` when more than `limit` fell in
    /// the current `window` (at least a second).
    pub async fn check(&self, key: &str, limit: u32, window: Duration) -> Result<Verdict, DbError> {
        let now = now_millis();
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let (attempts, window_ends_at) = rate_limits::count_attempt(&self.db, key, now, window_ms).await?;
        if attempts > i64::from(limit) {
            let left = u64::try_from(window_ends_at.saturating_sub(now)).unwrap_or(0);
            return Ok(Err(Duration::from_millis(left).max(Duration::from_secs(1))));
        }
        Ok(Ok(()))
    }

    /// Takes back one attempt counted by [`RateLimiter::check`] for `key`: limits that count
    /// only failures reserve a try before the slow check, and return it when it succeeded.
    pub async fn forgive(&self, key: &str) -> Result<(), DbError> {
        rate_limits::forgive(&self.db, key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn limiter() -> RateLimiter {
        // One connection: every connection to `:memory:` is a database of its own.
        let db =
            Db::connect("sqlite::memory:", 1, std::time::Duration::from_secs(5)).await.expect("in-memory database");
        db.migrate().await.expect("schema");
        RateLimiter::new(db)
    }

    #[tokio::test]
    async fn allows_the_limit_then_refuses_with_the_time_left() {
        let limiter = limiter().await;
        let minute = Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.check("a", 3, minute).await.unwrap().is_ok());
        }
        let wait = limiter.check("a", 3, minute).await.unwrap().unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= minute);
        assert!(limiter.check("b", 3, minute).await.unwrap().is_ok(), "other keys count on their own");
    }

    #[tokio::test]
    async fn a_new_window_starts_afresh() {
        let limiter = limiter().await;
        let short = Duration::from_millis(20);
        assert!(limiter.check("a", 1, short).await.unwrap().is_ok());
        assert!(limiter.check("a", 1, short).await.unwrap().is_err());
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(limiter.check("a", 1, short).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn forgiven_attempts_do_not_count() {
        let limiter = limiter().await;
        let minute = Duration::from_secs(60);
        for _ in 0..5 {
            assert!(limiter.check("a", 1, minute).await.unwrap().is_ok());
            limiter.forgive("a").await.unwrap();
        }
        assert!(limiter.check("a", 1, minute).await.unwrap().is_ok());
        assert!(limiter.check("a", 1, minute).await.unwrap().is_err());
        limiter.forgive("unknown").await.unwrap();
    }

    #[tokio::test]
    async fn ended_windows_are_swept() {
        let limiter = limiter().await;
        assert!(limiter.check("short", 1, Duration::from_millis(1)).await.unwrap().is_ok());
        assert!(limiter.check("long", 1, Duration::from_secs(60)).await.unwrap().is_ok());
        let later = now_millis() + 1000;
        assert_eq!(rate_limits::sweep_ended(&limiter.db, later).await.unwrap(), 1);
        assert!(limiter.check("long", 1, Duration::from_secs(60)).await.unwrap().is_err(), "the live one stays");
    }
}
