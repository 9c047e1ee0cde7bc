//! Uploads against deletes of the same content, and what a raw upload may be named.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fulfilment::{buy, delivery_url, download, product, set_delivery};
use crate::helpers::{Stack, TestApp, error_code, file_bytes, on_both_stacks};

on_both_stacks!(deleting_while_the_same_bytes_arrive_never_loses_the_object);

/// Blobs are content-addressed per merchant, so a DELETE and a POST of the same bytes race for
/// one object: whatever the order, every file listed afterwards has its object.
async fn deleting_while_the_same_bytes_arrive_never_loses_the_object(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Race Books").await;
    let bytes = file_bytes(300_000, 51);
    let mut id = app.upload(&m, "race.bin", bytes.clone()).await["id"].as_str().unwrap().to_owned();
    for round in 0..150 {
        let delete = app.api(&m, Method::DELETE, &format!("/files/{id}")).send();
        let upload = app.api(&m, Method::POST, "/files?filename=race.bin").body(bytes.clone()).send();
        let (deleted, uploaded) = tokio::join!(delete, upload);
        let deleted = deleted.unwrap().status();
        assert!([StatusCode::NO_CONTENT, StatusCode::NOT_FOUND].contains(&deleted), "round {round}: {deleted}");
        let uploaded = uploaded.unwrap();
        assert!(uploaded.status().is_success(), "round {round}: upload {}", uploaded.status());
        id = uploaded.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let (_, listed) = app.get_json(&m, "/files").await;
        let keys = app.stored_keys(&format!("m/{}/", m.id)).await;
        for file in listed.as_array().unwrap() {
            let key = format!("m/{}/{}", m.id, file["sha256"].as_str().unwrap());
            assert!(keys.contains(&key), "round {round}: file {} is listed, its object is gone", file["id"]);
        }
        if listed.as_array().unwrap().is_empty() {
            // The upload's answer named the row the delete removed: start again.
            id = app.upload(&m, "race.bin", bytes.clone()).await["id"].as_str().unwrap().to_owned();
        }
    }
    // What is listed sells and downloads byte for byte.
    let (_, listed) = app.get_json(&m, "/files").await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let product_id = product(&app, &m, "Race Guide", json!({})).await;
    set_delivery(&app, &m, &product_id, json!({"mode": "files", "files": [{"file_id": listed[0]["id"]}]})).await;
    let order = buy(&app, &m, &product_id, "ada@example.com").await;
    assert_eq!(download(&app, &format!("{}/files/1", delivery_url(&order))).await, bytes);
}

/// `?filename=` is decoded strictly and its refusals say what is wrong with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_upload_names_must_be_utf8_and_refusals_name_the_field() {
    let app = TestApp::spawn(Stack::Embedded).await;
    let m = app.merchant("Name Books").await;
    let refused = [
        ("?filename=%FF%FE.bin", "UTF-8"),
        ("?filename=caf%E9.pdf", "UTF-8"),
        ("", "give the file name as ?filename="),
        ("?filename=", "must not be empty"),
        ("?filename=+", "must not be empty"),
        ("?filename=a%00b.pdf", "control characters"),
        ("?filename=a.pdf&filename=b.pdf", "once"),
    ];
    for (query, says) in refused {
        let response = app.api(&m, Method::POST, &format!("/files{query}")).body("x").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "invalid_field", "{query}");
        assert_eq!(body["error"]["field"], "filename", "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("filename: ") && message.contains(says), "{query}: {message}");
    }
    assert_eq!(app.get_json(&m, "/files").await.1, json!([]), "nothing was stored");
    let response = app.api(&m, Method::POST, "/files?other=1&filename=caf%C3%A9+menu.pdf").body("x").send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.json::<Value>().await.unwrap()["filename"], "café menu.pdf");
}
