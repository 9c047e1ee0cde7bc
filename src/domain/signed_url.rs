//! Short-lived signed URLs for downloads from the customer portal (rule 5): the page hands out
//! `…?e={expiry}&s={signature}` links that work for [`PORTAL_LINK_LIFETIME_SECS`] without a
//! cookie, so download managers and a second device can use them, and are not worth sharing.
//!
//! The signature is HMAC-SHA256 under the server's key over the merchant, the order, what is
//! fetched (a file by position, the ZIP of all files, an external link by item) and the
//! expiry, so no part of a link can be edited into another order, file or shop.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::Millis;

/// How long a signed portal URL works: 10 minutes.
pub const PORTAL_LINK_LIFETIME_SECS: i64 = 600;

/// What a portal link fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalTarget {
    /// The order's file at this position.
    File(i64),
    /// Every file of the order as one ZIP.
    Zip,
    /// The external link of the order's item at this position.
    Link(i64),
}

/// A download link of one order, signed for a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalLink<'a> {
    /// The shop.
    pub merchant_id: &'a str,
    /// The order.
    pub order_id: &'a str,
    /// What it fetches.
    pub target: PortalTarget,
    /// Unix seconds after which it no longer works.
    pub expires: i64,
}

/// Why a signed link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Not a signature of ours for this link (edited, truncated, or another link's): 404.
    Forged,
    /// Genuine but past its expiry: 410, with the way to a fresh link.
    Expired,
}

impl<'a> PortalLink<'a> {
    /// A link made at `now` that works for [`PORTAL_LINK_LIFETIME_SECS`].
    pub fn new(merchant_id: &'a str, order_id: &'a str, target: PortalTarget, now: Millis) -> Self {
        PortalLink { merchant_id, order_id, target, expires: now / 1000 + PORTAL_LINK_LIFETIME_SECS }
    }

    fn mac(&self, server_key: &[u8]) -> hmac::Hmac<Sha256> {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(server_key).expect("HMAC takes any key length");
        let target = match self.target {
            PortalTarget::File(n) => format!("file\0{n}"),
            PortalTarget::Zip => "zip\0-".to_owned(),
            PortalTarget::Link(n) => format!("link\0{n}"),
        };
        // NUL separators: no field can contain one, so no two links share a signed text.
        let text = format!("satchel portal link\0{}\0{}\0{target}\0{}", self.merchant_id, self.order_id, self.expires);
        mac.update(text.as_bytes());
        mac
    }

    /// The query string that goes after `?`: `e={expiry}&s={signature}`.
    pub fn query(&self, server_key: &[u8]) -> String {
        let signature = URL_SAFE_NO_PAD.encode(self.mac(server_key).finalize().into_bytes());
        format!("e={}&s={signature}", self.expires)
    }

    /// Checks `signature` (constant time) and then the expiry against `now`.
    pub fn verify(&self, server_key: &[u8], signature: &str, now: Millis) -> Result<(), LinkRefusal> {
        let bytes = URL_SAFE_NO_PAD.decode(signature).map_err(|_| LinkRefusal::Forged)?;
        self.mac(server_key).verify_slice(&bytes).map_err(|_| LinkRefusal::Forged)?;
        if now / 1000 >= self.expires {
            return Err(LinkRefusal::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [5; 32];
    const NOW: Millis = 1_800_000_000_000;

    fn signature(query: &str) -> &str {
        query.split("&s=").nth(1).unwrap()
    }

    #[test]
    fn a_signed_link_works_until_it_expires() {
        let link = PortalLink::new("m1", "o1", PortalTarget::File(2), NOW);
        let query = link.query(&KEY);
        assert!(query.starts_with(&format!("e={}&s=", NOW / 1000 + 600)), "{query}");
        assert_eq!(link.verify(&KEY, signature(&query), NOW), Ok(()));
        assert_eq!(link.verify(&KEY, signature(&query), NOW + 599_000), Ok(()));
        assert_eq!(link.verify(&KEY, signature(&query), NOW + 600_000), Err(LinkRefusal::Expired));
    }

    #[test]
    fn no_part_can_be_edited() {
        let link = PortalLink::new("m1", "o1", PortalTarget::File(2), NOW);
        let query = link.query(&KEY);
        let s = signature(&query);
        let edits = [
            PortalLink { merchant_id: "m2", ..link.clone() },
            PortalLink { order_id: "o2", ..link.clone() },
            PortalLink { target: PortalTarget::File(3), ..link.clone() },
            PortalLink { target: PortalTarget::Zip, ..link.clone() },
            PortalLink { target: PortalTarget::Link(2), ..link.clone() },
            PortalLink { expires: link.expires + 1, ..link.clone() },
        ];
        for edited in edits {
            assert_eq!(edited.verify(&KEY, s, NOW), Err(LinkRefusal::Forged), "{edited:?}");
        }
        // An edited or expired link with a bad signature is forged, not expired: no oracle.
        let mut changed = s.to_owned().into_bytes();
        changed[5] = if changed[5] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        assert_eq!(link.verify(&KEY, &changed, NOW), Err(LinkRefusal::Forged));
        assert_eq!(link.verify(&KEY, &changed, NOW + 3_600_000), Err(LinkRefusal::Forged));
        assert_eq!(link.verify(&KEY, "not base64!", NOW), Err(LinkRefusal::Forged));
        assert_eq!(link.verify(&[6; 32], s, NOW), Err(LinkRefusal::Forged), "another server's key");
    }
}
