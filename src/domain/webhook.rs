//! The webhook deliveries log's rules: what became of a delivery, the test event's type, and
//! how much of a sender's text is kept.

use super::stored::stored_enum;

stored_enum! {
    /// What a delivery to a shop's webhook endpoint did.
    pub enum DeliveryOutcome {
        /// A paid event that made a new order.
        OrderCreated = "order_created",
        /// An event or payment seen before: nothing changed.
        Duplicate = "duplicate",
        /// Verified but made no order (unknown product, unusable email, unreadable body, a
        /// refund of an unknown payment): kept for the merchant.
        Unmatched = "unmatched",
        /// A refund applied to its order.
        Refund = "refund",
        /// An event type Satchel does not act on: acknowledged.
        Ignored = "ignored",
        /// The dashboard's "Send test event": acknowledged, nothing else.
        Test = "test",
        /// Not verified (bad signature, stale timestamp, no secret set…): answered 401.
        Refused = "refused",
    }
}

impl DeliveryOutcome {
    /// What the deliveries page says the delivery did.
    pub fn describe(self) -> &'static str {
        match self {
            DeliveryOutcome::OrderCreated => "Order created",
            DeliveryOutcome::Duplicate => "Duplicate: nothing changed",
            DeliveryOutcome::Unmatched => "Kept as unmatched",
            DeliveryOutcome::Refund => "Refund recorded",
            DeliveryOutcome::Ignored => "Ignored",
            DeliveryOutcome::Test => "Test event received",
            DeliveryOutcome::Refused => "Refused",
        }
    }
}

/// The event type of the dashboard's "Send test event": verified like any other, then
/// acknowledged and logged without touching orders.
pub const TEST_EVENT_TYPE: &str = "satchel.test";

/// The longest event type or detail kept from a delivery (a refused one's body is anyone's).
pub const MAX_DELIVERY_TEXT: usize = 200;

/// `text` fit for the log: control and bidi characters dropped, at most
/// [`MAX_DELIVERY_TEXT`] characters (an ellipsis says when cut).
pub fn delivery_text(text: &str) -> String {
    let clean: String =
        text.chars().filter(|c| !c.is_control() && !super::is_bidi_control(*c)).take(MAX_DELIVERY_TEXT + 1).collect();
    if clean.chars().count() > MAX_DELIVERY_TEXT {
        let mut cut: String = clean.chars().take(MAX_DELIVERY_TEXT - 1).collect();
        cut.push('…');
        return cut;
    }
    clean
}

/// The `type` of a JSON event body, when it has one (both providers name it so), cleaned.
pub fn event_type_of(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        kind: Option<serde_json::Value>,
    }
    // Only an object: serde would read a struct from a JSON array too.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let typed: Typed = serde_json::from_slice(body).ok()?;
    let kind = typed.kind?;
    let kind = kind.as_str().map(delivery_text)?;
    (!kind.is_empty()).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_read_cleaned_and_cut() {
        assert_eq!(event_type_of(br#"{"type":"payment.succeeded","data":{}}"#).as_deref(), Some("payment.succeeded"));
        assert_eq!(event_type_of(b"not json"), None);
        assert_eq!(event_type_of(br#"{"type":7}"#), None);
        assert_eq!(event_type_of(br#"{"type":""}"#), None);
        assert_eq!(event_type_of(br#"["type"]"#), None);
        assert_eq!(event_type_of("{\"type\":\"a\\u0000b\\u202ec\"}".as_bytes()).as_deref(), Some("abc"));
        let long = delivery_text(&"x".repeat(500));
        assert_eq!(long.chars().count(), MAX_DELIVERY_TEXT);
        assert!(long.ends_with('…'));
        assert_eq!(delivery_text(&"y".repeat(MAX_DELIVERY_TEXT)), "y".repeat(MAX_DELIVERY_TEXT));
        assert_eq!(DeliveryOutcome::Test.describe(), "Test event received");
    }
}
