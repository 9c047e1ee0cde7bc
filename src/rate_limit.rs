//! Fixed-window request counters, kept in this process's memory, for sign-in forms.
//!
//! Behind a load balancer each process counts on its own, so the effective limit is at most
//! the limit times the number of processes; limits that must hold exactly (tries per code)
//! are kept in the database instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts attempts per key (e.g. `"portal-ip:1.2.3.4"`) in fixed windows.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, Window>>,
}

struct Window {
    started: Instant,
    length: Duration,
    count: u32,
}

/// Past this many keys, expired windows are dropped before adding another.
const PRUNE_AT: usize = 10_000;

impl RateLimiter {
    /// Counts one attempt for `key`; `Err(retry_after)` when more than `limit` fell in the
    /// current `window`.
    pub fn check(&self, key: &str, limit: u32, window: Duration) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= PRUNE_AT && !windows.contains_key(key) {
            windows.retain(|_, w| now.duration_since(w.started) < w.length);
        }
        let entry = windows.entry(key.to_owned()).or_insert(Window { started: now, length: window, count: 0 });
        if now.duration_since(entry.started) >= entry.length {
            *entry = Window { started: now, length: window, count: 0 };
        }
        entry.count += 1;
        if entry.count > limit {
            return Err(entry.length.saturating_sub(now.duration_since(entry.started)).max(Duration::from_secs(1)));
        }
        Ok(())
    }

    /// Takes back one attempt counted by [`RateLimiter::check`] for `key`: limits that count
    /// only failures reserve a try before the slow check, and return it when it succeeded.
    pub fn forgive(&self, key: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = windows.get_mut(key) {
            entry.count = entry.count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_then_refuses_with_the_time_left() {
        let limiter = RateLimiter::default();
        let minute = Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.check("a", 3, minute).is_ok());
        }
        let wait = limiter.check("a", 3, minute).unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= minute);
        assert!(limiter.check("b", 3, minute).is_ok(), "other keys count on their own");
    }

    #[test]
    fn a_new_window_starts_afresh() {
        let limiter = RateLimiter::default();
        let short = Duration::from_millis(20);
        assert!(limiter.check("a", 1, short).is_ok());
        assert!(limiter.check("a", 1, short).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.check("a", 1, short).is_ok());
    }

    #[test]
    fn forgiven_attempts_do_not_count() {
        let limiter = RateLimiter::default();
        let minute = Duration::from_secs(60);
        for _ in 0..5 {
            assert!(limiter.check("a", 1, minute).is_ok());
            limiter.forgive("a");
        }
        assert!(limiter.check("a", 1, minute).is_ok());
        assert!(limiter.check("a", 1, minute).is_err());
        limiter.forgive("unknown");
    }
}
