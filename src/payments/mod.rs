//! Incoming payment webhooks: signature checks and parsing into provider-neutral events.
//!
//! Pure code: the caller supplies headers, the raw body and the current time, and decides
//! what to store and which HTTP status to answer with.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::domain::{CustomerName, PaymentSource};

pub mod salvage;
pub mod standard;
pub mod stripe;

/// How far, in seconds, a webhook's signed timestamp may be from our clock (both providers'
/// own libraries use five minutes).
pub const TOLERANCE_SECS: u64 = 300;

/// Which payment provider sent an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Any sender of Standard Webhooks, such as Dodo Payments.
    Standard,
    /// Stripe.
    Stripe,
}

impl Provider {
    /// Parses the name used in configuration and URLs: `"standard"` or `"stripe"`.
    pub fn parse(name: &str) -> Option<Provider> {
        match name {
            "standard" => Some(Provider::Standard),
            "stripe" => Some(Provider::Stripe),
            _ => None,
        }
    }

    /// The name [`Provider::parse`] accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Standard => "standard",
            Provider::Stripe => "stripe",
        }
    }
}

impl From<Provider> for PaymentSource {
    fn from(provider: Provider) -> PaymentSource {
        match provider {
            Provider::Standard => PaymentSource::Standard,
            Provider::Stripe => PaymentSource::Stripe,
        }
    }
}

/// A verified, parsed event, provider-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    /// The provider's id for this delivery, stable across retries (use it to drop duplicates).
    pub event_id: String,
    /// What happened.
    pub kind: EventKind,
}

/// What a payment event reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A payment completed: deliver the order.
    PaymentSucceeded(PaidOrder),
    /// A payment was refunded, fully or partly (neither provider's event says which here).
    Refunded {
        /// The same id that [`PaidOrder::payment_id`] carried for this payment.
        payment_id: String,
    },
    /// Any other event type: acknowledged (200) and ignored.
    Other {
        /// The provider's event type, for the log.
        event_type: String,
    },
}

/// A paid order as the provider reported it; nothing here has been validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidOrder {
    /// The provider's payment id; refunds refer to it.
    pub payment_id: String,
    /// Raw as sent; the caller validates.
    pub customer_email: String,
    /// `""` when absent; cleaned of control and bidi characters (a paid order is never refused
    /// for its name).
    pub customer_name: CustomerName,
    /// Total in minor units (cents).
    pub amount_minor: i64,
    /// As sent, e.g. `"USD"` or `"usd"`; the caller normalizes.
    pub currency: String,
    /// What was bought; empty when the provider named no product (recorded as unmatched).
    pub items: Vec<PaidItem>,
    /// A test-mode payment (the event says `"livemode": false`): kept apart from real sales.
    pub test: bool,
}

/// One line of a paid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidItem {
    /// A Satchel product id or the merchant's external id for this provider; the caller resolves.
    pub product_ref: String,
    /// How many were bought.
    pub quantity: u32,
}

/// Why a webhook was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A required header is absent (the name is given in lowercase).
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// No signature in the headers matches the body under the configured secret.
    #[error("bad signature: no v1 signature matches the body and the configured secret")]
    BadSignature,
    /// The signature is valid but its timestamp is too far from our clock (replay or clock skew).
    #[error("stale timestamp: signed more than {TOLERANCE_SECS} s away from the server clock")]
    StaleTimestamp,
    /// The configured secret cannot be used as a key.
    #[error("unusable webhook secret: it is empty or not base64 after the whsec_ prefix")]
    BadSecret,
    /// An unparseable timestamp header, a body that is not JSON, or a required field missing;
    /// the message names the header or field, e.g. `data.customer.email is missing`.
    #[error("malformed webhook: {0}")]
    Malformed(String),
}

/// Read access to request headers, so this module needs no HTTP crate.
pub trait HeaderLookup {
    /// The value of the header called `name`, matched case-insensitively; this module always
    /// asks in lowercase. `None` when absent or not valid text.
    fn header(&self, name: &str) -> Option<&str>;
}

/// A signed event whose body could not be read as the event it claims to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The event id (header or body), or the body's SHA-256 when there is none.
    pub event_id: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Verifies a webhook, then parses it. A bad signature is an `Err`; a genuine event that cannot
/// be read is `Ok(Err(Unreadable))`, so the caller can keep it for the merchant instead of
/// refusing it forever (the provider would retry a refusal for days).
pub fn verify_then_parse(
    provider: Provider,
    secret: &str,
    headers: &impl HeaderLookup,
    body: &[u8],
    now_unix: i64,
) -> Result<Result<PaymentEvent, Unreadable>, WebhookError> {
    let event_id = match provider {
        Provider::Standard => {
            standard::verify(secret, headers, body, now_unix)?;
            require_header(headers, standard::ID_HEADER)?.to_owned()
        }
        Provider::Stripe => {
            stripe::verify(secret, headers, body, now_unix)?;
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned))
                .unwrap_or_else(|| {
                    use sha2::Digest;
                    hex::encode(sha2::Sha256::digest(body))
                })
        }
    };
    let parsed = match provider {
        Provider::Standard => standard::parse(&event_id, body),
        Provider::Stripe => stripe::parse(body),
    };
    Ok(parsed.map_err(|e| Unreadable { event_id, reason: e.to_string() }))
}

fn require_header<'a>(headers: &'a impl HeaderLookup, name: &'static str) -> Result<&'a str, WebhookError> {
    headers.header(name).ok_or(WebhookError::MissingHeader(name))
}

/// Parses a signed timestamp header value into unix seconds.
fn parse_timestamp(value: &str, what: &str) -> Result<i64, WebhookError> {
    value.trim().parse().map_err(|_| malformed(format!("{what} is not a unix timestamp: {value:?}")))
}

/// Checks a timestamp whose signature already verified, so the error is about time alone.
fn check_fresh(timestamp: i64, now_unix: i64) -> Result<(), WebhookError> {
    // abs_diff cannot overflow, unlike now - timestamp for hostile values.
    if now_unix.abs_diff(timestamp) > TOLERANCE_SECS {
        return Err(WebhookError::StaleTimestamp);
    }
    Ok(())
}

/// An HMAC-SHA256 over `parts`, to be checked against candidate tags.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// True if any candidate equals the MAC; each comparison is constant-time.
fn any_matches(mac: &Hmac<Sha256>, candidates: impl IntoIterator<Item = Vec<u8>>) -> bool {
    candidates.into_iter().any(|tag| mac.clone().verify_slice(&tag).is_ok())
}

fn malformed(message: impl Into<String>) -> WebhookError {
    WebhookError::Malformed(message.into())
}

fn parse_json(body: &[u8]) -> Result<Value, WebhookError> {
    serde_json::from_slice(body).map_err(|e| malformed(format!("body is not JSON: {e}")))
}

/// The value at a dotted path (`data.items.0.id`); JSON `null` counts as absent.
fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let pointer = format!("/{}", path.replace('.', "/"));
    root.pointer(&pointer).filter(|v| !v.is_null())
}

fn opt_str<'a>(root: &'a Value, path: &str) -> Result<Option<&'a str>, WebhookError> {
    match lookup(root, path) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(malformed(format!("{path} is not a string"))),
    }
}

fn req_str(root: &Value, path: &str) -> Result<String, WebhookError> {
    opt_str(root, path)?.map(str::to_owned).ok_or_else(|| malformed(format!("{path} is missing")))
}

fn req_i64(root: &Value, path: &str) -> Result<i64, WebhookError> {
    let value = lookup(root, path).ok_or_else(|| malformed(format!("{path} is missing")))?;
    value.as_i64().ok_or_else(|| malformed(format!("{path} is not an integer")))
}

/// How many elements the list at `path` has; 0 when absent.
fn list_len(root: &Value, path: &str) -> Result<usize, WebhookError> {
    match lookup(root, path) {
        None => Ok(0),
        Some(Value::Array(list)) => Ok(list.len()),
        Some(_) => Err(malformed(format!("{path} is not a list"))),
    }
}

/// A quantity, 1 when absent or null (Stripe documents line-item quantity as nullable).
fn quantity(root: &Value, path: &str) -> Result<u32, WebhookError> {
    match lookup(root, path) {
        None => Ok(1),
        Some(v) => {
            v.as_u64().and_then(|q| u32::try_from(q).ok()).ok_or_else(|| malformed(format!("{path} is not a count")))
        }
    }
}

/// Whether the event says it comes from the provider's test mode: Stripe's `livemode: false`
/// (a Standard Webhooks sender that mirrors it is read the same way; one that says nothing is
/// live, since nothing in the body tells otherwise).
pub fn is_test_mode(root: &Value) -> bool {
    matches!(root.get("livemode"), Some(Value::Bool(false)))
}

/// The event type, which every event of both providers carries.
fn event_type(root: &Value) -> Result<String, WebhookError> {
    req_str(root, "type")
}

#[cfg(test)]
impl HeaderLookup for std::collections::HashMap<String, String> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn provider_names_round_trip() {
        for p in [Provider::Standard, Provider::Stripe] {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
        }
        assert_eq!(Provider::parse("Stripe"), None);
    }

    #[test]
    fn lookup_treats_null_as_absent_and_reports_wrong_types() {
        let v = serde_json::json!({"a": {"b": null, "c": 5, "d": [{"e": "x"}]}});
        assert_eq!(lookup(&v, "a.b"), None);
        assert_eq!(req_str(&v, "a.d.0.e"), Ok("x".into()));
        assert_eq!(req_str(&v, "a.c"), Err(malformed("a.c is not a string")));
        assert_eq!(req_i64(&v, "a.x"), Err(malformed("a.x is missing")));
        assert_eq!((quantity(&v, "a.x"), quantity(&v, "a.c")), (Ok(1), Ok(5)));
        assert_eq!(list_len(&v, "a.c"), Err(malformed("a.c is not a list")));
    }

    #[test]
    fn verify_then_parse_checks_before_parsing() {
        // The Standard Webhooks spec vector: genuine, but its body is no payment event.
        let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let headers = [
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", "1614265330"),
            ("webhook-signature", sig),
        ];
        let headers: HashMap<String, String> = headers.map(|(k, v)| (k.into(), v.into())).into();
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let run = |p, body: &[u8]| verify_then_parse(p, secret, &headers, body, 1614265330);
        let body = br#"{"test": 2432232314}"#;
        let unreadable = Unreadable {
            event_id: "msg_p5jXN8AQM9LWM0D4loKWxJek".into(),
            reason: malformed("type is missing").to_string(),
        };
        assert_eq!(run(Provider::Standard, body), Ok(Err(unreadable)));
        let forged = br#"{"type":"payment.succeeded"}"#;
        assert_eq!(run(Provider::Standard, forged), Err(WebhookError::BadSignature));
        let missing = WebhookError::MissingHeader("stripe-signature");
        assert_eq!(run(Provider::Stripe, body), Err(missing));
    }

    #[test]
    fn freshness_cannot_overflow() {
        let stale = Err(WebhookError::StaleTimestamp);
        assert_eq!(check_fresh(i64::MIN, i64::MAX), stale);
        assert_eq!(check_fresh(i64::MAX, i64::MIN), stale);
    }
}
