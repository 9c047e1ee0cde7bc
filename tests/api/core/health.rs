//! What operators and API clients look at first: liveness, readiness, metrics, the OpenAPI document.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, on_both_stacks};

on_both_stacks!(health_readiness_and_openapi_answer, metrics_count_orders_and_requests_by_route);

/// The scrape token of the tests.
const METRICS_TOKEN: &str = "scrape-me-0123456789";

/// An app whose `/metrics` answers to [`METRICS_TOKEN`].
async fn with_metrics(stack: Stack) -> TestApp {
    TestApp::spawn_with(stack, |c| c.metrics.token = Some(satchel::config::Secret(METRICS_TOKEN.into()))).await
}

/// `GET /metrics` with the token.
async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

async fn health_readiness_and_openapi_answer(stack: Stack) {
    let app = TestApp::spawn(stack).await;

    let live = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);

    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({ "database": "ok", "blobs": "ok", "mail": "ok", "events": "ok" })
    );

    let openapi = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(openapi.status(), StatusCode::OK);
    let text = openapi.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("openapi.json is not JSON: {e}"));
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "an OpenAPI 3 document");
    let paths = doc["paths"].as_object().expect("paths");
    for path in ["/api/v1/products", "/api/v1/products/{id}", "/api/v1/products/{id}/delivery", "/api/v1/files"] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    assert!(paths["/api/v1/files"]["post"].is_object(), "uploads are documented");
}

/// The value of the sample `series` (name and labels exactly as Prometheus prints them).
fn sample(text: &str, series: &str) -> f64 {
    text.lines().find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok())).unwrap_or(0.0)
}

async fn metrics_count_orders_and_requests_by_route(stack: Stack) {
    use crate::fulfilment::{buy, delivery_url, download, shop};
    let app = with_metrics(stack).await;
    let before = scrape(&app).await;

    let shop = shop(&app, "Metric Goods", "data.csv", vec![b'x'; 2048]).await;
    let order = buy(&app, &shop.m, &shop.product_id, "metrics@buyer.example").await;
    let link = delivery_url(&order);
    download(&app, &format!("{link}/files/1")).await;

    let after = scrape(&app).await;
    // Other tests run in this process too: counters only ever grow, so compare with before.
    let orders = r#"satchel_orders_created_total{provider="api"}"#;
    assert!(sample(&after, orders) >= sample(&before, orders) + 1.0, "{orders} grew:\n{after}");
    let files = r#"satchel_http_requests_total{method="GET",route="/d/{token}/files/{n}",status="200"}"#;
    assert!(sample(&after, files) >= sample(&before, files) + 1.0, "{files} grew");
    assert!(after.contains("satchel_http_request_duration_seconds_bucket"), "latency histogram");
    assert!(after.contains("satchel_emails_waiting"), "outbox depth");
    let token = link.rsplit('/').next().unwrap();
    assert!(!after.contains(token), "routes are patterns; tokens never reach the metrics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_refused_without_the_token() {
    let off = TestApp::spawn(Stack::Embedded).await;
    let response = off.client.get(off.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "no token configured: no metrics");

    let app = with_metrics(Stack::Embedded).await;
    let bare = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    assert!(!bare.text().await.unwrap().contains("satchel_"), "nothing of the metrics");
    let wrong = app.client.get(app.url("/metrics")).bearer_auth("scrape-me-012345678").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    scrape(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_methods_add_no_series() {
    let app = with_metrics(Stack::Embedded).await;
    app.client.get(app.url("/healthz")).send().await.unwrap();
    let before = scrape(&app).await;
    for i in 0..100 {
        let name = format!("XMETHOD{i}{}", "A".repeat(4000));
        let method = reqwest::Method::from_bytes(name.as_bytes()).unwrap();
        for path in ["/healthz", "/no/such/page"] {
            let answer = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
            assert!(answer.status().is_client_error(), "{path}: {}", answer.status());
        }
    }
    let after = scrape(&app).await;
    assert!(!after.contains("XMETHOD"), "request methods never become label values");
    assert!(after.contains(r#"method="other""#), "they are counted as `other`");
    // Other tests share the process's metrics and add a few series; 200 methods of 4 KB named
    // one by one would add 800 KB.
    assert!(after.len() < before.len() + 64 * 1024, "the scrape grew from {} to {} bytes", before.len(), after.len());
}
