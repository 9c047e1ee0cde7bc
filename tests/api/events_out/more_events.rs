//! The events beyond orders: `email.sent` and `email.failed` (order emails), `download.started`,
//! `download.limit_reached` and `link.expired_hit` (at most once a day per order), each
//! delivered to exactly the endpoints subscribed to it and verified with the official library;
//! no payload carries a token or a whole email address.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::delivery::{Answers, Receiver, WITHIN, all_delivered, endpoint, spawn_allowing_private, verify};
use crate::fulfilment::{buy, delivery_url, get, settings, shop};
use crate::helpers::{Stack, TestApp, eventually, on_both_stacks};
use crate::mail::{send_to, unique_address};
use satchel::db::Db;

on_both_stacks!(
    emails_downloads_and_expired_links_are_told_to_subscribed_endpoints,
    the_download_that_uses_the_last_one_is_told_once,
    an_order_email_given_up_is_told_as_failed,
);

/// The payloads `path` received, by event type, each verified with `secret`.
async fn payloads(receiver: &Receiver, path: &str, secret: &str) -> BTreeMap<String, Vec<Value>> {
    let mut by_type: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for request in receiver.received(path) {
        let payload = verify(secret, &request).await;
        by_type.entry(payload["type"].as_str().unwrap().to_owned()).or_default().push(payload);
    }
    by_type
}

/// Moves the order's link expiry into the past, straight in the database.
async fn expire(app: &TestApp, order_id: &str) {
    let sql = "UPDATE orders SET link_expires_at = 1 WHERE id = $1";
    let changed = match &app.state.db {
        Db::Sqlite(sqlite) => sqlx::query(sql).bind(order_id).execute(sqlite.pool()).await.unwrap().rows_affected(),
        Db::Postgres(pool) => sqlx::query(sql).bind(order_id).execute(pool).await.unwrap().rows_affected(),
    };
    assert_eq!(changed, 1);
}

async fn emails_downloads_and_expired_links_are_told_to_subscribed_endpoints(stack: Stack) {
    let receiver = Receiver::start(Answers::new()).await;
    let app = spawn_allowing_private(stack).await;
    let s = shop(&app, "Told Shop", "guide.pdf", b"%PDF-1.7 told".to_vec()).await;
    let m = &s.m;
    let types = ["email.sent", "download.started", "link.expired_hit"];
    let (all, secret) = endpoint(&app, m, &receiver.url("/all"), &types).await;
    let (orders_only, _) = endpoint(&app, m, &receiver.url("/orders"), &["order.created"]).await;
    let (limits, _) = endpoint(&app, m, &receiver.url("/limits"), &["download.limit_reached"]).await;

    let order = buy(&app, m, &s.product_id, "ada.lovelace@example.com").await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    let page = delivery_url(&order);
    let file = format!("{page}/files/1");
    for _ in 0..2 {
        let response = get(&app, &file).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap();
    }
    // The email went out (the mailbox) and the file was downloaded twice: one event each.
    all_delivered(&app, m, &all, 2).await;

    expire(&app, &order_id).await;
    let within = satchel::order_cache::TTL + std::time::Duration::from_secs(3);
    eventually(within, "the expired link answers 410", || async {
        (get(&app, &page).await.status() == StatusCode::GONE).then_some(())
    })
    .await;
    // Reloading it over and over tells the endpoints once.
    for _ in 0..5 {
        assert_eq!(get(&app, &page).await.status(), StatusCode::GONE);
    }
    assert_eq!(get(&app, &file).await.status(), StatusCode::GONE);
    let rows = all_delivered(&app, m, &all, 3).await;
    assert!(rows.iter().all(|r| r["attempts"] == 1), "{rows:?}");

    let got = payloads(&receiver, "/all", &secret).await;
    assert_eq!(
        got.keys().map(String::as_str).collect::<Vec<_>>(),
        ["download.started", "email.sent", "link.expired_hit"]
    );
    assert!(got.values().all(|v| v.len() == 1), "one of each: {got:#?}");
    let sent = &got["email.sent"][0]["data"];
    assert_eq!((&sent["order_id"], &sent["kind"]), (&json!(order_id), &json!("purchase")), "{sent}");
    assert_eq!(sent["to"], "a•••@example.com", "masked: {sent}");
    assert!(sent["email_id"].is_string() && sent["subject"].as_str().is_some_and(|s| !s.is_empty()), "{sent}");
    let started = &got["download.started"][0]["data"];
    assert_eq!(
        (&started["order_id"], &started["file_position"], &started["file_name"], &started["download_count"]),
        (&json!(order_id), &json!(1), &json!("guide.pdf"), &json!(1)),
        "{started}"
    );
    assert_eq!(started["max_downloads"], Value::Null, "an unlimited shop");
    let hit = &got["link.expired_hit"][0]["data"];
    assert_eq!((&hit["order_id"], &hit["expired_at"]), (&json!(order_id), &json!("1970-01-01T00:00:00.001Z")));
    // Never the token nor the address, in any of them.
    let token = page.rsplit('/').next().unwrap();
    for request in receiver.received("/all") {
        assert!(!request.body.contains(token) && !request.body.contains("ada.lovelace"), "{}", request.body);
    }

    // The others got only what they subscribed to.
    let only = all_delivered(&app, m, &orders_only, 1).await;
    assert_eq!(only[0]["event_type"], "order.created");
    assert_eq!(super::delivery::log(&app, m, &limits).await, Vec::<Value>::new(), "no cap: no limit event");
    assert!(receiver.received("/limits").is_empty());
}

async fn the_download_that_uses_the_last_one_is_told_once(stack: Stack) {
    let receiver = Receiver::start(Answers::new()).await;
    let app = spawn_allowing_private(stack).await;
    let s = shop(&app, "Capped Told", "guide.pdf", b"%PDF-1.7 capped".to_vec()).await;
    let m = &s.m;
    settings(&app, m, json!({"max_downloads_per_file": 2})).await;
    let (hook, secret) =
        endpoint(&app, m, &receiver.url("/hook"), &["download.started", "download.limit_reached"]).await;
    let order = buy(&app, m, &s.product_id, "bo@example.com").await;
    let file = format!("{}/files/1", delivery_url(&order));
    for expected in [StatusCode::OK, StatusCode::OK, StatusCode::GONE, StatusCode::GONE] {
        let response = get(&app, &file).await;
        assert_eq!(response.status(), expected);
        response.bytes().await.unwrap();
    }
    all_delivered(&app, m, &hook, 2).await;
    let got = payloads(&receiver, "/hook", &secret).await;
    assert_eq!(got.keys().map(String::as_str).collect::<Vec<_>>(), ["download.limit_reached", "download.started"]);
    let started = &got["download.started"];
    let reached = &got["download.limit_reached"];
    assert_eq!((started.len(), reached.len()), (1, 1), "{got:#?}");
    assert_eq!((&started[0]["data"]["download_count"], &started[0]["data"]["max_downloads"]), (&json!(1), &json!(2)));
    assert_eq!((&reached[0]["data"]["download_count"], &reached[0]["data"]["max_downloads"]), (&json!(2), &json!(2)));
    assert_eq!(reached[0]["data"]["order_id"], order["id"]);
}

async fn an_order_email_given_up_is_told_as_failed(stack: Stack) {
    let receiver = Receiver::start(Answers::new()).await;
    // Held to the end: every attempt at the SMTP server is refused.
    let reserved = crate::helpers::ReservedPort::new();
    let port = reserved.port();
    let app = TestApp::spawn_with(stack, |c| {
        c.webhooks_out.allow_private = true;
        send_to(c, port);
        c.mail.give_up_after_seconds = 2;
    })
    .await;
    let s = shop(&app, "Bounced Shop", "guide.pdf", b"%PDF-1.7 bounced".to_vec()).await;
    let m = &s.m;
    let (hook, secret) = endpoint(&app, m, &receiver.url("/hook"), &["email.sent", "email.failed"]).await;
    let to = unique_address("bounced");
    let order = buy(&app, m, &s.product_id, &to).await;
    let rows = eventually(WITHIN * 2, "email.failed is delivered", || async {
        let rows = super::delivery::log(&app, m, &hook).await;
        (rows.len() == 1 && rows[0]["status"] == "delivered").then_some(rows)
    })
    .await;
    assert_eq!(rows[0]["event_type"], "email.failed");
    let arrived = receiver.received("/hook");
    assert_eq!(arrived.len(), 1);
    let payload = verify(&secret, &arrived[0]).await;
    let data = &payload["data"];
    assert_eq!((&data["order_id"], &data["kind"]), (&order["id"], &json!("purchase")), "{data}");
    assert!(data["error"].as_str().unwrap().contains(&port.to_string()), "{data}");
    assert!(data["attempts"].as_i64().unwrap() >= 2, "{data}");
    assert!(!arrived[0].body.contains(&to), "{}", arrived[0].body);
}
