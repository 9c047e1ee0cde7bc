//! Reading what can be read from a stored event that made no order, so the merchant can assign
//! it to a product: the strict parsers refuse a body with a field missing, this takes every
//! field it finds and leaves the rest for the merchant to supply.

use serde_json::Value;

use super::lookup;
use crate::domain::{CustomerName, PaymentSource};

/// What a stored payment event says about its payment, as far as it says anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Salvaged {
    /// Whether the event reports a successful payment (not a refund or anything else).
    pub paid: bool,
    /// The provider's payment id (refunds refer to it).
    pub payment_id: Option<String>,
    /// The customer's email as sent (unchecked).
    pub customer_email: Option<String>,
    /// The customer's name ("" when absent), cleaned of control and bidi characters.
    pub customer_name: CustomerName,
    /// Amount paid, minor units (0 when absent).
    pub amount_minor: i64,
    /// Currency as sent.
    pub currency: Option<String>,
    /// The product references the provider sent (which matched nothing).
    pub product_refs: Vec<String>,
    /// Sent by the provider's test mode (`"livemode": false`).
    pub test: bool,
}

/// Reads the body of a `provider` (`standard` or `stripe`) payment event leniently.
pub fn salvage(provider: PaymentSource, payload: &str) -> Salvaged {
    let Ok(root) = serde_json::from_str::<Value>(payload) else { return Salvaged::default() };
    let text = |paths: &[&str]| {
        paths.iter().find_map(|p| lookup(&root, p).and_then(Value::as_str)).map(str::trim).map(str::to_owned)
    };
    let event_type = text(&["type"]).unwrap_or_default();
    let number = |path: &str| lookup(&root, path).and_then(Value::as_i64).unwrap_or(0);
    let refs = |list: &str, field: &str| -> Vec<String> {
        let Some(Value::Array(items)) = lookup(&root, list) else { return Vec::new() };
        items.iter().filter_map(|i| lookup(i, field).and_then(Value::as_str).map(str::to_owned)).collect()
    };
    let test = super::is_test_mode(&root);
    match provider {
        PaymentSource::Stripe => Salvaged {
            paid: matches!(
                event_type.as_str(),
                "checkout.session.completed" | "checkout.session.async_payment_succeeded"
            ),
            payment_id: text(&["data.object.payment_intent", "data.object.id"]),
            customer_email: text(&["data.object.customer_details.email", "data.object.customer_email"]),
            customer_name: CustomerName::clean(&text(&["data.object.customer_details.name"]).unwrap_or_default()),
            amount_minor: number("data.object.amount_total"),
            currency: text(&["data.object.currency"]),
            product_refs: text(&["data.object.metadata.satchel_product_id"]).into_iter().collect(),
            test,
        },
        _ => Salvaged {
            paid: event_type == "payment.succeeded",
            payment_id: text(&["data.payment_id"]),
            customer_email: text(&["data.customer.email"]),
            customer_name: CustomerName::clean(&text(&["data.customer.name"]).unwrap_or_default()),
            amount_minor: number("data.total_amount"),
            currency: text(&["data.currency"]),
            product_refs: refs("data.product_cart", "product_id"),
            test,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dodo_payment_without_an_email_still_gives_the_rest() {
        let body = r#"{"type":"payment.succeeded","data":{"payment_id":"pay_1","total_amount":1999,"currency":"EUR",
            "customer":{"name":"Grace"},"product_cart":[{"product_id":"p_9","quantity":1}]}}"#;
        let found = salvage(PaymentSource::Standard, body);
        assert!(found.paid);
        assert_eq!(found.payment_id.as_deref(), Some("pay_1"));
        assert_eq!(found.customer_email, None);
        assert_eq!((found.customer_name.as_str(), found.amount_minor), ("Grace", 1999));
        let eve = body.replace("Grace", "Eve\\r\\nBcc: x@evil.example\\u202e");
        assert_eq!(salvage(PaymentSource::Standard, &eve).customer_name.as_str(), "Eve Bcc: x@evil.example");
        assert_eq!((found.currency.as_deref(), found.product_refs), (Some("EUR"), vec!["p_9".to_owned()]));
    }

    #[test]
    fn a_stripe_session_falls_back_to_customer_email() {
        let body =
            r#"{"data":{"object":{"id":"cs_1","customer_email":"a@b.example","amount_total":500,"currency":"usd"}}}"#;
        let found = salvage(PaymentSource::Stripe, body);
        assert!(!found.paid, "no event type");
        assert_eq!((found.payment_id.as_deref(), found.customer_email.as_deref()), (Some("cs_1"), Some("a@b.example")));
        assert_eq!(salvage(PaymentSource::Standard, "not json"), Salvaged::default());
    }
}
