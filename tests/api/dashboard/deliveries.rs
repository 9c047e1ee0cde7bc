//! The webhook deliveries page: every delivery, verified or refused, with what it did; "Send
//! test event"; refused floods kept to their shop and capped; the log trimmed; and the
//! `whsec_` check on the Stripe secret in the dashboard and the API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Dashboard, location};
use crate::fulfilment::{dodo_payment, dodo_refund, orders, post_webhook, send_standard, settings, shop};
use crate::helpers::{Stack, TestApp, error_code, file_bytes, on_both_stacks, sign_standard, unix_now};
use crate::portal::on_pool;

on_both_stacks!(
    every_delivery_is_listed_with_what_it_did,
    a_test_event_is_signed_delivered_and_logged_without_an_order,
    refused_floods_stay_in_their_shop_and_the_log_is_trimmed,
    the_stripe_secret_must_be_a_webhook_signing_secret
);

/// The cells of each row of the deliveries table, tags stripped and spaces collapsed, without
/// the time (first cell).
fn rows(html: &str) -> Vec<Vec<String>> {
    let Some(start) = html.find("<tbody>") else { return Vec::new() };
    let end = html[start..].find("</tbody>").unwrap() + start;
    html[start..end]
        .split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(2)
                .map(|cell| text_of(&cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()]))
                .collect()
        })
        .collect()
}

fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace("&#38;", "&").replace("&#39;", "'")
}

/// The text of the "last event received" line.
fn last_webhook_line(html: &str) -> String {
    let start = html.find(r#"id="last-webhook""#).expect("the last event line");
    let end = html[start..].find("</p>").unwrap() + start;
    text_of(&html[start..end])
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

async fn every_delivery_is_listed_with_what_it_did(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Ledger Books", "Guide.pdf", file_bytes(5_000, 3)).await;
    let m = &shop.m;
    let owner = Dashboard::sign_in(&app, m).await;
    let (status, empty) = owner.get("/dashboard/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("No deliveries yet") && empty.contains("No payment event received yet."), "{empty}");

    let paid = dodo_payment("pay_1", &shop.product_id, "ada@example.com");
    assert_eq!(send_standard(&app, m, "msg_1", &paid).await.status(), StatusCode::OK);
    assert_eq!(send_standard(&app, m, "msg_1", &paid).await.status(), StatusCode::OK);
    let unknown = dodo_payment("pay_2", "pdt_nope", "bo@example.com");
    assert_eq!(send_standard(&app, m, "msg_3", &unknown).await.status(), StatusCode::OK);
    assert_eq!(send_standard(&app, m, "msg_4", &dodo_refund("pay_1")).await.status(), StatusCode::OK);
    let failed = r#"{"type":"payment.failed","data":{"payment_id":"pay_3"}}"#;
    assert_eq!(send_standard(&app, m, "msg_5", failed).await.status(), StatusCode::OK);
    let unreadable = r#"{"type":"payment.succeeded","data":{}}"#;
    assert_eq!(send_standard(&app, m, "msg_6", unreadable).await.status(), StatusCode::OK);
    let forged = sign_standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_7", unix_now(), paid.as_bytes()).await;
    assert_eq!(post_webhook(&app, &m.slug, "standard", &forged, &paid).await.status(), StatusCode::UNAUTHORIZED);
    let stale = sign_standard(&m.webhook_secret, "msg_8", unix_now() - 600, paid.as_bytes()).await;
    assert_eq!(post_webhook(&app, &m.slug, "standard", &stale, &paid).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post_webhook(&app, &m.slug, "stripe", &[], "{}").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post_webhook(&app, &m.slug, "standard", &[], "not json").await.status(), StatusCode::UNAUTHORIZED);

    let order_id = orders(&app, m).await[0]["id"].as_str().unwrap().to_owned();
    let (status, html) = owner.get("/dashboard/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    let signed = "bad signature: no v1 signature matches the body and the configured secret";
    let expected = [
        row(&["Standard Webhooks", "—", "Refused", "Refused missing header webhook-id"]),
        row(&["Stripe", "—", "Refused", "Refused no Stripe signing secret is set in Settings"]),
        row(&[
            "Standard Webhooks",
            "payment.succeeded",
            "Refused",
            "Refused stale timestamp: signed more than 300 s away from the server clock",
        ]),
        row(&["Standard Webhooks", "payment.succeeded", "Refused", &format!("Refused {signed}")]),
        row(&[
            "Standard Webhooks",
            "payment.succeeded",
            "Verified",
            "Kept as unmatched malformed webhook: data.payment_id is missing",
        ]),
        row(&["Standard Webhooks", "payment.failed", "Verified", "Ignored Satchel does not act on this event type"]),
        row(&["Standard Webhooks", "refund.succeeded", "Verified", "Refund recorded"]),
        row(&[
            "Standard Webhooks",
            "payment.succeeded",
            "Verified",
            "Kept as unmatched items: no product matches pdt_nope",
        ]),
        row(&["Standard Webhooks", "payment.succeeded", "Verified", "Duplicate: nothing changed Order"]),
        row(&["Standard Webhooks", "payment.succeeded", "Verified", "Order created Order"]),
    ];
    assert_eq!(rows(&html), expected, "{html}");
    assert_eq!(html.matches(&format!(r#"<a href="/dashboard/orders/{order_id}">Order</a>"#)).count(), 2);
    let line = last_webhook_line(&html);
    assert!(line.contains("Last event received just now ("), "{line}");
    assert!(line.contains("Standard Webhooks · payment.succeeded, kept as unmatched."), "{line}");
    assert!(line.contains("The newest delivery was refused: missing header webhook-id."), "{line}");
    // The Overview shows the same line, with a link to this page.
    let (_, overview) = owner.get("/dashboard").await;
    let on_overview = last_webhook_line(&overview);
    assert!(on_overview.starts_with(r#"id="last-webhook" Last event received just now ("#), "{on_overview}");
    assert!(
        on_overview.ends_with(
            "Standard Webhooks · payment.succeeded, kept as unmatched. The newest delivery was refused: missing \
             header webhook-id. Webhook deliveries"
        ),
        "{on_overview}"
    );

    // Another shop sees none of it.
    let other = app.merchant("Other Shop").await;
    let (_, theirs) = Dashboard::sign_in(&app, &other).await.get("/dashboard/webhooks").await;
    assert!(rows(&theirs).is_empty() && theirs.contains("No deliveries yet"), "{theirs}");
}

async fn a_test_event_is_signed_delivered_and_logged_without_an_order(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Signal Tower").await;
    let owner = Dashboard::sign_in(&app, &m).await;
    let (_, page) = owner.get("/dashboard/webhooks").await;
    assert!(page.contains(">Send test event</button>") && !page.contains("Send Stripe test event"), "{page}");

    let sent = owner.post("/dashboard/webhooks/test", &[("provider", "standard")]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&sent), "/dashboard/webhooks?notice=test-sent");
    let (_, html) = owner.get("/dashboard/webhooks?notice=test-sent").await;
    assert!(html.contains("Test event sent: it arrived as the newest delivery below."));
    assert_eq!(rows(&html), [row(&["Standard Webhooks", "satchel.test", "Verified", "Test event received"])]);
    assert!(orders(&app, &m).await.is_empty(), "a test event makes no order");
    let sql = "SELECT COUNT(*) FROM payment_events WHERE merchant_id = $1";
    let (events,): (i64,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&m.id).fetch_one(pool).await.unwrap());
    assert_eq!(events, 0, "nor a payment event");

    let no_secret = owner.post("/dashboard/webhooks/test", &[("provider", "stripe")]).await;
    assert_eq!(no_secret.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = no_secret.text().await.unwrap();
    assert!(
        html.contains("No test event was sent: set the Stripe signing secret first, in Settings → Payment webhooks."),
        "{html}"
    );
    let unknown = owner.post("/dashboard/webhooks/test", &[("provider", "paypal")]).await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().await.unwrap().contains("Choose Standard Webhooks or Stripe for the test event."));
    let forged =
        owner.client.post(app.url("/dashboard/webhooks/test")).form(&[("provider", "standard")]).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no CSRF token, nothing sent");

    settings(&app, &m, json!({"stripe_webhook_secret": "whsec_signalTowerStripe0123"})).await;
    let stripe = owner.post("/dashboard/webhooks/test", &[("provider", "stripe")]).await;
    assert_eq!(stripe.status(), StatusCode::SEE_OTHER);
    let (_, html) = owner.get("/dashboard/webhooks").await;
    assert_eq!(rows(&html)[0], row(&["Stripe", "satchel.test", "Verified", "Test event received"]));
    assert_eq!(rows(&html).len(), 2, "the refusals above sent nothing");
    assert!(orders(&app, &m).await.is_empty());
}

async fn refused_floods_stay_in_their_shop_and_the_log_is_trimmed(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let target = app.merchant("Flooded Shop").await;
    let bystander = app.merchant("Bystander Shop").await;
    let body = r#"{"type":"payment.succeeded","data":{}}"#;
    let forged = sign_standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_x", unix_now(), body.as_bytes()).await;
    let sent = 130;
    let answers =
        futures_util::future::join_all((0..sent).map(|_| post_webhook(&app, &target.slug, "standard", &forged, body)))
            .await;
    assert!(answers.iter().all(|a| a.status() == StatusCode::UNAUTHORIZED), "every forged delivery is refused");
    assert_eq!(post_webhook(&app, &bystander.slug, "standard", &forged, body).await.status(), StatusCode::UNAUTHORIZED);
    let count = |merchant_id: String| {
        let app = &app;
        async move {
            let sql = "SELECT COUNT(*) FROM webhook_deliveries WHERE merchant_id = $1";
            let (n,): (i64,) =
                on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&merchant_id).fetch_one(pool).await.unwrap());
            n
        }
    };
    let logged = count(target.id.clone()).await;
    // 60 a minute; the flood may straddle two minutes.
    assert!((60..=120).contains(&logged) && logged < sent, "{logged} of {sent} forged deliveries logged");
    assert_eq!(count(bystander.id.clone()).await, 1, "another shop's log holds only its own");
    // Genuine events still get in after a flood.
    let test = r#"{"type":"satchel.test","data":{}}"#;
    assert_eq!(send_standard(&app, &target, "msg_real", test).await.status(), StatusCode::OK);
    assert_eq!(count(target.id.clone()).await, logged + 1);

    // The log keeps each shop's newest 1,000 of the last 30 days (older rows made directly).
    let now = satchel::domain::now_millis();
    for i in 0..1_000 {
        let delivery = satchel::db::webhook_deliveries::NewDelivery {
            merchant_id: &target.id,
            provider: satchel::domain::PaymentSource::Standard,
            // An hour ago: older than the flood and the real event.
            received_at: now - 3_600_000 + i,
            event_type: Some("payment.succeeded"),
            event_id: None,
            verified: true,
            outcome: satchel::domain::DeliveryOutcome::Ignored,
            detail: "",
            order_id: None,
        };
        satchel::db::webhook_deliveries::insert(&app.state.db, &delivery).await.unwrap();
    }
    let old = satchel::db::webhook_deliveries::NewDelivery {
        merchant_id: &bystander.id,
        provider: satchel::domain::PaymentSource::Stripe,
        received_at: now - 31 * 24 * 3600 * 1000,
        event_type: None,
        event_id: None,
        verified: false,
        outcome: satchel::domain::DeliveryOutcome::Refused,
        detail: "old",
        order_id: None,
    };
    satchel::db::webhook_deliveries::insert(&app.state.db, &old).await.unwrap();
    let removed = satchel::webhook_deliveries::trim(&app.state.db).await.unwrap();
    assert_eq!(removed, logged as u64 + 1 + 1, "the target's oldest beyond 1,000 and the month-old one");
    assert_eq!(count(target.id.clone()).await, 1_000);
    assert_eq!(count(bystander.id.clone()).await, 1, "the bystander's recent refusal stays");
    let owner = Dashboard::sign_in(&app, &target).await;
    let (_, html) = owner.get("/dashboard/webhooks").await;
    assert_eq!(rows(&html).len(), 200, "the newest 200 are listed");
    assert_eq!(rows(&html)[0][1], "satchel.test", "newest first");
}

async fn the_stripe_secret_must_be_a_webhook_signing_secret(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Key Mixup").await;
    let owner = Dashboard::sign_in(&app, &m).await;
    let message = "That is an API key; paste the webhook signing secret, which starts with whsec_";
    for key in ["sk_live_51HqLyjWDarjtT1zdp7dc", "sk_test_51HqLyjWDarjtT1zdp7dc"] {
        let refused = owner.post("/dashboard/settings/stripe", &[("stripe_secret", key)]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = refused.text().await.unwrap();
        assert!(html.contains(&format!(r#"<p class="field-error" id="stripe_secret-error">{message}</p>"#)), "{html}");
        assert!(!html.contains(key), "the key is not echoed back");

        let api =
            app.api(&m, Method::PATCH, "/settings").json(&json!({"stripe_webhook_secret": key})).send().await.unwrap();
        assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = api.json().await.unwrap();
        assert_eq!(
            (error_code(&body), body["error"]["field"].as_str()),
            ("invalid_field", Some("stripe_webhook_secret"))
        );
        assert_eq!(body["error"]["message"], format!("stripe_webhook_secret: {message}"), "{body}");
    }
    let other = owner.post("/dashboard/settings/stripe", &[("stripe_secret", "pk_whatever_1234")]).await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(other.text().await.unwrap().contains(
        "Paste the webhook signing secret from Stripe: it starts with whsec_ (8 to 255 characters, no spaces)"
    ));
    let (_, json) = app.get_json(&m, "/settings").await;
    assert_eq!(json["webhooks"]["stripe_secret_set"], false, "nothing was saved: {json}");
    let saved = owner.post("/dashboard/settings/stripe", &[("stripe_secret", " whsec_fromStripe0123 ")]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, json) = app.get_json(&m, "/settings").await;
    assert_eq!(json["webhooks"]["stripe_secret_set"], true);
}
