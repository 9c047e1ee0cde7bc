//! Payment webhooks signed by the providers' own libraries: orders, duplicates, refunds.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{
    delivery_url, dodo_payment, dodo_refund, download, get, order, orders, payment_events, post_webhook, product,
    send_standard, send_stripe, set_delivery, settings, shop, stripe_session, upload,
};
use crate::helpers::{Stack, TestApp, file_bytes, on_both_stacks, sha256_hex, sign_standard, sign_stripe, unix_now};

on_both_stacks!(
    dodo_payment_makes_one_downloadable_order,
    stripe_checkout_matches_by_id_and_by_external_id,
    bad_signatures_are_refused_and_leave_nothing,
    fifty_concurrent_deliveries_make_one_order,
    unknown_product_is_kept_as_unmatched,
    refunds_keep_access_unless_the_merchant_revokes,
    signed_but_unreadable_payment_is_kept_not_refused,
    a_refund_that_comes_first_applies_to_the_order,
);

const STRIPE_SECRET: &str = "whsec_stripeTestSecret0123456789abcdef";
/// Another valid Standard Webhooks secret (the specification's test vector).
const OTHER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The only order of the merchant, in detail, after checking it delivers `bytes` as `name`.
async fn only_order_delivers(app: &TestApp, m: &crate::helpers::TestMerchant, name: &str, bytes: &[u8]) -> Value {
    let list = orders(app, m).await;
    assert_eq!(list.len(), 1, "one order: {list:#?}");
    let detail = order(app, m, list[0]["id"].as_str().unwrap()).await;
    assert_eq!(detail["status"], "paid");
    let files = detail["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{detail:#}");
    assert_eq!(files[0]["display_name"], name);
    assert_eq!(files[0]["size"], bytes.len());
    assert_eq!(files[0]["sha256"], sha256_hex(bytes));
    let got = download(app, &format!("{}/files/1", delivery_url(&detail))).await;
    assert_eq!(sha256_hex(&got), sha256_hex(bytes));
    detail
}

async fn dodo_payment_makes_one_downloadable_order(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Dodo Books", "Field Guide.pdf", file_bytes(200_000, 11)).await;
    let body = dodo_payment("pay_9Zt3", &shop.product_id, "Grace@Example.com");
    let response = send_standard(&app, &shop.m, "msg_2fPq7", &body).await;
    assert_eq!(response.status(), StatusCode::OK);

    let detail = only_order_delivers(&app, &shop.m, "Field Guide.pdf", &shop.bytes).await;
    assert_eq!(detail["provider"], "standard");
    assert_eq!(detail["payment_id"], "pay_9Zt3");
    assert_eq!(detail["customer_email"], "grace@example.com");
    assert_eq!(detail["customer_name"], "Grace Hopper");
    assert_eq!((detail["amount_minor"].as_i64(), detail["currency"].as_str()), (Some(1999), Some("USD")));
    assert_eq!(detail["items"][0]["product_id"], shop.product_id.as_str());
    let events = detail["payment_events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0]["event_id"].as_str(), events[0]["status"].as_str()), (Some("msg_2fPq7"), Some("processed")));
}

async fn stripe_checkout_matches_by_id_and_by_external_id(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Stripe Books", "Field Guide.pdf", file_bytes(150_000, 12)).await;
    settings(&app, &shop.m, json!({"stripe_webhook_secret": STRIPE_SECRET})).await;

    let metadata = json!({"metadata": {"satchel_product_id": shop.product_id}});
    let body = stripe_session("evt_1QbXyZ2eZvKYlo2C", "pi_3QbXyZ2eZvKYlo2C", metadata);
    assert_eq!(send_stripe(&app, &shop.m, STRIPE_SECRET, &body).await.status(), StatusCode::OK);
    let detail = only_order_delivers(&app, &shop.m, "Field Guide.pdf", &shop.bytes).await;
    assert_eq!(
        (detail["provider"].as_str(), detail["payment_id"].as_str()),
        (Some("stripe"), Some("pi_3QbXyZ2eZvKYlo2C"))
    );

    // A product known to Stripe as prod_X, bought through a session with its line items.
    let other = file_bytes(90_000, 13);
    let file = upload(&app, &shop.m, "Atlas.zip", "application/zip", &other).await;
    let atlas = product(&app, &shop.m, "Atlas", json!({"external_ids": {"stripe": "prod_X"}})).await;
    set_delivery(&app, &shop.m, &atlas, json!({"mode": "files", "files": [{"file_id": file["id"]}]})).await;
    let line_items = json!({"line_items": {"object": "list", "data": [
        {"id": "li_1", "object": "item", "quantity": 1, "price": {"id": "price_1", "product": "prod_X"}}
    ]}});
    let body = stripe_session("evt_2RcYzA3fAwLZmp3D", "pi_4RcYzA3fAwLZmp3D", line_items);
    assert_eq!(send_stripe(&app, &shop.m, STRIPE_SECRET, &body).await.status(), StatusCode::OK);
    let list = orders(&app, &shop.m).await;
    assert_eq!(list.len(), 2);
    let newest = order(&app, &shop.m, list[0]["id"].as_str().unwrap()).await;
    assert_eq!(newest["payment_id"], "pi_4RcYzA3fAwLZmp3D");
    assert_eq!(newest["items"][0]["product_id"], atlas.as_str());
    assert_eq!(newest["files"][0]["display_name"], "Atlas.zip");
    let got = download(&app, &format!("{}/files/1", delivery_url(&newest))).await;
    assert_eq!(sha256_hex(&got), sha256_hex(&other));
}

async fn bad_signatures_are_refused_and_leave_nothing(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Careful Books", "Field Guide.pdf", file_bytes(10_000, 14)).await;
    settings(&app, &shop.m, json!({"stripe_webhook_secret": STRIPE_SECRET})).await;
    let (m, now, stale) = (&shop.m, unix_now(), unix_now() - 7 * 60);
    let body = dodo_payment("pay_1", &shop.product_id, "grace@example.com");
    let altered = dodo_payment("pay_1", &shop.product_id, "mallory@example.com");
    let session = stripe_session("evt_9", "pi_9", json!({"metadata": {"satchel_product_id": shop.product_id}}));
    let altered_session = session.replace("1999", "1");
    assert_ne!(session, altered_session);

    let cases = [
        ("standard: wrong secret", "standard", sign_standard(OTHER_SECRET, "msg_1", now, body.as_bytes()).await, &body),
        (
            "standard: altered body",
            "standard",
            sign_standard(&m.webhook_secret, "msg_2", now, body.as_bytes()).await,
            &altered,
        ),
        ("standard: stale", "standard", sign_standard(&m.webhook_secret, "msg_3", stale, body.as_bytes()).await, &body),
        (
            "stripe: wrong secret",
            "stripe",
            sign_stripe("whsec_notTheRightOne42", now, session.as_bytes()).await,
            &session,
        ),
        ("stripe: altered body", "stripe", sign_stripe(STRIPE_SECRET, now, session.as_bytes()).await, &altered_session),
        ("stripe: stale", "stripe", sign_stripe(STRIPE_SECRET, stale, session.as_bytes()).await, &session),
    ];
    for (what, provider, headers, sent) in cases {
        let response = post_webhook(&app, &m.slug, provider, &headers, sent).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
    assert!(orders(&app, m).await.is_empty());
    assert!(payment_events(&app, m, "all").await.is_empty());

    // The same signers with the right secret and a fresh timestamp are accepted: the refusals
    // above were about the signatures, not about the bodies.
    assert_eq!(send_standard(&app, m, "msg_4", &body).await.status(), StatusCode::OK);
    assert_eq!(send_stripe(&app, m, STRIPE_SECRET, &session).await.status(), StatusCode::OK);
    assert_eq!(orders(&app, m).await.len(), 2);
}

async fn fifty_concurrent_deliveries_make_one_order(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Busy Books", "Field Guide.pdf", file_bytes(10_000, 15)).await;
    let body = dodo_payment("pay_rush", &shop.product_id, "grace@example.com");
    let headers = sign_standard(&shop.m.webhook_secret, "msg_rush", unix_now(), body.as_bytes()).await;
    let answers = join_all((0..50).map(|_| post_webhook(&app, &shop.m.slug, "standard", &headers, &body))).await;
    for (i, answer) in answers.into_iter().enumerate() {
        let status = answer.status();
        assert_eq!(status, StatusCode::OK, "delivery {i}: {}", answer.text().await.unwrap());
    }
    let list = orders(&app, &shop.m).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(payment_events(&app, &shop.m, "all").await.len(), 1);
    let detail = order(&app, &shop.m, list[0]["id"].as_str().unwrap()).await;
    assert_eq!(detail["files"].as_array().unwrap().len(), 1, "the delivery was frozen once: {detail:#}");
}

async fn unknown_product_is_kept_as_unmatched(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Lost Books", "Field Guide.pdf", file_bytes(10_000, 16)).await;
    let body = dodo_payment("pay_lost", "pdt_NoSuchProduct", "grace@example.com");
    assert_eq!(send_standard(&app, &shop.m, "msg_lost", &body).await.status(), StatusCode::OK);
    assert!(orders(&app, &shop.m).await.is_empty());
    let unmatched = payment_events(&app, &shop.m, "unmatched").await;
    assert_eq!(unmatched.len(), 1, "{unmatched:#?}");
    let event = &unmatched[0];
    assert_eq!((event["status"].as_str(), event["event_id"].as_str()), (Some("unmatched"), Some("msg_lost")));
    assert_eq!(event["payment_id"], "pay_lost");
    assert_eq!(event["order_id"], Value::Null);
    assert!(event["detail"].as_str().unwrap().contains("pdt_NoSuchProduct"), "{event:#}");
    assert_eq!(event["payload"], body.as_str());
}

async fn refunds_keep_access_unless_the_merchant_revokes(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Refund Books", "Field Guide.pdf", file_bytes(20_000, 17)).await;
    let m = &shop.m;
    let pay = |payment: &str| dodo_payment(payment, &shop.product_id, "grace@example.com");
    let order_of = |payment: &'static str| {
        let app = &app;
        async move {
            let list = orders(app, m).await;
            let found = list.iter().find(|o| o["payment_id"] == payment).expect("order of the payment");
            order(app, m, found["id"].as_str().unwrap()).await
        }
    };

    // Default: a refund marks the order refunded and the files stay downloadable.
    assert_eq!(send_standard(&app, m, "msg_p1", &pay("pay_r1")).await.status(), StatusCode::OK);
    assert_eq!(send_standard(&app, m, "msg_r1", &dodo_refund("pay_r1")).await.status(), StatusCode::OK);
    let first = order_of("pay_r1").await;
    assert_eq!(first["status"], "refunded");
    assert!(first["refunded_at"].is_string());
    let got = download(&app, &format!("{}/files/1", delivery_url(&first))).await;
    assert_eq!(sha256_hex(&got), sha256_hex(&shop.bytes));

    // With "revoke on refund", the link stops working.
    settings(&app, m, json!({"revoke_on_refund": true})).await;
    assert_eq!(send_standard(&app, m, "msg_p2", &pay("pay_r2")).await.status(), StatusCode::OK);
    let second = order_of("pay_r2").await;
    assert_eq!(get(&app, &delivery_url(&second)).await.status(), StatusCode::OK);
    let refund = dodo_refund("pay_r2");
    assert_eq!(send_standard(&app, m, "msg_r2", &refund).await.status(), StatusCode::OK);
    assert_eq!(order_of("pay_r2").await["status"], "revoked");
    assert_eq!(get(&app, &delivery_url(&second)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(get(&app, &format!("{}/files/1", delivery_url(&second))).await.status(), StatusCode::NOT_FOUND);

    // The merchant restores it; the provider retries the same refund event: no new revocation.
    let id = second["id"].as_str().unwrap();
    let restored = app.api(m, reqwest::Method::POST, &format!("/orders/{id}/restore")).send().await.unwrap();
    assert_eq!(restored.status(), StatusCode::OK);
    assert_eq!(restored.json::<Value>().await.unwrap()["status"], "refunded");
    assert_eq!(send_standard(&app, m, "msg_r2", &refund).await.status(), StatusCode::OK);
    assert_eq!(order_of("pay_r2").await["status"], "refunded");
    let got = download(&app, &format!("{}/files/1", delivery_url(&second))).await;
    assert_eq!(sha256_hex(&got), sha256_hex(&shop.bytes));
    // The first order was refunded before the setting changed and keeps its access.
    assert_eq!(order_of("pay_r1").await["status"], "refunded");
}

async fn signed_but_unreadable_payment_is_kept_not_refused(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Odd Payloads", "Guide.pdf", file_bytes(10_000, 71)).await;
    // A genuine event without the customer's email: refusing it would make the provider retry
    // it for days while the merchant never hears of the payment.
    let mut body: Value =
        serde_json::from_str(&dodo_payment("pay_noemail", &shop.product_id, "x@example.com")).unwrap();
    body["data"]["customer"].as_object_mut().unwrap().remove("email");
    let body = body.to_string();
    assert_eq!(send_standard(&app, &shop.m, "msg_noemail", &body).await.status(), StatusCode::OK);
    assert!(orders(&app, &shop.m).await.is_empty());
    let unmatched = payment_events(&app, &shop.m, "unmatched").await;
    assert_eq!(unmatched.len(), 1, "{unmatched:#?}");
    assert_eq!(unmatched[0]["event_id"], "msg_noemail");
    assert!(unmatched[0]["detail"].as_str().unwrap().contains("data.customer.email"), "{:#}", unmatched[0]);
    assert_eq!(unmatched[0]["payload"], body.as_str());
    // The retry is recognised: still one event.
    assert_eq!(send_standard(&app, &shop.m, "msg_noemail", &body).await.status(), StatusCode::OK);
    assert_eq!(payment_events(&app, &shop.m, "unmatched").await.len(), 1);
}

async fn a_refund_that_comes_first_applies_to_the_order(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Early Refunds", "Guide.pdf", file_bytes(10_000, 72)).await;
    let m = &shop.m;
    settings(&app, m, json!({"revoke_on_refund": true})).await;
    assert_eq!(send_standard(&app, m, "msg_r0", &dodo_refund("pay_late")).await.status(), StatusCode::OK);
    assert_eq!(payment_events(&app, m, "unmatched").await.len(), 1);
    let body = dodo_payment("pay_late", &shop.product_id, "late@example.com");
    assert_eq!(send_standard(&app, m, "msg_p0", &body).await.status(), StatusCode::OK);
    let list = orders(&app, m).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "revoked", "{:#}", list[0]);
    assert!(list[0]["refunded_at"].is_string());
    assert!(payment_events(&app, m, "unmatched").await.is_empty());
    let detail = order(&app, m, list[0]["id"].as_str().unwrap()).await;
    assert_eq!(get(&app, &delivery_url(&detail)).await.status(), StatusCode::NOT_FOUND);
}
