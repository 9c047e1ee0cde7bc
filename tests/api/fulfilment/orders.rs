//! The orders API (Idempotency-Key), the test-mode checkout, and the walls between merchants.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    buy, delivery_url, dodo_payment, download, get, orders, payment_events, post_webhook, send_standard, settings, shop,
};
use crate::helpers::{Stack, TestApp, file_bytes, on_both_stacks, sha256_hex, sign_standard, unix_now};

on_both_stacks!(
    idempotency_key_replays_the_same_order,
    test_checkout_pays_and_redirects_to_the_delivery_page,
    merchants_cannot_see_or_change_each_others_orders,
);

async fn idempotency_key_replays_the_same_order(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Careful API", "Field Guide.pdf", file_bytes(5_000, 51)).await;
    let m = &shop.m;
    let create = |key: &'static str, body: Value| {
        app.api(m, Method::POST, "/orders").header("idempotency-key", key).json(&body).send()
    };
    let body = json!({"customer": {"email": "grace@example.com"}, "items": [{"product_id": shop.product_id}],
                      "amount_minor": 1999, "currency": "EUR"});

    let first = create("order-7f3a", body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = create("order-7f3a", body.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["delivery_url"], first["delivery_url"]);

    let mut changed = body.clone();
    changed["customer"]["email"] = json!("mallory@example.com");
    let reused = create("order-7f3a", changed).await.unwrap();
    assert_eq!(reused.status(), StatusCode::CONFLICT);
    assert_eq!(reused.json::<Value>().await.unwrap()["error"]["code"], "idempotency_key_reused");

    let unknown = json!({"customer": {"email": "grace@example.com"}, "items": [{"product_id": "no-such-product"}]});
    let refused = create("order-8b1c", unknown).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = refused.json::<Value>().await.unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("no-such-product"), "{error:#}");

    let list = orders(&app, m).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["id"], first["id"]);

    // A client retrying on a timeout while the first request is still running: one order.
    let retried = join_all((0..10).map(|_| create("order-9d2e", body.clone()))).await;
    let mut created = 0;
    let mut ids = vec![];
    for answer in retried {
        let answer = answer.unwrap();
        let status = answer.status();
        let order: Value = answer.json().await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::OK, "{status}: {order}");
        created += usize::from(status == StatusCode::CREATED);
        ids.push(order["id"].clone());
    }
    assert_eq!(created, 1);
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(orders(&app, m).await.len(), 2);
}

/// POSTs an HTML form (application/x-www-form-urlencoded).
async fn post_form(app: &TestApp, url: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let request = app.client.post(url).header("content-type", "application/x-www-form-urlencoded").body(body);
    request.send().await.unwrap()
}

async fn test_checkout_pays_and_redirects_to_the_delivery_page(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Demo Shop", "Field Guide.pdf", file_bytes(25_000, 52)).await;
    let buy_url = app.url(&format!("/buy/{}", shop.product_id));

    // Test mode is off for a new merchant: nothing can be had for free by accident.
    assert_eq!(get(&app, &buy_url).await.status(), StatusCode::NOT_FOUND);
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    let form = get(&app, &buy_url).await;
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(html.contains("Field Guide") && html.contains(&format!("action=\"/buy/{}\"", shop.product_id)), "{html}");

    let paid = post_form(&app, &buy_url, &[("name", "Ada Lovelace"), ("email", "ada@example.com")]).await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let location = paid.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/d/"), "{location}");
    let page = get(&app, &app.url(&location)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Field Guide.pdf") && html.contains(&format!("{location}/files/1")), "{html}");
    let bytes = download(&app, &app.url(&format!("{location}/files/1"))).await;
    assert_eq!(sha256_hex(&bytes), sha256_hex(&shop.bytes));
    let list = orders(&app, &shop.m).await;
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0]["provider"].as_str(), list[0]["customer_email"].as_str()),
        (Some("test"), Some("ada@example.com"))
    );

    settings(&app, &shop.m, json!({"test_mode": false})).await;
    assert_eq!(get(&app, &buy_url).await.status(), StatusCode::NOT_FOUND);
    let refused = post_form(&app, &buy_url, &[("name", "Eve"), ("email", "eve@example.com")]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(orders(&app, &shop.m).await.len(), 1);
}

async fn merchants_cannot_see_or_change_each_others_orders(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let a = shop(&app, "Shop A", "A.pdf", file_bytes(5_000, 53)).await;
    let b = shop(&app, "Shop B", "B.pdf", file_bytes(5_000, 54)).await;
    let a_order = buy(&app, &a.m, &a.product_id, "grace@example.com").await;
    let b_order = buy(&app, &b.m, &b.product_id, "grace@example.com").await;
    let a_id = a_order["id"].as_str().unwrap();

    for (method, path) in [
        (Method::GET, format!("/orders/{a_id}")),
        (Method::POST, format!("/orders/{a_id}/revoke")),
        (Method::POST, format!("/orders/{a_id}/restore")),
    ] {
        let response = app.api(&b.m, method.clone(), &path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "B: {method} {path}");
    }
    let b_list = orders(&app, &b.m).await;
    assert_eq!(b_list.len(), 1);
    assert_eq!(b_list[0]["id"], b_order["id"]);
    // A's order was not revoked by B's attempt.
    let a_list = orders(&app, &a.m).await;
    assert_eq!((a_list.len(), a_list[0]["status"].as_str()), (1, Some("paid")));
    assert_eq!(get(&app, &delivery_url(&a_order)).await.status(), StatusCode::OK);
    // Buying A's product through B's order API is refused: B has no such product.
    let cross = json!({"customer": {"email": "eve@example.com"}, "items": [{"product_id": a.product_id}]});
    let cross = app.api(&b.m, Method::POST, "/orders").json(&cross).send().await.unwrap();
    assert_eq!(cross.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A webhook for A signed with B's secret is refused; with A's it is accepted.
    let body = dodo_payment("pay_cross", &a.product_id, "eve@example.com");
    let headers = sign_standard(&b.m.webhook_secret, "msg_cross", unix_now(), body.as_bytes()).await;
    assert_eq!(post_webhook(&app, &a.m.slug, "standard", &headers, &body).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(orders(&app, &a.m).await.len(), 1);
    assert_eq!(send_standard(&app, &a.m, "msg_cross", &body).await.status(), StatusCode::OK);
    assert_eq!(orders(&app, &a.m).await.len(), 2);
    assert_eq!(orders(&app, &b.m).await.len(), 1);
    assert!(payment_events(&app, &b.m, "all").await.is_empty());
}
