//! Email rules with no I/O: what an email's state means, when a failed one is tried again, and
//! what its subject says.

use super::Millis;
use super::stored::stored_enum;

stored_enum! {
    /// Why an email is sent.
    pub enum EmailKind {
        /// The one email every order gets (rule 7).
        Purchase = "purchase",
        /// A copy the merchant asked for.
        Resend = "resend",
        /// A customer's portal sign-in code and magic link (no order).
        SignIn = "sign_in",
        /// A dashboard user's "Forgot password?" link (no order).
        PasswordReset = "password_reset",
        /// An invite to join a shop's dashboard (no order).
        TeamInvite = "team_invite",
        /// To a shop's owner: Satchel disabled webhook endpoints that failed for days (no order).
        EndpointDisabled = "endpoint_disabled",
        /// A published release announced to an order granted it (one per order and release).
        ReleaseUpdate = "release_update",
    }
}

stored_enum! {
    /// Where an email stands in the outbox.
    pub enum EmailStatus {
        /// Waiting for its first attempt.
        Queued = "queued",
        /// Claimed by a worker, which holds it until its lease ends or its process stops
        /// beating (see `crate::instances`).
        Sending = "sending",
        /// Accepted by the SMTP server (or written to the mailbox).
        Sent = "sent",
        /// An attempt failed; another is scheduled.
        Retrying = "retrying",
        /// Every attempt failed for longer than the configured give-up time.
        Failed = "failed",
        /// Never sent: an update email whose customer unsubscribed from the shop's update
        /// emails (when queued, or before it could be sent).
        Suppressed = "suppressed",
    }
}

impl EmailStatus {
    /// Still on its way: waiting, being sent, or waiting for another try.
    pub fn is_pending(self) -> bool {
        matches!(self, EmailStatus::Queued | EmailStatus::Sending | EmailStatus::Retrying)
    }
}

/// How failed sends are spaced out: exponential backoff from `base_ms`, doubling up to `cap_ms`,
/// with jitter, until `give_up_after_ms` have passed since the email was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure.
    pub base_ms: i64,
    /// Longest delay between two attempts.
    pub cap_ms: i64,
    /// Time after queueing when a failing email is marked failed.
    pub give_up_after_ms: i64,
}

impl RetryPolicy {
    /// What to do after attempt number `attempts` (1 for the first) failed at `now` for an email
    /// queued at `queued_at`. `jitter` in `[0, 1)` spreads retries of many emails failing together
    /// (an SMTP outage) over the second half of each delay so they do not all return at once.
    /// Returns the time of the next attempt, or `None` when it is time to give up.
    pub fn next_attempt(&self, attempts: i64, queued_at: Millis, now: Millis, jitter: f64) -> Option<Millis> {
        let doublings = (attempts.max(1) - 1).min(40) as u32;
        let delay = self.base_ms.max(1).saturating_mul(1i64 << doublings.min(30)).min(self.cap_ms.max(1));
        let jittered = delay / 2 + ((delay as f64 / 2.0) * jitter.clamp(0.0, 1.0)) as i64;
        let next = now + jittered.max(1);
        (next - queued_at <= self.give_up_after_ms).then_some(next)
    }
}

/// The subject of a purchase email: `Your purchase from {merchant}: {product}`, and for several
/// products the first one and `and N more`.
pub fn purchase_subject(merchant: &str, products: &[&str]) -> String {
    match products {
        [] => format!("Your purchase from {merchant}"),
        [one] => format!("Your purchase from {merchant}: {one}"),
        [first, rest @ ..] => format!("Your purchase from {merchant}: {first} and {} more", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy =
        RetryPolicy { base_ms: 60_000, cap_ms: 4 * 3_600_000, give_up_after_ms: 3 * 86_400_000 };

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter_and_gives_up() {
        assert_eq!(POLICY.next_attempt(1, 0, 0, 0.0), Some(30_000));
        assert_eq!(POLICY.next_attempt(1, 0, 0, 0.999_999), Some(59_999));
        assert_eq!(POLICY.next_attempt(2, 0, 0, 1.0), Some(120_000));
        assert_eq!(POLICY.next_attempt(3, 0, 0, 1.0), Some(240_000));
        assert_eq!(POLICY.next_attempt(30, 0, 0, 1.0), Some(4 * 3_600_000), "capped");
        assert_eq!(POLICY.next_attempt(1000, 0, 0, 1.0), Some(4 * 3_600_000), "no overflow");
        let late = 3 * 86_400_000 - 1000;
        assert_eq!(POLICY.next_attempt(40, 0, late, 0.5), None, "past the give-up time");
        // Rough count: about 1 + 2 + … minutes, then every few hours, for three days.
        let (mut now, mut attempts) = (0, 0);
        while let Some(next) = POLICY.next_attempt(attempts + 1, 0, now, 1.0) {
            now = next;
            attempts += 1;
        }
        assert!((20..30).contains(&attempts), "{attempts} attempts in three days");
    }

    #[test]
    fn subjects() {
        assert_eq!(purchase_subject("Acme", &["Guide"]), "Your purchase from Acme: Guide");
        assert_eq!(purchase_subject("Acme", &["Guide", "Map", "Atlas"]), "Your purchase from Acme: Guide and 2 more");
        assert_eq!(purchase_subject("Acme", &[]), "Your purchase from Acme");
    }

    #[test]
    fn statuses_round_trip() {
        for s in ["queued", "sending", "sent", "retrying", "failed"] {
            assert_eq!(EmailStatus::parse("status", s).unwrap().as_str(), s);
        }
        assert!(EmailStatus::parse("status", "lost").is_err());
    }
}
