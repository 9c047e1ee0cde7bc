//! Standard Webhooks (<https://www.standardwebhooks.com>), as Dodo Payments sends them.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde_json::Value;

use super::{
    CustomerName, EventKind, HeaderLookup, PaidItem, PaidOrder, PaymentEvent, WebhookError, any_matches, check_fresh,
    event_type, hmac_sha256, list_len, opt_str, parse_json, parse_timestamp, quantity, req_i64, req_str,
    require_header,
};

/// The header carrying the message id, which is also the event id.
pub const ID_HEADER: &str = "webhook-id";
/// The header carrying the signing time in unix seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header carrying space-separated `v1,<base64>` signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

// Secrets are pasted by hand; accept them with or without the trailing `=` padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Checks the signature and timestamp of a Standard Webhooks request.
///
/// `secret` is `whsec_<base64 key>` (or the bare base64 key); `now_unix` is the current time.
pub fn verify(secret: &str, headers: &impl HeaderLookup, body: &[u8], now_unix: i64) -> Result<(), WebhookError> {
    let key = decode_secret(secret)?;
    let id = require_header(headers, ID_HEADER)?;
    let timestamp_text = require_header(headers, TIMESTAMP_HEADER)?;
    let signatures = require_header(headers, SIGNATURE_HEADER)?;
    let timestamp = parse_timestamp(timestamp_text, TIMESTAMP_HEADER)?;

    let mac = hmac_sha256(&key, &[id.as_bytes(), b".", timestamp_text.as_bytes(), b".", body]);
    // Several entries appear while the sender rotates secrets; other versions are ignored.
    let candidates = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| STANDARD.decode(sig).ok());
    if !any_matches(&mac, candidates) {
        return Err(WebhookError::BadSignature);
    }
    // Checked after the signature so that StaleTimestamp only ever describes genuine messages.
    check_fresh(timestamp, now_unix)
}

/// The `webhook-signature` header value for a message signed with `secret`, as a sender
/// writes it (the dashboard's "Send test event" signs like the provider would).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, WebhookError> {
    let key = decode_secret(secret)?;
    let timestamp = timestamp.to_string();
    let mac = hmac_sha256(&key, &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
    Ok(format!("v1,{}", STANDARD.encode(hmac::Mac::finalize(mac).into_bytes())))
}

fn decode_secret(secret: &str) -> Result<Vec<u8>, WebhookError> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    match LENIENT_BASE64.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(WebhookError::BadSecret),
    }
}

/// Parses a verified body; `webhook_id` is the `webhook-id` header, since the body has no id.
///
/// Handles `payment.succeeded` and `refund.succeeded`; any other type becomes
/// [`EventKind::Other`].
pub fn parse(webhook_id: &str, body: &[u8]) -> Result<PaymentEvent, WebhookError> {
    let root = parse_json(body)?;
    let event_type = event_type(&root)?;
    let kind = match event_type.as_str() {
        "payment.succeeded" => EventKind::PaymentSucceeded(paid_order(&root)?),
        "refund.succeeded" => EventKind::Refunded { payment_id: req_str(&root, "data.payment_id")? },
        _ => EventKind::Other { event_type },
    };
    Ok(PaymentEvent { event_id: webhook_id.to_owned(), kind })
}

fn paid_order(root: &Value) -> Result<PaidOrder, WebhookError> {
    let items = (0..list_len(root, "data.product_cart")?)
        .map(|i| {
            Ok(PaidItem {
                product_ref: req_str(root, &format!("data.product_cart.{i}.product_id"))?,
                quantity: quantity(root, &format!("data.product_cart.{i}.quantity"))?,
            })
        })
        .collect::<Result<_, WebhookError>>()?;
    Ok(PaidOrder {
        payment_id: req_str(root, "data.payment_id")?,
        customer_email: req_str(root, "data.customer.email")?,
        customer_name: CustomerName::clean(opt_str(root, "data.customer.name")?.unwrap_or_default()),
        amount_minor: req_i64(root, "data.total_amount")?,
        currency: req_str(root, "data.currency")?,
        items,
        test: super::is_test_mode(root),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    // The published test vector of the Standard Webhooks specification.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1614265330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_like_the_specification() {
        assert_eq!(sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY).unwrap(), SPEC_SIG);
        assert_eq!(sign("whsec_", SPEC_ID, SPEC_TS, SPEC_BODY).unwrap_err(), WebhookError::BadSecret);
    }

    fn headers(id: &str, ts: &str, sig: &str) -> HashMap<String, String> {
        HashMap::from([
            ("Webhook-Id".into(), id.into()),
            ("Webhook-Timestamp".into(), ts.into()),
            ("Webhook-Signature".into(), sig.into()),
        ])
    }

    fn spec_headers(sig: &str) -> HashMap<String, String> {
        headers(SPEC_ID, &SPEC_TS.to_string(), sig)
    }

    #[test]
    fn spec_vector_verifies_with_and_without_prefix() {
        let h = spec_headers(SPEC_SIG);
        assert_eq!(verify(SPEC_SECRET, &h, SPEC_BODY, SPEC_TS + 10), Ok(()));
        assert_eq!(verify(&SPEC_SECRET[6..], &h, SPEC_BODY, SPEC_TS), Ok(()));
    }

    #[test]
    fn wrong_secret_or_altered_body_fails() {
        let h = spec_headers(SPEC_SIG);
        let other = "whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=";
        assert_eq!(verify(other, &h, SPEC_BODY, SPEC_TS), Err(WebhookError::BadSignature));
        let altered = br#"{"test": 2432232315}"#;
        assert_eq!(verify(SPEC_SECRET, &h, altered, SPEC_TS), Err(WebhookError::BadSignature));
        // A different id is part of the signed content too.
        let h = headers("msg_other", &SPEC_TS.to_string(), SPEC_SIG);
        assert_eq!(verify(SPEC_SECRET, &h, SPEC_BODY, SPEC_TS), Err(WebhookError::BadSignature));
    }

    #[test]
    fn old_and_future_timestamps_are_stale() {
        let h = spec_headers(SPEC_SIG);
        let stale = Err(WebhookError::StaleTimestamp);
        assert_eq!(verify(SPEC_SECRET, &h, SPEC_BODY, SPEC_TS + 300), Ok(()));
        assert_eq!(verify(SPEC_SECRET, &h, SPEC_BODY, SPEC_TS + 301), stale);
        assert_eq!(verify(SPEC_SECRET, &h, SPEC_BODY, SPEC_TS - 300), Ok(()));
        assert_eq!(verify(SPEC_SECRET, &h, SPEC_BODY, SPEC_TS - 301), stale);
    }

    #[test]
    fn each_missing_header_is_named() {
        for name in [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER] {
            let mut h = spec_headers(SPEC_SIG);
            h.retain(|k, _| !k.eq_ignore_ascii_case(name));
            let err = verify(SPEC_SECRET, &h, SPEC_BODY, SPEC_TS).unwrap_err();
            assert_eq!(err, WebhookError::MissingHeader(name));
            assert_eq!(err.to_string(), format!("missing header {name}"));
        }
    }

    #[test]
    fn any_v1_entry_may_match_and_other_versions_are_ignored() {
        let wrong = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=";
        let both = format!("{wrong} v1,not-base64! {SPEC_SIG}");
        let h = spec_headers(&both);
        assert_eq!(verify(SPEC_SECRET, &h, SPEC_BODY, SPEC_TS), Ok(()));
        // The right bytes under another version tag do not count.
        let other_version = SPEC_SIG.replacen("v1,", "v2,", 1);
        let h = spec_headers(&format!("{wrong} {other_version}"));
        assert_eq!(verify(SPEC_SECRET, &h, SPEC_BODY, SPEC_TS), Err(WebhookError::BadSignature));
    }

    #[test]
    fn bad_secret_and_bad_timestamp_are_reported() {
        let h = spec_headers(SPEC_SIG);
        for secret in ["", "whsec_", "whsec_not base64!"] {
            assert_eq!(verify(secret, &h, SPEC_BODY, SPEC_TS), Err(WebhookError::BadSecret));
        }
        let h = headers(SPEC_ID, "yesterday", SPEC_SIG);
        let err = verify(SPEC_SECRET, &h, SPEC_BODY, SPEC_TS).unwrap_err();
        assert!(matches!(err, WebhookError::Malformed(m) if m.contains("webhook-timestamp")));
    }

    // A Dodo Payments payment, signed by tests/support/sign.mjs (the `standardwebhooks` package):
    // node sign.mjs standard whsec_dGVzdC1zZWNyZXQtZm9yLXNhdGNoZWwtZG9kbw== msg_2yHzQ4 1735689600
    const DODO_SECRET: &str = "whsec_dGVzdC1zZWNyZXQtZm9yLXNhdGNoZWwtZG9kbw==";
    const DODO_ID: &str = "msg_2yHzQ4";
    const DODO_TS: &str = "1735689600";
    const DODO_SIG: &str = "v1,lLKsgcQAVdnSDBG4GxsFW/S7A8NhYQ6rkIkzl/QAEKk=";
    const DODO_PAID: &str = r#"{"business_id":"bus_4Xq2","type":"payment.succeeded","timestamp":"2025-01-01T00:00:00.123456Z","data":{"payload_type":"Payment","billing":{"city":"London","country":"GB","state":"London","street":"1 Example St","zipcode":"N1 9GU"},"brand_id":"bus_4Xq2","business_id":"bus_4Xq2","card_last_four":"4242","card_network":"VISA","card_type":"CREDIT","created_at":"2025-01-01T00:00:00.000000Z","currency":"USD","customer":{"customer_id":"cus_8Hk1","email":"ada@example.com","name":"Ada Lovelace","phone_number":null},"digital_products_delivered":false,"discount_id":null,"disputes":[],"error_code":null,"error_message":null,"metadata":{},"payment_id":"pay_9Zt3","payment_link":"https://test.checkout.dodopayments.com/abc","payment_method":"card","product_cart":[{"product_id":"pdt_ebook","quantity":1},{"product_id":"pdt_course","quantity":2}],"refunds":[],"settlement_amount":5997,"settlement_currency":"USD","status":"succeeded","subscription_id":null,"tax":null,"total_amount":5997,"updated_at":null}}"#;

    #[test]
    fn node_signed_payment_verifies_and_parses() {
        let h = headers(DODO_ID, DODO_TS, DODO_SIG);
        let body = DODO_PAID.as_bytes();
        assert_eq!(verify(DODO_SECRET, &h, body, 1735689600), Ok(()));
        let event = parse(DODO_ID, body).unwrap();
        assert_eq!(event.event_id, DODO_ID);
        let item = |r: &str, q| PaidItem { product_ref: r.into(), quantity: q };
        let expected = PaidOrder {
            payment_id: "pay_9Zt3".into(),
            customer_email: "ada@example.com".into(),
            customer_name: CustomerName::clean("Ada Lovelace"),
            amount_minor: 5997,
            currency: "USD".into(),
            items: vec![item("pdt_ebook", 1), item("pdt_course", 2)],
            test: false,
        };
        assert_eq!(event.kind, EventKind::PaymentSucceeded(expected));
    }

    fn parse_json_text(text: &str) -> Result<EventKind, WebhookError> {
        parse("msg_1", text.as_bytes()).map(|e| e.kind)
    }

    #[test]
    fn sparse_payment_defaults_name_quantity_and_items() {
        let body = r#"{"type":"payment.succeeded","data":{"payment_id":"pay_1","total_amount":0,"currency":"eur","customer":{"email":"b@c.d"},"product_cart":[{"product_id":"pdt_a"}]}}"#;
        let EventKind::PaymentSucceeded(order) = parse_json_text(body).unwrap() else {
            panic!("not a payment");
        };
        assert_eq!(order.customer_name.as_str(), "");
        assert_eq!(order.items[0].quantity, 1);
        let no_cart = body.replace(r#","product_cart":[{"product_id":"pdt_a"}]"#, "");
        let EventKind::PaymentSucceeded(order) = parse_json_text(&no_cart).unwrap() else {
            panic!("not a payment");
        };
        assert!(order.items.is_empty());
    }

    #[test]
    fn missing_fields_are_named() {
        let body = r#"{"type":"payment.succeeded","data":{"payment_id":"pay_1","total_amount":100,"currency":"USD","customer":{"customer_id":"cus_1","name":"Ada"}}}"#;
        let err = parse_json_text(body).unwrap_err();
        assert_eq!(err.to_string(), "malformed webhook: data.customer.email is missing");
        let body = r#"{"type":"payment.succeeded","data":{"payment_id":"pay_1","total_amount":100,"currency":"USD","customer":{"email":"a@b.c"},"product_cart":[{"quantity":1}]}}"#;
        let err = parse_json_text(body).unwrap_err();
        assert_eq!(err, WebhookError::Malformed("data.product_cart.0.product_id is missing".into()));
        assert!(matches!(parse_json_text("not json"), Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn refunds_and_other_events() {
        let refund = r#"{"business_id":"bus_4Xq2","type":"refund.succeeded","timestamp":"2025-01-02T00:00:00Z","data":{"payload_type":"Refund","amount":5997,"business_id":"bus_4Xq2","created_at":"2025-01-02T00:00:00Z","currency":"USD","is_partial":false,"payment_id":"pay_9Zt3","reason":"requested","refund_id":"ref_77","status":"succeeded"}}"#;
        assert_eq!(parse_json_text(refund).unwrap(), EventKind::Refunded { payment_id: "pay_9Zt3".into() });
        let failed = r#"{"type":"payment.failed","data":{"payment_id":"pay_2"}}"#;
        assert_eq!(parse_json_text(failed).unwrap(), EventKind::Other { event_type: "payment.failed".into() });
    }
}
