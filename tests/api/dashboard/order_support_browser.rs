//! The order page's Copy buttons and "Revoke access…" in Chromium, and the customer's delivery
//! page in its three states (`tests/support/order_support.mjs`). `SATCHEL_SCREENSHOTS=/some/dir`
//! makes the script also save screenshots of the pages there.

use reqwest::{Method, StatusCode};
use satchel::db::Db;
use serde_json::json;

use super::products_browser::run_script;
use super::{PASSWORD, owner_email};
use crate::fulfilment::{delivery_url, product, set_delivery, settings, upload};
use crate::helpers::{Stack, TestApp, eventually, file_bytes, on_both_stacks};

on_both_stacks!(order_page_copy_buttons_and_delivery_pages_in_a_browser);

async fn order_page_copy_buttons_and_delivery_pages_in_a_browser(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Harbor Maps").await;
    settings(&app, &m, json!({"max_downloads_per_file": 3, "link_expiry_seconds": 30 * 86_400})).await;
    let chart = upload(&app, &m, "Harbor chart 2026.pdf", "application/pdf", &file_bytes(2_400_000, 81)).await;
    let notes = upload(&app, &m, "tide-notes.txt", "text/plain", b"Tide tables.\n").await;
    let charts = product(&app, &m, "Harbor Charts", json!({})).await;
    let files = json!([{"file_id": chart["id"]}, {"file_id": notes["id"]}]);
    set_delivery(&app, &m, &charts, json!({"mode": "files", "files": files, "instructions": "Print at A3."})).await;
    let atlas = product(&app, &m, "Coastal Atlas", json!({})).await;
    let link = "https://downloads.example.org/atlas/v3.zip?key=a1b2";
    set_delivery(&app, &m, &atlas, json!({"mode": "external_link", "external_url": link})).await;
    let buy = |email: &'static str| {
        let body = json!({"customer": {"email": email, "name": "Grace"}, "payment_id": format!("pi_3Q{}", email.split('@').next().unwrap().replace('.', "")),
                          "items": [{"product_id": charts}, {"product_id": atlas}], "amount_minor": 3998, "currency": "USD"});
        let request = app.api(&m, Method::POST, "/orders").json(&body);
        async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let (normal, revoked, expired) =
        (buy("grace.hopper@example.com").await, buy("ada@example.com").await, buy("bob@example.net").await);
    let id = normal["id"].as_str().unwrap();
    let file = format!("{}/files/2", delivery_url(&normal));
    assert_eq!(app.client.get(&file).send().await.unwrap().status(), StatusCode::OK);
    let revoke = format!("/orders/{}/revoke", revoked["id"].as_str().unwrap());
    assert_eq!(app.api(&m, Method::POST, &revoke).send().await.unwrap().status(), StatusCode::OK);
    let sql = "UPDATE orders SET link_expires_at = 1 WHERE id = $1";
    let expired_id = expired["id"].as_str().unwrap();
    match &app.state.db {
        Db::Sqlite(db) => sqlx::query(sql).bind(expired_id).execute(db.pool()).await.unwrap().rows_affected(),
        Db::Postgres(pool) => sqlx::query(sql).bind(expired_id).execute(pool).await.unwrap().rows_affected(),
    };
    let within = satchel::order_cache::TTL + std::time::Duration::from_secs(3);
    eventually(within, "the link expires", || async {
        let status = app.client.get(delivery_url(&expired)).send().await.unwrap().status();
        (status == StatusCode::GONE).then_some(())
    })
    .await;

    let refused = app.client.get(format!("{}/files/1", delivery_url(&expired))).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::GONE);
    let args = vec![
        app.address.clone(),
        owner_email(&m),
        PASSWORD.to_owned(),
        id.to_owned(),
        delivery_url(&normal),
        delivery_url(&revoked),
        delivery_url(&expired),
        expired_id.to_owned(),
    ];
    let seen = run_script("order_support.mjs", args).await;
    assert_eq!(seen["copied_payment_id"], normal["payment_id"], "{seen}");
    assert_eq!(seen["copied_button"], "Copied");
    assert!(seen["extend_label"].as_str().unwrap().starts_with("Extend link until "), "{seen}");
    assert_eq!(seen["copied_link_button"], "Copied");
    assert_eq!(seen["copied_link"], delivery_url(&normal).as_str());
    assert_eq!(
        seen["confirm_heading"],
        format!("Revoke access to order #{}?", id.rsplit('-').next().unwrap().to_uppercase())
    );
    assert_eq!(
        (&seen["status_normal"], &seen["status_revoked"], &seen["status_expired"]),
        (&json!(200), &json!(404), &json!(410))
    );
}
