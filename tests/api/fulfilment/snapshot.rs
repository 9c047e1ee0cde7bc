//! Rule 2: an order keeps what was on sale when it was paid, whatever the merchant changes later.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{buy, delivery_url, get, order, product, set_delivery, upload};
use crate::helpers::{Stack, TestApp, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(old_orders_keep_the_old_files_under_the_old_names);

/// Downloads file 1 of `order`, returning its bytes and Content-Disposition.
async fn first_file(app: &TestApp, order: &Value) -> (Vec<u8>, String) {
    let response = get(app, &format!("{}/files/1", delivery_url(order))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    (response.bytes().await.unwrap().to_vec(), disposition)
}

async fn old_orders_keep_the_old_files_under_the_old_names(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Snapshot Press").await;
    let (v1, v2) = (file_bytes(400_000, 21), file_bytes(450_000, 22));
    let old_file = upload(&app, &m, "guide-upload-1.pdf", "application/pdf", &v1).await;
    let guide = product(&app, &m, "Guide", json!({})).await;
    let files = json!([{"file_id": old_file["id"], "display_name": "Guide 1st edition.pdf"}]);
    set_delivery(&app, &m, &guide, json!({"mode": "files", "files": files, "instructions": "Enjoy v1"})).await;
    let old = buy(&app, &m, &guide, "early@example.com").await;

    // The merchant moves on: new bytes, new names, the old file taken off the product.
    let new_file = upload(&app, &m, "guide-upload-2.epub", "application/epub+zip", &v2).await;
    let renamed =
        app.api(&m, Method::PATCH, &format!("/products/{guide}")).json(&json!({"name": "Guide, 2nd edition"}));
    assert_eq!(renamed.send().await.unwrap().status(), StatusCode::OK);
    let files = json!([{"file_id": new_file["id"], "display_name": "Guide 2nd edition.epub"}]);
    set_delivery(&app, &m, &guide, json!({"mode": "files", "files": files, "instructions": "Enjoy v2"})).await;
    let old_id = old_file["id"].as_str().unwrap();
    let delete = app.api(&m, Method::DELETE, &format!("/files/{old_id}")).send().await.unwrap();
    assert_eq!(delete.status(), StatusCode::CONFLICT);
    assert_eq!(delete.json::<Value>().await.unwrap()["error"]["code"], "file_in_use");
    let still = app.api(&m, Method::GET, &format!("/files/{old_id}")).send().await.unwrap();
    assert_eq!(still.status(), StatusCode::OK);

    // The old order: old bytes, old names, old instructions.
    let old = order(&app, &m, old["id"].as_str().unwrap()).await;
    assert_eq!(old["items"][0]["product_name"], "Guide");
    assert_eq!(old["items"][0]["instructions"], "Enjoy v1");
    assert_eq!(old["files"][0]["display_name"], "Guide 1st edition.pdf");
    assert_eq!(old["files"][0]["sha256"], sha256_hex(&v1));
    let (bytes, disposition) = first_file(&app, &old).await;
    assert_eq!(sha256_hex(&bytes), sha256_hex(&v1));
    assert!(disposition.contains("filename=\"Guide 1st edition.pdf\""), "{disposition}");
    let page = get(&app, &delivery_url(&old)).await.text().await.unwrap();
    assert!(page.contains("Guide 1st edition.pdf") && !page.contains("2nd edition"), "{page}");

    // A new order gets what is on sale now.
    let new = buy(&app, &m, &guide, "late@example.com").await;
    assert_eq!(new["items"][0]["product_name"], "Guide, 2nd edition");
    assert_eq!(new["files"].as_array().unwrap().len(), 1);
    assert_eq!(new["files"][0]["content_type"], "application/epub+zip");
    let (bytes, disposition) = first_file(&app, &new).await;
    assert_eq!(sha256_hex(&bytes), sha256_hex(&v2));
    assert!(disposition.contains("filename=\"Guide 2nd edition.epub\""), "{disposition}");
}
