//! Satchel core: products, delivery settings, uploads, API keys, tenant walls.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Stack, TestApp, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(upload_is_stored_once_by_content);

async fn upload_is_stored_once_by_content(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let bytes = file_bytes(300_000, 1);
    let upload = || {
        app.api(&m, Method::POST, "/files?filename=Book.pdf")
            .header("content-type", "application/pdf")
            .body(bytes.clone())
            .send()
    };
    let first = upload().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["sha256"], sha256_hex(&bytes));
    assert_eq!(first["size"], 300_000);
    let second = upload().await.unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["id"], first["id"]);
    assert_eq!(app.stored_keys(&format!("m/{}", m.id)).await.len(), 1);
}
