//! API keys open the API to their merchant only: no key, a wrong or revoked key is refused,
//! and one merchant's key never reaches another's products or files.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, error_code, file_bytes, on_both_stacks};

on_both_stacks!(merchants_are_walled_off, api_keys_are_required_and_revocable);

async fn merchants_are_walled_off(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let a = app.merchant("Acme Books").await;
    let b = app.merchant("Beta Games").await;
    let a_product = app.product(&a, "A's ebook").await;
    let b_product = app.product(&b, "B's game").await;
    let b_file = app.upload(&b, "game.zip", file_bytes(50_000, 9)).await;
    let (p, f) = (b_product["id"].as_str().unwrap(), b_file["id"].as_str().unwrap());
    let response = app
        .api(&b, Method::PUT, &format!("/products/{p}/delivery"))
        .json(&json!({ "mode": "files", "files": [{ "file_id": f }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let b_before = app.get_json(&b, &format!("/products/{p}")).await;
    let b_key = app.stored_keys(&format!("m/{}/", b.id)).await;
    assert_eq!(b_key.len(), 1);

    // What a merchant gets for an id that does not exist at all...
    let nothing = app.get_json(&a, &format!("/products/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(nothing.0, StatusCode::NOT_FOUND);
    let no_file = app.get_json(&a, &format!("/files/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(no_file.0, StatusCode::NOT_FOUND);
    // ...is what they get for another merchant's, on every route naming it.
    let routes = [
        (Method::GET, format!("/products/{p}"), None, &nothing),
        (Method::PATCH, format!("/products/{p}"), Some(json!({ "name": "Taken over", "price_minor": 0 })), &nothing),
        (Method::POST, format!("/products/{p}/archive"), None, &nothing),
        (Method::GET, format!("/products/{p}/delivery"), None, &nothing),
        (Method::PUT, format!("/products/{p}/delivery"), Some(json!({ "mode": "none" })), &nothing),
        (Method::GET, format!("/files/{f}"), None, &no_file),
        (Method::DELETE, format!("/files/{f}"), None, &no_file),
    ];
    for (method, path, body, expected) in routes {
        let mut request = app.api(&a, method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!((status, &body), (expected.0, &expected.1), "{method} {path} with another merchant's key");
    }

    assert_eq!(app.get_json(&b, &format!("/products/{p}")).await, b_before, "B's product is unchanged");
    assert_eq!(app.get_json(&b, &format!("/files/{f}")).await.1, b_file, "B's file is still there");
    assert_eq!(app.stored_keys(&format!("m/{}/", b.id)).await, b_key);
    for list in ["/products", "/products?include_archived=true"] {
        let (status, listed) = app.get_json(&a, list).await;
        assert_eq!(status, StatusCode::OK);
        let ids: Vec<&Value> = listed.as_array().unwrap().iter().map(|p| &p["id"]).collect();
        assert_eq!(ids, [&a_product["id"]], "{list}");
    }
    assert_eq!(app.get_json(&a, "/files").await.1, Value::Array(vec![]));
}

async fn api_keys_are_required_and_revocable(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let url = app.url("/api/v1/products");
    let refused = |response: reqwest::Response, what: &'static str| async move {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "unauthorized", "{what}");
    };

    refused(app.client.get(&url).send().await.unwrap(), "no Authorization").await;
    refused(app.client.get(&url).bearer_auth("sk_not-a-key").send().await.unwrap(), "a wrong key").await;
    let almost = format!("{}x", m.api_key);
    refused(app.client.get(&url).bearer_auth(almost).send().await.unwrap(), "a key with one character more").await;
    refused(app.client.get(&url).basic_auth(&m.api_key, None::<&str>).send().await.unwrap(), "the key as Basic").await;
    let create = app.client.post(&url).json(&json!({ "name": "Ebook", "price_minor": 100, "currency": "USD" }));
    refused(create.send().await.unwrap(), "creating without a key").await;
    assert_eq!(app.get_json(&m, "/products").await, (StatusCode::OK, json!([])), "nothing was created");

    // A second key, then revoke the first: it stops at once, the second goes on working.
    let db = &app.state.db;
    let (second, _) = satchel::db::api_keys::create(db, &m.id, "second").await.unwrap();
    let keys = satchel::db::api_keys::list(db, &m.id).await.unwrap();
    let first = keys.iter().find(|k| k.name == "test").expect("the test key");
    assert_eq!(app.client.get(&url).bearer_auth(&m.api_key).send().await.unwrap().status(), StatusCode::OK);
    satchel::db::api_keys::revoke(db, &m.id, &first.id).await.unwrap();
    refused(app.client.get(&url).bearer_auth(&m.api_key).send().await.unwrap(), "a revoked key").await;
    assert_eq!(app.client.get(&url).bearer_auth(second.expose()).send().await.unwrap().status(), StatusCode::OK);
}
