//! Every JSON body over the API's limit gets the API's JSON 413, whichever way the route reads it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, error_code};

/// A JSON body of about 3 MiB (the limit is 2 MiB): the server refuses it with a megabyte
/// still coming, so the client gets the answer only if the server reads the rest before it
/// closes (a lingering close) instead of resetting the connection.
fn oversized() -> Value {
    json!({"name": "x".repeat(3 * 1024 * 1024), "price_minor": 100, "currency": "USD"})
}

async fn assert_json_413(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{what}");
    assert_eq!(response.headers()["content-type"], "application/json", "{what}");
    // The unread rest of the body makes the connection unusable for another request.
    assert_eq!(response.headers()["connection"], "close", "{what}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "too_large", "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert_eq!(message, "the request body is larger than the limit of 2097152 bytes", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_json_is_a_json_413_on_every_route_kind() {
    let app = TestApp::spawn(Stack::Embedded).await;
    let m = app.merchant("Big Bodies").await;
    let id = app.product(&m, "Small").await["id"].as_str().unwrap().to_owned();
    // Typed JSON bodies (ApiJson) and a body read as bytes (orders, for idempotency).
    let routes = [
        (Method::POST, "/products".to_owned()),
        (Method::PATCH, format!("/products/{id}")),
        (Method::PUT, format!("/products/{id}/delivery")),
        (Method::PATCH, "/settings".to_owned()),
        (Method::POST, "/orders".to_owned()),
    ];
    let body = serde_json::to_vec(&oversized()).unwrap();
    for (method, path) in routes {
        let what = format!("{method} {path}");
        let announced = app.api(&m, method.clone(), &path).header("content-type", "application/json");
        assert_json_413(announced.body(body.clone()).send().await.unwrap(), &what).await;
        // Chunked, without a Content-Length: refused once the limit is read.
        let chunks: Vec<_> = body.chunks(64 * 1024).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect();
        let chunks = futures_util::stream::iter(chunks);
        let streamed = app.api(&m, method, &path).header("content-type", "application/json");
        let streamed = streamed.body(reqwest::Body::wrap_stream(chunks)).send().await.unwrap();
        assert_json_413(streamed, &format!("{what}, chunked")).await;
    }
    // Under the limit, the same routes read the body and judge it.
    let response = app.api(&m, Method::POST, "/products").json(&json!({"name": "x".repeat(1_000_000)})).send();
    assert_eq!(response.await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
}
