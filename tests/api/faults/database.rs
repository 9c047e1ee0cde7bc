//! PostgreSQL cut off from one app (behind a proxy): every request that needs it answers 503
//! with `Retry-After` (API, pages, webhooks), `/readyz` names the database, and once it is back
//! the payment provider's retry makes its order, and its email, exactly once, and the download
//! log keeps what was served meanwhile.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Proxy, retry_after};
use crate::fulfilment::{buy, delivery_url, dodo_payment, download, orders, send_standard, shop, wait_for_order};
use crate::helpers::{Stack, TestApp, file_bytes};
use crate::mail::{Maildev, send_to, smtp_port, unique_address};

/// An app on PostgreSQL whose every connection goes through the returned proxy, waiting at most
/// a second for a pooled connection.
async fn app_behind_proxy() -> (TestApp, Proxy) {
    let admin = reqwest::Url::parse(&std::env::var("SATCHEL_TEST_POSTGRES_URL").expect("./scripts/test")).unwrap();
    let target = format!("{}:{}", admin.host_str().unwrap(), admin.port().unwrap_or(5432));
    let proxy = Proxy::to(target).await;
    let address = proxy.address;
    let app = TestApp::spawn_with(Stack::ScaledOut, |c| {
        let mut url = reqwest::Url::parse(c.database.url.as_ref().unwrap().expose()).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(address.port())).unwrap();
        c.database.url = Some(satchel::config::Secret(url.to_string()));
        c.database.acquire_timeout_secs = 1;
        // Long enough that the order opened before the cut is still in memory however slow
        // the machine (the default 2 s was outrun on a loaded one).
        c.database.order_cache_milliseconds = 120_000;
        send_to(c, smtp_port());
    })
    .await;
    (app, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_down_answers_503_and_a_retried_webhook_orders_once() {
    let (app, proxy) = app_behind_proxy().await;
    let shop = shop(&app, "Outage Books", "Guide.pdf", file_bytes(40_000, 41)).await;
    let earlier = buy(&app, &shop.m, &shop.product_id, &unique_address("before-outage")).await;
    let customer = unique_address("outage");
    let body = dodo_payment("pay_outage1", &shop.product_id, &customer);
    let dashboard = crate::dashboard::Dashboard::sign_in(&app, &shop.m).await;
    let file_url = format!("{}/files/1", delivery_url(&earlier));
    let during = format!("outage-download-{}", uuid::Uuid::new_v4());
    download(&app, &file_url).await;

    proxy.cut();
    // The order was just opened, so it is still in memory (order_cache) and its file is
    // in the store: the download is served; its log entry waits for the database.
    let served = app.client.get(&file_url).header("user-agent", &during).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK, "served from memory and the store while the database is down");
    assert_eq!(served.bytes().await.unwrap().len(), shop.bytes.len());
    let api = app.api(&shop.m, Method::GET, "/products").send().await.unwrap();
    assert!(retry_after(&api) >= 1);
    let error: Value = api.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unavailable", "{error}");

    let page = app.client.get(delivery_url(&earlier)).send().await.unwrap();
    assert!(retry_after(&page) >= 1);
    let html = page.text().await.unwrap();
    assert!(html.contains("Temporarily unavailable"), "{html}");

    // A signed-in dashboard page: its session cannot be checked, and the browser is told so.
    let accept = "text/html,application/xhtml+xml,*/*;q=0.8";
    let page = dashboard.client.get(app.url("/dashboard/orders")).header("accept", accept).send().await.unwrap();
    assert!(retry_after(&page) >= 1);
    assert!(page.text().await.unwrap().contains("Temporarily unavailable"));

    let refused = send_standard(&app, &shop.m, "msg_outage1", &body).await;
    assert!(retry_after(&refused) >= 1, "the provider is told to retry");

    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({"database": "unavailable", "blobs": "ok", "mail": "ok", "events": "ok"})
    );

    // Back: the provider retries the same event (signed anew, as providers do), twice.
    proxy.restore();
    crate::helpers::eventually(std::time::Duration::from_secs(30), "the database is back", || async {
        let ready = app.client.get(app.url("/readyz")).send().await.ok()?;
        (ready.status() == StatusCode::OK).then_some(())
    })
    .await;
    for _ in 0..2 {
        let response = send_standard(&app, &shop.m, "msg_outage1", &body).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let order_id = earlier["id"].as_str().unwrap();
    wait_for_order(&app, &shop.m, order_id, "the download made during the outage is logged", |o| {
        o["downloads"].as_array().unwrap().iter().any(|d| d["user_agent"] == during.as_str())
    })
    .await;
    let list = orders(&app, &shop.m).await;
    let made: Vec<_> = list.iter().filter(|o| o["customer_email"] == customer.as_str()).collect();
    assert_eq!(made.len(), 1, "one order for the event: {list:#?}");
    assert_eq!(list.len(), 2, "and the one from before: {list:#?}");
    Maildev::shared().wait_for(&customer, 1).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(Maildev::shared().to(&customer).await.len(), 1, "one email");
}

/// A database an operator closed for maintenance (`ALLOW_CONNECTIONS false`, its sessions
/// ended) is unavailable, not a bug: 503 with `Retry-After`, and served again once reopened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_closed_for_connections_answers_503_until_reopened() {
    let app = TestApp::spawn_with(Stack::ScaledOut, |c| c.database.acquire_timeout_secs = 1).await;
    let m = app.merchant("Closed Books").await;
    let url = reqwest::Url::parse(app.state.config.database.url.as_ref().unwrap().expose()).unwrap();
    let name = url.path().trim_start_matches('/').to_owned();
    let admin = sqlx::PgPool::connect(&std::env::var("SATCHEL_TEST_POSTGRES_URL").unwrap()).await.unwrap();
    let allow = |on: bool| sqlx::AssertSqlSafe(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {on}"));
    sqlx::query(allow(false)).execute(&admin).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&admin)
        .await
        .unwrap();

    let closed = app.api(&m, Method::GET, "/products").send().await.unwrap();
    assert_eq!(closed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(closed.headers()["retry-after"], "5");

    sqlx::query(allow(true)).execute(&admin).await.unwrap();
    let within = std::time::Duration::from_secs(10);
    crate::helpers::eventually(within, "the reopened database serves again", || async {
        let response = app.api(&m, Method::GET, "/products").send().await.unwrap();
        (response.status() == StatusCode::OK).then_some(())
    })
    .await;
}
