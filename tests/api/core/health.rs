//! What operators and API clients look at first: liveness, readiness, metrics, the OpenAPI document.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, on_both_stacks};

on_both_stacks!(health_readiness_and_openapi_answer, metrics_count_orders_and_requests_by_route);

async fn health_readiness_and_openapi_answer(stack: Stack) {
    let app = TestApp::spawn(stack).await;

    let live = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);

    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap(), json!({ "database": "ok", "blobs": "ok", "mail": "ok" }));

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
    let app = TestApp::spawn(stack).await;
    let scrape = || async { app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap() };
    let before = scrape().await;

    let shop = shop(&app, "Metric Goods", "data.csv", vec![b'x'; 2048]).await;
    let order = buy(&app, &shop.m, &shop.product_id, "metrics@buyer.example").await;
    let link = delivery_url(&order);
    download(&app, &format!("{link}/files/1")).await;

    let after = scrape().await;
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
