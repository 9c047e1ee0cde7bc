//! The order page's support tools: revoking behind a confirmation page, giving a file its
//! downloads back, extending an expired link, the refusals in the download log, the
//! breadcrumb and the copy buttons.

use reqwest::StatusCode;
use satchel::db::Db;
use serde_json::json;

use super::{Dashboard, location};
use crate::fulfilment::{buy, delivery_url, flush_download_log, order, settings, shop};
use crate::helpers::{Stack, TestApp, eventually, on_both_stacks};

on_both_stacks!(
    revoking_asks_for_confirmation_on_its_own_page,
    reset_downloads_gives_a_capped_file_its_downloads_back,
    extend_link_makes_an_expired_link_work_again,
    order_page_has_one_breadcrumb_arrow_and_copy_buttons,
);

async fn revoking_asks_for_confirmation_on_its_own_page(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let bought = buy(&app, &shop.m, &shop.product_id, "ada@readers.example").await;
    let (id, link) = (bought["id"].as_str().unwrap(), delivery_url(&bought));
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;
    let path = format!("/dashboard/orders/{id}");

    // The order page links to the confirmation; "Revoke" is no button next to "Resend email".
    let (_, page) = dashboard.get(&path).await;
    assert!(page.contains(&format!(r#"href="{path}/revoke">Revoke access…</a>"#)), "{page}");
    let actions = &page[page.find(r#"<div class="actions">"#).unwrap()..];
    let actions = &actions[..actions.find("</div>").unwrap()];
    assert!(actions.contains("Resend email") && !actions.contains("Revoke"), "{actions}");

    let (status, confirm) = dashboard.get(&format!("{path}/revoke")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Revoke access to order #") && confirm.contains("ada@readers.example"), "{confirm}");
    assert!(confirm.contains(r#"name="confirm" value="revoke""#) && confirm.contains(r#"name="csrf""#), "{confirm}");

    // A post without the confirmation revokes nothing and lands on the confirmation page.
    let unconfirmed = dashboard.post(&format!("{path}/revoke"), &[]).await;
    assert_eq!(unconfirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&unconfirmed), format!("{path}/revoke"));
    assert_eq!(order(&app, &shop.m, id).await["status"], "paid");
    assert_eq!(app.client.get(&link).send().await.unwrap().status(), StatusCode::OK);
    // The confirmation without the CSRF token is refused.
    let forged = dashboard.client.post(app.url(&format!("{path}/revoke"))).header("origin", &app.address);
    assert_eq!(forged.form(&[("confirm", "revoke")]).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(order(&app, &shop.m, id).await["status"], "paid");

    let revoked = dashboard.post(&format!("{path}/revoke"), &[("confirm", "revoke")]).await;
    assert_eq!(location(&revoked), format!("{path}?notice=revoked"));
    assert_eq!(order(&app, &shop.m, id).await["status"], "revoked");
    let gone = app.client.get(&link).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND, "a revoked link answers the 404 of an unknown one");
    // Asking again for a revoked order goes back to its page, which offers "Restore access".
    let again = dashboard.client.get(app.url(&format!("{path}/revoke"))).send().await.unwrap();
    assert_eq!(location(&again), format!("{path}?notice=revoked"));
    // Another shop's order is not found.
    let other = app.merchant("Other Shop").await;
    let stranger = Dashboard::sign_in(&app, &other).await;
    assert_eq!(stranger.get(&format!("{path}/revoke")).await.0, StatusCode::NOT_FOUND);
    let refused = stranger.post(&format!("{path}/revoke"), &[("confirm", "revoke")]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}

async fn reset_downloads_gives_a_capped_file_its_downloads_back(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 1})).await;
    let bought = buy(&app, &shop.m, &shop.product_id, "ada@readers.example").await;
    let (id, file) = (bought["id"].as_str().unwrap(), format!("{}/files/1", delivery_url(&bought)));
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;
    let path = format!("/dashboard/orders/{id}");
    let (_, page) = dashboard.get(&path).await;
    assert!(!page.contains("Reset downloads"), "nothing to reset before a download");

    assert_eq!(app.client.get(&file).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.client.get(&file).send().await.unwrap().status(), StatusCode::GONE);
    flush_download_log(&app, &shop.m, id, &file).await;
    let (_, page) = dashboard.get(&path).await;
    assert!(page.contains("1 of 1") && page.contains(">Reset downloads</button>"), "{page}");
    assert!(page.contains(r#"<span class="badge badge-bad">410 Refused</span>"#), "the refusal is logged: {page}");

    let reset = dashboard.post(&format!("{path}/files/1/reset"), &[]).await;
    assert_eq!(location(&reset), format!("{path}?notice=downloads-reset"));
    assert_eq!(order(&app, &shop.m, id).await["files"][0]["download_count"], 0);
    let again = app.client.get(&file).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.bytes().await.unwrap(), shop.bytes);
    assert_eq!(app.client.get(&file).send().await.unwrap().status(), StatusCode::GONE, "one download back, not more");

    // A file the order does not have, or another shop's order: not found, nothing changed.
    assert_eq!(dashboard.post(&format!("{path}/files/9/reset"), &[]).await.status(), StatusCode::NOT_FOUND);
    let other = app.merchant("Other Shop").await;
    let stranger = Dashboard::sign_in(&app, &other).await;
    assert_eq!(stranger.post(&format!("{path}/files/1/reset"), &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(order(&app, &shop.m, id).await["files"][0]["download_count"], 1);
}

async fn extend_link_makes_an_expired_link_work_again(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    settings(&app, &shop.m, json!({"link_expiry_seconds": 86_400})).await;
    let bought = buy(&app, &shop.m, &shop.product_id, "ada@readers.example").await;
    let (id, link) = (bought["id"].as_str().unwrap(), delivery_url(&bought));
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;
    let path = format!("/dashboard/orders/{id}");
    let (_, page) = dashboard.get(&path).await;
    assert!(!page.contains("Extend link"), "a fresh link would gain nothing much: {page}");

    let sql = "UPDATE orders SET link_expires_at = 1 WHERE id = $1";
    let changed = match &app.state.db {
        Db::Sqlite(db) => sqlx::query(sql).bind(id).execute(db.pool()).await.unwrap().rows_affected(),
        Db::Postgres(pool) => sqlx::query(sql).bind(id).execute(pool).await.unwrap().rows_affected(),
    };
    assert_eq!(changed, 1);
    let within = satchel::order_cache::TTL + std::time::Duration::from_secs(3);
    eventually(within, "the link expires", || async {
        (app.client.get(&link).send().await.unwrap().status() == StatusCode::GONE).then_some(())
    })
    .await;
    let (_, page) = dashboard.get(&path).await;
    assert!(page.contains(r#"<span class="badge badge-bad">Expired</span>"#), "{page}");
    assert!(page.contains(">Extend link until "), "{page}");

    let extended = dashboard.post(&format!("{path}/extend"), &[]).await;
    assert_eq!(location(&extended), format!("{path}?notice=link-extended"));
    assert_eq!(app.client.get(&link).send().await.unwrap().status(), StatusCode::OK, "at once");
    assert_eq!(app.client.get(format!("{link}/files/1")).send().await.unwrap().status(), StatusCode::OK);
    let sql = "SELECT link_expires_at FROM orders WHERE id = $1";
    let until: i64 = match &app.state.db {
        Db::Sqlite(db) => sqlx::query_scalar(sql).bind(id).fetch_one(db.pool()).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).bind(id).fetch_one(pool).await.unwrap(),
    };
    let left = until - satchel::domain::now_millis();
    assert!(left > 86_000_000 && left <= 86_400_000, "one policy's time from now: {left} ms");

    // The shop no longer expires links: extending makes the link permanent.
    let sql = "UPDATE orders SET link_expires_at = 1 WHERE id = $1";
    match &app.state.db {
        Db::Sqlite(db) => sqlx::query(sql).bind(id).execute(db.pool()).await.unwrap().rows_affected(),
        Db::Postgres(pool) => sqlx::query(sql).bind(id).execute(pool).await.unwrap().rows_affected(),
    };
    settings(&app, &shop.m, json!({"link_expiry_seconds": null})).await;
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;
    let (_, page) = dashboard.get(&path).await;
    assert!(page.contains(">Make the link permanent<"), "{page}");
    assert_eq!(location(&dashboard.post(&format!("{path}/extend"), &[]).await), format!("{path}?notice=link-extended"));
    assert!(order(&app, &shop.m, id).await["link_expires_at"].is_null());
}

async fn order_page_has_one_breadcrumb_arrow_and_copy_buttons(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let bought = buy(&app, &shop.m, &shop.product_id, "ada@readers.example").await;
    let id = bought["id"].as_str().unwrap();
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;
    let (_, page) = dashboard.get(&format!("/dashboard/orders/{id}")).await;
    // The stylesheet draws the arrow: the link's text has none.
    assert!(page.contains(r#"<a href="/dashboard/orders">Orders</a>"#) && !page.contains("← Orders"), "{page}");
    let payment_id = bought["payment_id"].as_str().unwrap();
    assert!(page.contains(&format!(r#"data-copy="{payment_id}""#)), "{page}");
    assert!(page.contains(&format!(r#"data-copy="{}""#, delivery_url(&bought))), "{page}");
}
