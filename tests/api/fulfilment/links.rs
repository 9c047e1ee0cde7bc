//! Per-order links: no oracle for bad or revoked tokens, revoke and restore, download policy, external links.

use reqwest::{Method, StatusCode};
use satchel::db::Db;
use serde_json::json;

use super::{buy, delivery_url, get, order, product, set_delivery, settings, shop, wait_for_order};
use crate::helpers::{Stack, TestApp, eventually, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(
    bad_tokens_and_revoked_orders_get_the_same_404,
    download_limit_answers_410_but_lets_resumes_finish,
    expired_link_answers_410_with_the_portal,
    external_link_redirects_and_counts_clicks,
    an_unknown_stored_status_is_an_error_not_a_guess,
);

/// Status and body bytes of a GET.
async fn fetch(app: &TestApp, url: &str) -> (StatusCode, Vec<u8>) {
    let response = get(app, url).await;
    (response.status(), response.bytes().await.unwrap().to_vec())
}

/// The token in an order's delivery URL.
fn token_of(url: &str) -> &str {
    url.rsplit_once("/d/").expect("a /d/ URL").1
}

async fn bad_tokens_and_revoked_orders_get_the_same_404(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Token Shop", "Field Guide.pdf", file_bytes(30_000, 41)).await;
    let order = buy(&app, &shop.m, &shop.product_id, "grace@example.com").await;
    let id = order["id"].as_str().unwrap();
    let page = delivery_url(&order);
    let token = token_of(&page);
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    let mut tampered = token.to_owned();
    let first = if tampered.starts_with('A') { "B" } else { "A" };
    tampered.replace_range(0..1, first);
    let unknown = format!("{}{}", uuid::Uuid::new_v4().simple(), &token[32..]);
    assert_eq!(unknown.len(), token.len());

    let (status, not_found) = fetch(&app, &app.url(&format!("/d/{unknown}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut refused = vec![];
    for bad in [unknown.as_str(), tampered.as_str(), "nope"] {
        refused.push(fetch(&app, &app.url(&format!("/d/{bad}"))).await);
        refused.push(fetch(&app, &app.url(&format!("/d/{bad}/files/1"))).await);
    }
    // A revoked order's links answer exactly what an unknown token gets (DESIGN.md: no oracle).
    let revoke = app.api(&shop.m, Method::POST, &format!("/orders/{id}/revoke")).send().await.unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    for url in [page.clone(), format!("{page}/files/1"), format!("{page}/zip")] {
        refused.push(fetch(&app, &url).await);
    }
    for (i, answer) in refused.iter().enumerate() {
        assert_eq!(answer, &(StatusCode::NOT_FOUND, not_found.clone()), "answer {i} differs");
    }

    let restore = app.api(&shop.m, Method::POST, &format!("/orders/{id}/restore")).send().await.unwrap();
    assert_eq!(restore.status(), StatusCode::OK);
    assert_eq!(fetch(&app, &page).await.0, StatusCode::OK);
    let (status, bytes) = fetch(&app, &format!("{page}/files/1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sha256_hex(&bytes), sha256_hex(&shop.bytes));
}

async fn download_limit_answers_410_but_lets_resumes_finish(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Limited Shop", "Field Guide.pdf", file_bytes(30_000, 42)).await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 2})).await;
    let order = buy(&app, &shop.m, &shop.product_id, "grace@example.com").await;
    assert_eq!(order["max_downloads_per_file"], 2);
    let file = format!("{}/files/1", delivery_url(&order));
    for n in 1..=2 {
        assert_eq!(fetch(&app, &file).await.0, StatusCode::OK, "download {n}");
    }
    let (status, body) = fetch(&app, &file).await;
    assert_eq!(status, StatusCode::GONE);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains(&format!("href=\"/portal/{}\"", shop.m.slug)), "{page}");

    // Resuming a download already under way is not a new download.
    let resumed = app.client.get(&file).header("range", "bytes=1000-").send().await.unwrap();
    assert_eq!(resumed.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resumed.bytes().await.unwrap(), shop.bytes[1000..]);
    let detail = order_detail_count(&app, &shop, order["id"].as_str().unwrap()).await;
    assert_eq!(detail, 2);
}

async fn order_detail_count(app: &TestApp, shop: &super::Shop, id: &str) -> i64 {
    order(app, &shop.m, id).await["files"][0]["download_count"].as_i64().unwrap()
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

async fn expired_link_answers_410_with_the_portal(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Expiring Shop", "Field Guide.pdf", file_bytes(30_000, 43)).await;
    settings(&app, &shop.m, json!({"link_expiry_seconds": 60})).await;
    let order = buy(&app, &shop.m, &shop.product_id, "grace@example.com").await;
    assert!(order["link_expires_at"].is_string(), "{order:#}");
    let page = delivery_url(&order);
    assert_eq!(fetch(&app, &page).await.0, StatusCode::OK);
    assert_eq!(fetch(&app, &format!("{page}/files/1")).await.0, StatusCode::OK);

    expire(&app, order["id"].as_str().unwrap()).await;
    for url in [page.clone(), format!("{page}/files/1")] {
        // A change made behind the process's back is seen once its order cache entry ages out.
        let within = satchel::order_cache::TTL + std::time::Duration::from_secs(3);
        let (status, body) = eventually(within, "the expired link answers 410", || async {
            let (status, body) = fetch(&app, &url).await;
            (status == StatusCode::GONE).then_some((status, body))
        })
        .await;
        assert_eq!(status, StatusCode::GONE, "{url}");
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains(&format!("href=\"/portal/{}\"", shop.m.slug)), "{body}");
    }
}

async fn external_link_redirects_and_counts_clicks(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Link Shop").await;
    let target = "https://downloads.example.com/atlas/v3.zip?key=a1b2";
    let atlas = product(&app, &m, "Atlas", json!({})).await;
    set_delivery(&app, &m, &atlas, json!({"mode": "external_link", "external_url": target})).await;
    let order = buy(&app, &m, &atlas, "grace@example.com").await;
    let id = order["id"].as_str().unwrap();
    assert_eq!(order["items"][0]["external_url"], target);
    assert!(order["files"].as_array().unwrap().is_empty());
    let page = delivery_url(&order);
    let html = get(&app, &page).await.text().await.unwrap();
    assert!(html.contains(&format!("/d/{}/link/1", token_of(&page))), "{html}");

    let redirect = get(&app, &format!("{page}/link")).await;
    assert_eq!(redirect.status(), StatusCode::FOUND);
    assert_eq!(redirect.headers()["location"], target);
    wait_for_order(&app, &m, id, "one link click", |o| o["items"][0]["link_clicks"] == 1).await;
    let again = get(&app, &format!("{page}/link/1")).await;
    assert_eq!(again.status(), StatusCode::FOUND);
    wait_for_order(&app, &m, id, "two link clicks", |o| o["items"][0]["link_clicks"] == 2).await;

    // The redirect is revocable like the files.
    let revoke = app.api(&m, Method::POST, &format!("/orders/{id}/revoke")).send().await.unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    let refused = get(&app, &format!("{page}/link")).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert!(refused.headers().get("location").is_none());
}

/// A status the program does not know fails the read (500) on both engines instead of being
/// taken for another state (it used to be read as "revoked").
async fn an_unknown_stored_status_is_an_error_not_a_guess(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Odd Shop", "Field Guide.pdf", file_bytes(1_000, 43)).await;
    let bought = buy(&app, &shop.m, &shop.product_id, "grace@example.com").await;
    let id = bought["id"].as_str().unwrap();
    let read = order(&app, &shop.m, id).await;
    assert_eq!((read["status"].as_str(), read["provider"].as_str()), (Some("paid"), Some("api")));
    assert_eq!(read["items"][0]["delivery_mode"], "files");
    assert_eq!(read["emails"][0]["kind"], "purchase");

    let sql = "UPDATE orders SET status = 'lost' WHERE id = $1";
    let changed = match &app.state.db {
        Db::Sqlite(sqlite) => sqlx::query(sql).bind(id).execute(sqlite.pool()).await.unwrap().rows_affected(),
        Db::Postgres(pool) => sqlx::query(sql).bind(id).execute(pool).await.unwrap().rows_affected(),
    };
    assert_eq!(changed, 1);
    let response = app.api(&shop.m, Method::GET, &format!("/orders/{id}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
