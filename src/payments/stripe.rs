//! Stripe webhooks: the `Stripe-Signature` scheme and Checkout Session events.

use serde_json::Value;

use super::{
    CustomerName, EventKind, HeaderLookup, PaidItem, PaidOrder, PaymentEvent, WebhookError, any_matches, check_fresh,
    event_type, hmac_sha256, list_len, lookup, malformed, opt_str, parse_json, parse_timestamp, quantity, req_i64,
    req_str, require_header,
};

/// The header carrying `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// Checks the `Stripe-Signature` header of a request.
///
/// `secret` is the endpoint's signing secret (`whsec_…`), used whole as the HMAC key, as
/// Stripe does; `now_unix` is the current time.
pub fn verify(secret: &str, headers: &impl HeaderLookup, body: &[u8], now_unix: i64) -> Result<(), WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::BadSecret);
    }
    let header = require_header(headers, SIGNATURE_HEADER)?;
    let mut timestamp_text = None;
    let mut signatures = Vec::new();
    for (key, value) in header.split(',').filter_map(|item| item.trim().split_once('=')) {
        match key {
            "t" => timestamp_text = Some(value),
            // v0 and any future schemes are ignored, as Stripe's own libraries do.
            "v1" => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp_text = timestamp_text.ok_or_else(|| malformed("stripe-signature header has no t= timestamp"))?;
    let timestamp = parse_timestamp(timestamp_text, "stripe-signature t=")?;

    let mac = hmac_sha256(secret.as_bytes(), &[timestamp_text.as_bytes(), b".", body]);
    if !any_matches(&mac, signatures) {
        return Err(WebhookError::BadSignature);
    }
    // Checked after the signature so that StaleTimestamp only ever describes genuine messages.
    check_fresh(timestamp, now_unix)
}

/// The `Stripe-Signature` header value for `body` signed with `secret` at `timestamp`, as
/// Stripe writes it (the dashboard's "Send test event" signs like the provider would).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let mac = hmac_sha256(secret.as_bytes(), &[timestamp.as_bytes(), b".", body]);
    format!("t={timestamp},v1={}", hex::encode(hmac::Mac::finalize(mac).into_bytes()))
}

/// Parses a verified Stripe event body.
///
/// `checkout.session.completed` and `checkout.session.async_payment_succeeded` with a paid
/// session become [`EventKind::PaymentSucceeded`], `charge.refunded` becomes
/// [`EventKind::Refunded`], and anything else [`EventKind::Other`].
pub fn parse(body: &[u8]) -> Result<PaymentEvent, WebhookError> {
    let root = parse_json(body)?;
    let event_id = req_str(&root, "id")?;
    let event_type = event_type(&root)?;
    let kind = match event_type.as_str() {
        // Delayed methods (bank debits) complete unpaid and are paid in a second event.
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" if session_is_paid(&root)? => {
            EventKind::PaymentSucceeded(paid_order(&root)?)
        }
        "charge.refunded" => EventKind::Refunded { payment_id: payment_id(&root)? },
        _ => EventKind::Other { event_type },
    };
    Ok(PaymentEvent { event_id, kind })
}

fn session_is_paid(root: &Value) -> Result<bool, WebhookError> {
    Ok(matches!(opt_str(root, "data.object.payment_status")?, None | Some("paid" | "no_payment_required")))
}

/// The PaymentIntent id, which sessions and charges share so refunds find their order;
/// the object's own id when there is none (free sessions, legacy charges).
fn payment_id(root: &Value) -> Result<String, WebhookError> {
    match lookup(root, "data.object.payment_intent") {
        Some(Value::String(id)) => Ok(id.clone()),
        _ => req_str(root, "data.object.id"),
    }
}

fn paid_order(root: &Value) -> Result<PaidOrder, WebhookError> {
    let customer_email = match opt_str(root, "data.object.customer_details.email")? {
        Some(email) => email.to_owned(),
        None => opt_str(root, "data.object.customer_email")?
            .ok_or_else(|| malformed("data.object.customer_details.email is missing"))?
            .to_owned(),
    };
    Ok(PaidOrder {
        payment_id: payment_id(root)?,
        customer_email,
        customer_name: CustomerName::clean(opt_str(root, "data.object.customer_details.name")?.unwrap_or_default()),
        amount_minor: req_i64(root, "data.object.amount_total")?,
        currency: req_str(root, "data.object.currency")?,
        items: items(root)?,
        test: super::is_test_mode(root),
    })
}

/// Line items when the session was expanded with them, else Satchel ids from the metadata.
fn items(root: &Value) -> Result<Vec<PaidItem>, WebhookError> {
    if lookup(root, "data.object.line_items").is_some() {
        return (0..list_len(root, "data.object.line_items.data")?)
            .map(|i| {
                let base = format!("data.object.line_items.data.{i}");
                let product_path = format!("{base}.price.product");
                // `price.product` is an id unless the request expanded it into an object.
                let product_ref = match lookup(root, &product_path) {
                    Some(Value::String(id)) => id.clone(),
                    _ => req_str(root, &format!("{product_path}.id"))?,
                };
                Ok(PaidItem { product_ref, quantity: quantity(root, &format!("{base}.quantity"))? })
            })
            .collect();
    }
    let single = opt_str(root, "data.object.metadata.satchel_product_id")?;
    let many = opt_str(root, "data.object.metadata.satchel_product_ids")?.unwrap_or_default();
    let mut items: Vec<PaidItem> = Vec::new();
    for product_ref in single.into_iter().chain(many.split(',')).map(str::trim) {
        // One delivery per product: the same id in both keys is not a second copy.
        if !product_ref.is_empty() && !items.iter().any(|i| i.product_ref == product_ref) {
            items.push(PaidItem { product_ref: product_ref.to_owned(), quantity: 1 });
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    // A Checkout Session event as Stripe sends it (pretty-printed), signed by
    // tests/support/sign.mjs with the official `stripe` package:
    // node sign.mjs stripe whsec_satchelTestSecret0123456789 1735689600 < body
    const SECRET: &str = "whsec_satchelTestSecret0123456789";
    const TS: i64 = 1735689600;
    const NODE_HEADER: &str = "t=1735689600,v1=610e9345b83634ea67c274621bec309547a0b41684ff77e827792f31a0c5f85f";
    const SIG: &str = "610e9345b83634ea67c274621bec309547a0b41684ff77e827792f31a0c5f85f";
    const SESSION: &str = r#"{
  "id": "evt_1QbXyZ2eZvKYlo2C0a1b2c3d",
  "object": "event",
  "api_version": "2024-12-18.acacia",
  "created": 1735689599,
  "data": {
    "object": {
      "id": "cs_test_a1B2c3D4e5F6",
      "object": "checkout.session",
      "amount_subtotal": 1999,
      "amount_total": 1999,
      "currency": "usd",
      "customer": null,
      "customer_details": {
        "address": {"city": null, "country": "US", "line1": null, "postal_code": "94103"},
        "email": "grace@example.com",
        "name": "Grace Hopper",
        "phone": null, "tax_exempt": "none", "tax_ids": []
      },
      "customer_email": null,
      "livemode": false,
      "metadata": {"satchel_product_id": "0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e"},
      "mode": "payment",
      "payment_intent": "pi_3QbXyZ2eZvKYlo2C1e2f3g4h",
      "payment_status": "paid",
      "status": "complete",
      "url": null
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null},
  "type": "checkout.session.completed"
}"#;

    #[test]
    fn signs_like_stripe() {
        assert_eq!(sign(SECRET, TS, SESSION.as_bytes()), NODE_HEADER);
    }

    fn headers(sig: &str) -> HashMap<String, String> {
        HashMap::from([("Stripe-Signature".into(), sig.into())])
    }

    fn header(ts: i64, sigs: &[&str]) -> HashMap<String, String> {
        let v1: String = sigs.iter().map(|s| format!(",v1={s}")).collect();
        headers(&format!("t={ts}{v1}"))
    }

    #[test]
    fn stripe_signed_event_verifies_and_parses() {
        let body = SESSION.as_bytes();
        assert_eq!(verify(SECRET, &headers(NODE_HEADER), body, TS + 5), Ok(()));
        let event = parse(body).unwrap();
        assert_eq!(event.event_id, "evt_1QbXyZ2eZvKYlo2C0a1b2c3d");
        let expected = PaidOrder {
            payment_id: "pi_3QbXyZ2eZvKYlo2C1e2f3g4h".into(),
            customer_email: "grace@example.com".into(),
            customer_name: CustomerName::clean("Grace Hopper"),
            amount_minor: 1999,
            currency: "usd".into(),
            items: vec![PaidItem { product_ref: "0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e".into(), quantity: 1 }],
            // Sent by Stripe's test mode.
            test: true,
        };
        assert_eq!(event.kind, EventKind::PaymentSucceeded(expected));
    }

    #[test]
    fn second_signature_may_be_the_right_one() {
        let wrong = "5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd";
        let h = header(TS, &[wrong, "zz-not-hex", SIG]);
        assert_eq!(verify(SECRET, &h, SESSION.as_bytes(), TS), Ok(()));
    }

    #[test]
    fn wrong_secret_altered_body_and_header_order() {
        let body = SESSION.as_bytes();
        let bad = Err(WebhookError::BadSignature);
        assert_eq!(verify("whsec_other", &header(TS, &[SIG]), body, TS), bad);
        let altered = SESSION.replace("1999", "1").into_bytes();
        assert_eq!(verify(SECRET, &header(TS, &[SIG]), &altered, TS), bad);
        // The timestamp is signed: moving it breaks the signature.
        assert_eq!(verify(SECRET, &header(TS + 1, &[SIG]), body, TS), bad);
        let v0_only = headers(&format!("t={TS},v0={SIG}"));
        assert_eq!(verify(SECRET, &v0_only, body, TS), bad);
        assert_eq!(verify("", &header(TS, &[SIG]), body, TS), Err(WebhookError::BadSecret));
    }

    #[test]
    fn old_and_future_timestamps_are_stale() {
        let (h, body) = (header(TS, &[SIG]), SESSION.as_bytes());
        let stale = Err(WebhookError::StaleTimestamp);
        assert_eq!(verify(SECRET, &h, body, TS + 300), Ok(()));
        assert_eq!(verify(SECRET, &h, body, TS + 301), stale);
        assert_eq!(verify(SECRET, &h, body, TS - 300), Ok(()));
        assert_eq!(verify(SECRET, &h, body, TS - 301), stale);
    }

    #[test]
    fn missing_or_unparseable_header() {
        let err = verify(SECRET, &HashMap::new(), b"{}", TS).unwrap_err();
        assert_eq!(err.to_string(), "missing header stripe-signature");
        let no_t = headers(&format!("v1={SIG}"));
        let err = verify(SECRET, &no_t, SESSION.as_bytes(), TS).unwrap_err();
        assert!(matches!(err, WebhookError::Malformed(m) if m.contains("t=")));
    }

    fn kind(body: &str) -> Result<EventKind, WebhookError> {
        parse(body.as_bytes()).map(|e| e.kind)
    }

    fn order(body: &str) -> PaidOrder {
        match kind(body).unwrap() {
            EventKind::PaymentSucceeded(order) => order,
            other => panic!("not a payment: {other:?}"),
        }
    }

    fn refs(order: &PaidOrder) -> Vec<(&str, u32)> {
        order.items.iter().map(|i| (i.product_ref.as_str(), i.quantity)).collect()
    }

    #[test]
    fn expanded_line_items_and_free_sessions() {
        let body = r#"{"id":"evt_2","type":"checkout.session.completed","data":{"object":{"id":"cs_2","amount_total":0,"currency":"eur","customer_email":"x@y.z","payment_intent":null,"payment_status":"no_payment_required","metadata":{"satchel_product_id":"ignored"},"line_items":{"object":"list","data":[{"id":"li_1","quantity":2,"price":{"id":"price_1","product":"prod_A"}},{"id":"li_2","quantity":1,"price":{"id":"price_2","product":{"id":"prod_B","object":"product"}}}]}}}}"#;
        let o = order(body);
        let people = (o.customer_email.as_str(), o.customer_name.as_str());
        assert_eq!((o.payment_id.as_str(), people), ("cs_2", ("x@y.z", "")));
        assert_eq!(refs(&o), [("prod_A", 2), ("prod_B", 1)]);
    }

    #[test]
    fn metadata_lists_and_unpaid_sessions() {
        let body = r#"{"id":"evt_3","type":"checkout.session.async_payment_succeeded","data":{"object":{"id":"cs_3","amount_total":500,"currency":"usd","customer_details":{"email":"a@b.c","name":null},"payment_intent":"pi_3","metadata":{"satchel_product_id":"p1","satchel_product_ids":"p2, p1,,p3"}}}}"#;
        assert_eq!(refs(&order(body)), [("p1", 1), ("p2", 1), ("p3", 1)]);
        let unpaid = body
            .replace("async_payment_succeeded", "completed")
            .replace(r#""payment_intent""#, r#""payment_status":"unpaid","payment_intent""#);
        let other = EventKind::Other { event_type: "checkout.session.completed".into() };
        assert_eq!(kind(&unpaid).unwrap(), other);
        let no_meta = body.replace(r#""p1","satchel_product_ids":"p2, p1,,p3""#, r#""""#);
        assert!(order(&no_meta).items.is_empty());
    }

    #[test]
    fn missing_email_is_named() {
        let body = SESSION.replace(r#""email": "grace@example.com","#, "");
        let err = kind(&body).unwrap_err();
        assert_eq!(err.to_string(), "malformed webhook: data.object.customer_details.email is missing");
        assert!(matches!(kind("{"), Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn refunds_and_other_events() {
        let refund = r#"{"id":"evt_4","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_3Qb","object":"charge","amount":1999,"amount_refunded":1999,"currency":"usd","payment_intent":"pi_3QbXyZ2eZvKYlo2C1e2f3g4h","refunded":true}}}"#;
        let payment_id = "pi_3QbXyZ2eZvKYlo2C1e2f3g4h".to_string();
        assert_eq!(kind(refund).unwrap(), EventKind::Refunded { payment_id });
        let legacy = refund.replace(r#""pi_3QbXyZ2eZvKYlo2C1e2f3g4h""#, "null");
        let payment_id = "ch_3Qb".to_string();
        assert_eq!(kind(&legacy).unwrap(), EventKind::Refunded { payment_id });
        let created = r#"{"id":"evt_5","type":"payment_intent.created","data":{"object":{}}}"#;
        let event_type = "payment_intent.created".to_string();
        assert_eq!(kind(created).unwrap(), EventKind::Other { event_type });
    }
}
