//! What a process does (its role) and when a process counts as alive.

use super::Millis;
use super::stored::stored_enum;

stored_enum! {
    /// What one `satchel serve` process does.
    pub enum Role {
        /// Everything: the HTTP service, the mail worker and the background sweeps.
        All = "all",
        /// The HTTP service only: no mail worker, no sweeps (a worker process sends its mail).
        Web = "web",
        /// The mail worker and the sweeps; HTTP only for `/healthz`, `/readyz` and `/metrics`.
        Worker = "worker",
    }
}

impl Role {
    /// Whether the process serves the whole HTTP surface.
    pub fn serves_http(self) -> bool {
        matches!(self, Role::All | Role::Web)
    }

    /// Whether the process runs the mail worker and the background sweeps.
    pub fn runs_worker(self) -> bool {
        matches!(self, Role::All | Role::Worker)
    }
}

/// The oldest heartbeat of a live instance at `now`: one beating at or before this time
/// stopped `stale_after_ms` ago or more, and its claimed work is free.
pub fn alive_since(now: Millis, stale_after_ms: i64) -> Millis {
    now - stale_after_ms.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_split_the_work() {
        assert!(Role::All.serves_http() && Role::All.runs_worker());
        assert!(Role::Web.serves_http() && !Role::Web.runs_worker());
        assert!(!Role::Worker.serves_http() && Role::Worker.runs_worker());
        assert_eq!("worker".parse::<Role>().unwrap(), Role::Worker);
        assert!("both".parse::<Role>().is_err());
        assert_eq!(alive_since(20_000, 15_000), 5_000);
    }
}
