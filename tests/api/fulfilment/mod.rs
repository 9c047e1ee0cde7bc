//! Fulfilment: payments in, orders with frozen deliveries, per-order links and downloads.

mod caps;
mod delivery_page;
mod downloads;
mod drafts;
mod links;
mod offload;
mod orders;
mod snapshot;
mod webhooks;

use std::time::{Duration, Instant};

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestMerchant, sign_standard, sign_stripe};

/// A product delivering one uploaded file.
pub struct Shop {
    /// The merchant.
    pub m: TestMerchant,
    /// The product's id.
    pub product_id: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// Uploads `bytes` as a raw body; returns the file's JSON.
pub async fn upload(app: &TestApp, m: &TestMerchant, filename: &str, content_type: &str, bytes: &[u8]) -> Value {
    let path = format!("/files?filename={}", urlencode(filename));
    let response =
        app.api(m, Method::POST, &path).header("content-type", content_type).body(bytes.to_vec()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "upload {filename}");
    response.json().await.unwrap()
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Creates a product; `extra` is merged into the body (e.g. external ids). Returns its id.
pub async fn product(app: &TestApp, m: &TestMerchant, name: &str, extra: Value) -> String {
    let mut body = json!({"name": name, "price_minor": 1999, "currency": "USD"});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    let response = app.api(m, Method::POST, "/products").json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "create product {name}");
    let product: Value = response.json().await.unwrap();
    product["id"].as_str().unwrap().to_owned()
}

/// Sets a product's delivery (`PUT …/delivery`), expecting 200.
pub async fn set_delivery(app: &TestApp, m: &TestMerchant, product_id: &str, delivery: Value) {
    let path = format!("/products/{product_id}/delivery");
    let response = app.api(m, Method::PUT, &path).json(&delivery).send().await.unwrap();
    let status = response.status();
    assert_eq!(status, StatusCode::OK, "set delivery: {}", response.text().await.unwrap());
}

/// A merchant selling one product that delivers one file.
pub async fn shop(app: &TestApp, merchant: &str, filename: &str, bytes: Vec<u8>) -> Shop {
    let m = app.merchant(merchant).await;
    let file = upload(app, &m, filename, "application/pdf", &bytes).await;
    let product_id = product(app, &m, "Field Guide", json!({})).await;
    set_delivery(app, &m, &product_id, json!({"mode": "files", "files": [{"file_id": file["id"]}]})).await;
    Shop { m, product_id, bytes }
}

/// Records a paid order through `POST /api/v1/orders`; returns the order detail.
pub async fn buy(app: &TestApp, m: &TestMerchant, product_id: &str, email: &str) -> Value {
    let body = json!({"customer": {"email": email, "name": "Ada"}, "items": [{"product_id": product_id}]});
    let response = app.api(m, Method::POST, "/orders").json(&body).send().await.unwrap();
    let status = response.status();
    let order: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "order: {order}");
    order
}

/// `GET /api/v1/orders/{id}`.
pub async fn order(app: &TestApp, m: &TestMerchant, id: &str) -> Value {
    let response = app.api(m, Method::GET, &format!("/orders/{id}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "order {id}");
    response.json().await.unwrap()
}

/// `GET /api/v1/orders` (newest first).
pub async fn orders(app: &TestApp, m: &TestMerchant) -> Vec<Value> {
    let response = app.api(m, Method::GET, "/orders").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// `GET /api/v1/payment-events?status=…`.
pub async fn payment_events(app: &TestApp, m: &TestMerchant, status: &str) -> Vec<Value> {
    let response = app.api(m, Method::GET, &format!("/payment-events?status={status}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// `PATCH /api/v1/settings`, expecting 200.
pub async fn settings(app: &TestApp, m: &TestMerchant, change: Value) -> Value {
    let response = app.api(m, Method::PATCH, "/settings").json(&change).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "settings {change}: {body}");
    body
}

/// The delivery page URL of an order detail (`…/d/{token}`).
pub fn delivery_url(order: &Value) -> String {
    let url = order["delivery_url"].as_str().expect("delivery_url").to_owned();
    assert!(url.contains("/d/"), "{url}");
    url
}

/// GET with no extra headers.
pub async fn get(app: &TestApp, url: &str) -> Response {
    app.client.get(url).send().await.unwrap()
}

/// The whole body of a successful GET.
pub async fn download(app: &TestApp, url: &str) -> Vec<u8> {
    let response = get(app, url).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    response.bytes().await.unwrap().to_vec()
}

/// Polls the order detail until `done` holds, failing after a deadline (counts and the
/// download log are written by a background batch, so they show up shortly after).
pub async fn wait_for_order(
    app: &TestApp,
    m: &TestMerchant,
    id: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let detail = order(app, m, id).await;
        if done(&detail) {
            return detail;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; order is now {detail:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a HEAD with a unique User-Agent to a file and waits until the download log shows it.
/// The log is written in order by one task, so every earlier download is then written too,
/// along with the download counts it carries.
pub async fn flush_download_log(app: &TestApp, m: &TestMerchant, order_id: &str, file_url: &str) -> Value {
    let marker = format!("satchel-test-marker-{}", uuid::Uuid::new_v4());
    let response = app.client.head(file_url).header("user-agent", &marker).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    wait_for_order(app, m, order_id, "the marker download event", |o| {
        o["downloads"].as_array().unwrap().iter().any(|d| d["user_agent"] == marker.as_str())
    })
    .await
}

/// A Dodo Payments `payment.succeeded` body (the shape Dodo sends, trimmed of unused fields).
pub fn dodo_payment(payment_id: &str, product_ref: &str, email: &str) -> String {
    json!({
        "business_id": "bus_4Xq2",
        "type": "payment.succeeded",
        "timestamp": "2025-01-02T00:00:00Z",
        "data": {
            "payload_type": "Payment",
            "payment_id": payment_id,
            "business_id": "bus_4Xq2",
            "status": "succeeded",
            "total_amount": 1999,
            "currency": "USD",
            "payment_method": "card",
            "created_at": "2025-01-02T00:00:00Z",
            "customer": {"customer_id": "cus_8Yw1", "email": email, "name": "Grace Hopper"},
            "product_cart": [{"product_id": product_ref, "quantity": 1}],
            "metadata": {}
        }
    })
    .to_string()
}

/// A Dodo Payments `refund.succeeded` body.
pub fn dodo_refund(payment_id: &str) -> String {
    json!({
        "business_id": "bus_4Xq2",
        "type": "refund.succeeded",
        "timestamp": "2025-01-03T00:00:00Z",
        "data": {
            "payload_type": "Refund",
            "refund_id": format!("ref_{payment_id}"),
            "payment_id": payment_id,
            "business_id": "bus_4Xq2",
            "amount": 1999,
            "currency": "USD",
            "is_partial": false,
            "reason": "requested",
            "status": "succeeded",
            "created_at": "2025-01-03T00:00:00Z"
        }
    })
    .to_string()
}

/// A Stripe `checkout.session.completed` event; `object` fields are merged into the session.
pub fn stripe_session(event_id: &str, payment_intent: &str, object: Value) -> String {
    let mut session = json!({
        "id": format!("cs_test_{event_id}"),
        "object": "checkout.session",
        "amount_subtotal": 1999,
        "amount_total": 1999,
        "currency": "usd",
        "customer": null,
        "customer_details": {"email": "grace@example.com", "name": "Grace Hopper", "phone": null},
        "customer_email": null,
        "livemode": false,
        "metadata": {},
        "mode": "payment",
        "payment_intent": payment_intent,
        "payment_status": "paid",
        "status": "complete"
    });
    if let (Some(session), Value::Object(object)) = (session.as_object_mut(), object) {
        session.extend(object);
    }
    json!({
        "id": event_id,
        "object": "event",
        "api_version": "2024-12-18.acacia",
        "created": 1735689599,
        "data": {"object": session},
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": "checkout.session.completed"
    })
    .to_string()
}

/// POSTs `body` to `/webhooks/{slug}/{provider}` with `headers`.
pub async fn post_webhook(
    app: &TestApp,
    slug: &str,
    provider: &str,
    headers: &[(String, String)],
    body: &str,
) -> Response {
    let mut request = app.client.post(app.url(&format!("/webhooks/{slug}/{provider}"))).body(body.to_owned());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.header("content-type", "application/json").send().await.unwrap()
}

/// Signs `body` now with the merchant's Standard Webhooks secret and sends it.
pub async fn send_standard(app: &TestApp, m: &TestMerchant, msg_id: &str, body: &str) -> Response {
    let headers = sign_standard(&m.webhook_secret, msg_id, crate::helpers::unix_now(), body.as_bytes()).await;
    post_webhook(app, &m.slug, "standard", &headers, body).await
}

/// Signs `body` now with `secret` the Stripe way and sends it to the merchant's Stripe endpoint.
pub async fn send_stripe(app: &TestApp, m: &TestMerchant, secret: &str, body: &str) -> Response {
    let headers = sign_stripe(secret, crate::helpers::unix_now(), body.as_bytes()).await;
    post_webhook(app, &m.slug, "stripe", &headers, body).await
}
