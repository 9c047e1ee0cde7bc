//! Orders: their status and the download policy frozen into them.

use super::stored::stored_enum;
use super::{Invalid, Millis};

stored_enum! {
    /// Where an order stands.
    pub enum OrderStatus {
        /// Paid; downloads allowed.
        Paid = "paid",
        /// Refunded; downloads still allowed unless the merchant revokes on refund.
        Refunded = "refunded",
        /// Access taken away by the merchant (by hand or on refund).
        Revoked = "revoked",
    }
}

stored_enum! {
    /// How an order was paid: through which provider's webhook, the API, or the test checkout.
    pub enum PaymentSource {
        /// A Standard Webhooks sender (e.g. Dodo Payments).
        Standard = "standard",
        /// Stripe.
        Stripe = "stripe",
        /// `POST /api/v1/orders`.
        Api = "api",
        /// The merchant's test checkout.
        Test = "test",
    }
}

stored_enum! {
    /// What became of a verified payment event.
    pub enum PaymentEventStatus {
        /// It made (or was assigned to) an order.
        Processed = "processed",
        /// It made no order: kept for the merchant with the reason.
        Unmatched = "unmatched",
        /// A refund applied to its order.
        Refund = "refund",
    }
}

/// How long an order's email link works and how often each file may be downloaded through it.
/// The default is permanent, unlimited access, as the seed promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DownloadPolicy {
    /// Seconds after payment when the link stops working; `None` = never.
    pub link_expiry_seconds: Option<i64>,
    /// Downloads allowed per file; `None` = unlimited.
    pub max_downloads_per_file: Option<i64>,
}

impl DownloadPolicy {
    /// Checks the bounds: a positive expiry (at most ten years) and a positive download count.
    pub fn new(
        link_expiry_seconds: Option<i64>,
        max_downloads_per_file: Option<i64>,
    ) -> Result<DownloadPolicy, Invalid> {
        if let Some(s) = link_expiry_seconds
            && !(60..=10 * 366 * 86_400).contains(&s)
        {
            return Err(Invalid::new("link_expiry_seconds", "must be between 60 seconds and 10 years"));
        }
        if let Some(n) = max_downloads_per_file
            && !(1..=1_000_000).contains(&n)
        {
            return Err(Invalid::new("max_downloads_per_file", "must be between 1 and 1000000"));
        }
        Ok(DownloadPolicy { link_expiry_seconds, max_downloads_per_file })
    }

    /// When a link issued at `paid_at` expires.
    pub fn expires_at(&self, paid_at: Millis) -> Option<Millis> {
        self.link_expiry_seconds.map(|s| paid_at + s * 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_bounds() {
        assert_eq!(DownloadPolicy::default().expires_at(5), None);
        assert_eq!(DownloadPolicy::new(Some(3600), None).unwrap().expires_at(1000), Some(3_601_000));
        assert_eq!(DownloadPolicy::new(Some(0), None).unwrap_err().field, "link_expiry_seconds");
        assert_eq!(DownloadPolicy::new(None, Some(0)).unwrap_err().field, "max_downloads_per_file");
    }
}
