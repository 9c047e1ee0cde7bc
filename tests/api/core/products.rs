//! Products: create, read, list, change and archive; bad input is refused naming the field;
//! a merchant's external ids point at one product each.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestMerchant, error_code, on_both_stacks};

on_both_stacks!(
    products_are_created_changed_and_archived,
    bad_product_input_is_refused_naming_the_field,
    an_external_id_names_one_product,
    products_and_files_are_listed_newest_first,
);

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn create(app: &TestApp, m: &TestMerchant, body: Value) -> (StatusCode, Value) {
    send(app.api(m, Method::POST, "/products").json(&body)).await
}

async fn patch(app: &TestApp, m: &TestMerchant, id: &str, body: Value) -> (StatusCode, Value) {
    send(app.api(m, Method::PATCH, &format!("/products/{id}")).json(&body)).await
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect()
}

async fn products_are_created_changed_and_archived(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let (status, created) = create(
        &app,
        &m,
        json!({ "name": "  The Rust Book ", "description": "All of it.", "price_minor": 2500, "currency": "eur",
                "external_ids": { "stripe": "prod_123" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["name"], "The Rust Book");
    assert_eq!(created["description"], "All of it.");
    assert_eq!((&created["price_minor"], &created["currency"]), (&json!(2500), &json!("EUR")));
    assert_eq!(created["active"], true);
    assert_eq!(created["external_ids"], json!({ "stripe": "prod_123" }));
    assert_eq!(created["delivery"], json!({ "mode": "none", "files": [], "external_url": null, "instructions": "" }));
    assert_eq!(app.get_json(&m, &format!("/products/{id}")).await, (StatusCode::OK, created.clone()));
    let other = app.product(&m, "Another").await;

    let (status, changed) = patch(
        &app,
        &m,
        id,
        json!({ "name": "The Rust Book, 2nd ed.", "price_minor": 2999,
                "external_ids": { "standard": "pdt_9", "stripe": "prod_456" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "The Rust Book, 2nd ed.");
    assert_eq!((&changed["price_minor"], &changed["currency"]), (&json!(2999), &json!("EUR")), "currency kept");
    assert_eq!(changed["description"], "All of it.", "absent fields are left as they are");
    assert_eq!(changed["external_ids"], json!({ "standard": "pdt_9", "stripe": "prod_456" }));
    assert_eq!(changed["created_at"], created["created_at"]);
    assert_eq!(app.get_json(&m, &format!("/products/{id}")).await, (StatusCode::OK, changed.clone()));
    // The external id given up is free again.
    let (status, _) =
        patch(&app, &m, other["id"].as_str().unwrap(), json!({ "external_ids": { "stripe": "prod_123" } })).await;
    assert_eq!(status, StatusCode::OK);

    let (status, listed) = app.get_json(&m, "/products").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&listed).len(), 2);
    assert!(ids(&listed).contains(&id));

    let (status, archived) = send(app.api(&m, Method::POST, &format!("/products/{id}/archive"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(archived["active"], false);
    assert_eq!(archived["name"], changed["name"]);
    assert_eq!(ids(&app.get_json(&m, "/products").await.1), [other["id"].as_str().unwrap()], "archived: not listed");
    let all = app.get_json(&m, "/products?include_archived=true").await.1;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert!(ids(&all).contains(&id), "archived: listed when asked for");
    assert_eq!(app.get_json(&m, &format!("/products/{id}")).await.1["active"], false, "archived: still readable");
}

async fn bad_product_input_is_refused_naming_the_field(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let good = json!({ "name": "Ebook", "price_minor": 1999, "currency": "USD" });
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        ("an empty name", with("name", json!("   ")), "name"),
        ("a currency that is not a code", with("currency", json!("euro")), "currency"),
        ("a negative price", with("price_minor", json!(-1)), "price_minor"),
        ("an unknown provider", with("external_ids", json!({ "paypal": "x" })), "external_ids"),
        ("no name", without("name"), "name"),
        ("no price", without("price_minor"), "price_minor"),
        ("no currency", without("currency"), "currency"),
        ("a price that is not a number", with("price_minor", json!("19.99")), "price_minor"),
    ];
    for (what, body, field) in &cases {
        let (status, answer) = create(&app, &m, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{what}: the message names {field}: {message}");
    }
    assert_eq!(app.get_json(&m, "/products").await.1, json!([]), "nothing was created");

    // The same rules hold for a change, which is then not applied at all.
    let product = app.product(&m, "Ebook").await;
    let id = product["id"].as_str().unwrap();
    for (what, body, field) in [
        ("an empty name", json!({ "name": "", "price_minor": 5 }), "name"),
        ("a negative price", json!({ "name": "New name", "price_minor": -5 }), "price_minor"),
        ("a bad currency", json!({ "currency": "euro" }), "currency"),
        ("an unknown provider", json!({ "name": "New name", "external_ids": { "paypal": "x" } }), "external_ids"),
    ] {
        let (status, answer) = patch(&app, &m, id, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{what}");
    }
    assert_eq!(app.get_json(&m, &format!("/products/{id}")).await.1, product, "no change was applied");
}

async fn an_external_id_names_one_product(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let (status, first) = create(
        &app,
        &m,
        json!({ "name": "One", "price_minor": 1, "currency": "USD", "external_ids": { "stripe": "prod_1" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, answer) = create(
        &app,
        &m,
        json!({ "name": "Two", "price_minor": 1, "currency": "USD", "external_ids": { "stripe": "prod_1" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(error_code(&answer), "conflict");
    assert_eq!(
        app.get_json(&m, "/products").await.1.as_array().unwrap().len(),
        1,
        "the refused product is not half-made"
    );

    let second = app.product(&m, "Two").await;
    let (status, answer) = patch(
        &app,
        &m,
        second["id"].as_str().unwrap(),
        json!({ "name": "Renamed", "external_ids": { "stripe": "prod_1" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(app.get_json(&m, &format!("/products/{}", second["id"].as_str().unwrap())).await.1, second);
    assert_eq!(app.get_json(&m, &format!("/products/{}", first["id"].as_str().unwrap())).await.1, first);

    // The same id at another provider, or at another merchant, is a different id.
    let (status, _) =
        patch(&app, &m, second["id"].as_str().unwrap(), json!({ "external_ids": { "standard": "prod_1" } })).await;
    assert_eq!(status, StatusCode::OK);
    let other = app.merchant("Other Shop").await;
    let (status, _) = create(
        &app,
        &other,
        json!({ "name": "One", "price_minor": 1, "currency": "USD", "external_ids": { "stripe": "prod_1" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn products_and_files_are_listed_newest_first(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    // Made back to back, several land in the same millisecond: the order must not depend on it.
    let (mut products, mut files) = (Vec::new(), Vec::new());
    for i in 0..12 {
        products.push(app.product(&m, &format!("Product {i}")).await["id"].as_str().unwrap().to_owned());
    }
    for i in 0..12 {
        files.push(app.upload(&m, &format!("{i}.txt"), vec![b'a' + i]).await["id"].as_str().unwrap().to_owned());
    }
    products.reverse();
    files.reverse();
    assert_eq!(ids(&app.get_json(&m, "/products").await.1), products);
    assert_eq!(ids(&app.get_json(&m, "/files").await.1), files);
}
