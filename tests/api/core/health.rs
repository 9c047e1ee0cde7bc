//! What operators and API clients look at first: liveness, readiness, the OpenAPI document.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, on_both_stacks};

on_both_stacks!(health_readiness_and_openapi_answer);

async fn health_readiness_and_openapi_answer(stack: Stack) {
    let app = TestApp::spawn(stack).await;

    let live = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);

    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap(), json!({ "database": "ok", "blobs": "ok" }));

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
