//! What schemathesis found where the server and its OpenAPI description disagreed, kept as
//! regression tests: integers written as whole-number floats, item quantities beyond the
//! documented bound, and email addresses the description allows but the server refused.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestMerchant, error_code, on_both_stacks};

on_both_stacks!(whole_numbers_written_as_floats_are_integers, item_quantities_are_1_to_10000);

async fn send(app: &TestApp, m: &TestMerchant, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let response = app.api(m, method, path).json(&body).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Gives the product at `path` a link to deliver, so it can be bought (a draft cannot).
async fn on_sale(app: &TestApp, m: &TestMerchant, path: &str) {
    let link = json!({ "mode": "external_link", "external_url": "https://example.com/licence" });
    let (status, product) = send(app, m, Method::PUT, &format!("{path}/delivery"), link).await;
    assert_eq!((status, &product["on_sale"]), (StatusCode::OK, &json!(true)), "{product}");
}

fn order(product: &Value, quantity: Value) -> Value {
    json!({ "customer": { "email": "ada@example.com" }, "items": [{ "product_id": product["id"], "quantity": quantity }] })
}

/// JSON Schema's `integer` is any number without a fraction, so `5045722.0` is one.
async fn whole_numbers_written_as_floats_are_integers(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Float Shop").await;
    let (status, product) = send(
        &app,
        &m,
        Method::POST,
        "/products",
        json!({ "name": "Book", "price_minor": 5045722.0, "currency": "USD" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    assert_eq!(product["price_minor"], json!(5045722));
    let path = format!("/products/{}", product["id"].as_str().unwrap());
    on_sale(&app, &m, &path).await;
    let (status, changed) = send(&app, &m, Method::PATCH, &path, json!({ "price_minor": 2e3 })).await;
    assert_eq!((status, &changed["price_minor"]), (StatusCode::OK, &json!(2000)), "{changed}");

    let (status, settings) = send(
        &app,
        &m,
        Method::PATCH,
        "/settings",
        json!({ "link_expiry_seconds": 1253.0, "max_downloads_per_file": 3.0 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!((&settings["link_expiry_seconds"], &settings["max_downloads_per_file"]), (&json!(1253), &json!(3)));

    let mut body = order(&product, json!(2.0));
    body["amount_minor"] = json!(1999.0);
    let (status, created) = send(&app, &m, Method::POST, "/orders", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!((&created["amount_minor"], &created["items"][0]["quantity"]), (&json!(1999), &json!(2)));

    // A fraction is still refused, naming the field.
    for (method, path, body) in [
        (Method::POST, "/products", json!({ "name": "Half", "price_minor": 5.5, "currency": "USD" })),
        (Method::PATCH, path.as_str(), json!({ "price_minor": 0.5 })),
        (Method::PATCH, "/settings", json!({ "link_expiry_seconds": 3600.25 })),
        (Method::POST, "/orders", order(&product, json!(1.5))),
    ] {
        let (status, error) = send(&app, &m, method, path, body.clone()).await;
        assert_eq!((status, error_code(&error)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"), "{body}");
        assert!(error["error"]["message"].as_str().unwrap().contains("expected a whole number"), "{error}");
    }
}

/// The description says 1 to 10000; the server refused nothing up to 4294967295, and answered
/// a refused quantity with an earlier order of the same payment id (200).
async fn item_quantities_are_1_to_10000(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Quantity Shop").await;
    let product = app.product(&m, "Licence").await;
    on_sale(&app, &m, &format!("/products/{}", product["id"].as_str().unwrap())).await;
    for quantity in [json!(0), json!(10_001), json!(2_147_483_647), json!(4_294_967_295_u64)] {
        let (status, error) = send(&app, &m, Method::POST, "/orders", order(&product, quantity.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{quantity}: {error}");
        assert_eq!((error_code(&error), &error["error"]["field"]), ("invalid_field", &json!("items")));
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains("items[0].quantity must be 1 to 10000"), "{message}");
    }
    let mut body = order(&product, json!(10_000));
    body["payment_id"] = json!("pay_many");
    let (status, created) = send(&app, &m, Method::POST, "/orders", body.clone()).await;
    assert_eq!((status, &created["items"][0]["quantity"]), (StatusCode::CREATED, &json!(10_000)), "{created}");
    body["items"][0]["quantity"] = json!(2_147_483_647);
    let (status, error) = send(&app, &m, Method::POST, "/orders", body).await;
    assert_eq!((status, error_code(&error)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"), "{error}");
}

/// Whether `value` meets the string keywords of `schema` (`anyOf`, `pattern`, `maxLength`).
fn allows(schema: &Value, value: &str) -> bool {
    if let Some(branches) = schema["anyOf"].as_array()
        && !branches.iter().any(|branch| allows(branch, value))
    {
        return false;
    }
    if let Some(max) = schema["maxLength"].as_u64()
        && value.chars().count() as u64 > max
    {
        return false;
    }
    match schema["pattern"].as_str() {
        Some(pattern) => regex::Regex::new(pattern).expect("a pattern Rust's regex reads").is_match(value),
        None => true,
    }
}

/// JSON Schema counts characters, the server counts bytes (254, as SMTP does): the API accepts
/// exactly the addresses its description allows, and the description allows the usual ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_description_and_the_server_agree_on_email_addresses() {
    let app = TestApp::spawn(Stack::Embedded).await;
    let m = app.merchant("Email Shop").await;
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let schema = &doc["components"]["schemas"]["EmailAddress"];
    let ascii_254 = format!("{}@{}.example", "a".repeat(64), "b".repeat(181));
    let emoji_63 = format!("{}@x.io", "😀".repeat(58));
    let dotted_i = format!("{}@x.io", "İ".repeat(58)); // lower-cases to two characters, three bytes
    let accented_75 = format!("{}@x.io", "é".repeat(70)); // 145 bytes: within SMTP's limit
    let accented_245 = format!("{}@x.io", "é".repeat(240)); // 485 bytes
    let astral_254 = format!("{}@{}.io", "\u{10000}".repeat(100), "b".repeat(150));
    let padded = format!("{}0@0.0{}", " ".repeat(150), "\t".repeat(150));
    for (address, described) in [
        ("ada@example.com", true),
        ("  Ada.Lovelace+satchel@Mail.Example.co.uk ", true),
        (ascii_254.as_str(), true),
        (emoji_63.as_str(), true),
        (dotted_i.as_str(), true),
        ("zoë@exämple.de", true),
        (accented_75.as_str(), false),
        (accented_245.as_str(), false),
        (astral_254.as_str(), false),
        (padded.as_str(), false),
    ] {
        assert_eq!(allows(schema, address), described, "the description allows {address:?}");
        let response = app.api(&m, Method::GET, "/orders").query(&[("email", address)]).send().await.unwrap();
        let expected = if described { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        assert_eq!(response.status(), expected, "{address:?}: {}", response.text().await.unwrap());
        let (status, _) = send(&app, &m, Method::PATCH, "/settings", json!({ "sender_email": address })).await;
        assert_eq!(status, expected, "sender_email {address:?}");
    }
}
