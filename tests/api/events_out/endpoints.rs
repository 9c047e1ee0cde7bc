//! Webhook endpoints through the API: created with a secret shown once, listed, changed,
//! deleted; hostile input refused naming the field; another shop's endpoints are a 404.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestMerchant, error_code, on_both_stacks};

on_both_stacks!(
    an_endpoint_is_created_listed_changed_and_deleted,
    hostile_endpoint_input_is_refused_naming_the_field,
    another_shops_endpoints_are_not_found,
    a_shop_has_at_most_ten_endpoints,
);

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

pub(super) async fn create(app: &TestApp, m: &TestMerchant, body: Value) -> (StatusCode, Value) {
    send(app.api(m, Method::POST, "/webhook-endpoints").json(&body)).await
}

async fn an_endpoint_is_created_listed_changed_and_deleted(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Hook Shop").await;
    let body = json!({"url": " https://hooks.example.com/satchel ", "events": ["order.refunded", "order.created"]});
    let (status, created) = create(&app, &m, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["url"], "https://hooks.example.com/satchel");
    assert_eq!(created["events"], json!(["order.created", "order.refunded"]));
    assert_eq!(created["enabled"], true);
    // `whsec_` + base64 of 24 random bytes, shown in this answer only.
    let secret = created["secret"].as_str().unwrap();
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    assert_eq!(key.len(), 24);

    let (status, got) = app.get_json(&m, &format!("/webhook-endpoints/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(got.get("secret").is_none(), "the secret is shown once: {got}");
    let mut shown = created.clone();
    shown.as_object_mut().unwrap().remove("secret");
    assert_eq!(got, shown);
    assert_eq!(app.get_json(&m, "/webhook-endpoints").await, (StatusCode::OK, json!([shown])));

    let change = json!({"url": "http://crm.example.org:8080/in", "events": ["order.revoked", "order.restored"],
                        "enabled": false});
    let (status, changed) = send(app.api(&m, Method::PATCH, &format!("/webhook-endpoints/{id}")).json(&change)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["url"], "http://crm.example.org:8080/in");
    assert_eq!(changed["events"], json!(["order.revoked", "order.restored"]));
    assert_eq!(changed["enabled"], false);
    assert!(changed.get("secret").is_none());
    // A partial change keeps the rest.
    let (status, resumed) =
        send(app.api(&m, Method::PATCH, &format!("/webhook-endpoints/{id}")).json(&json!({"enabled": true}))).await;
    assert_eq!((status, &resumed["events"], &resumed["enabled"]), (StatusCode::OK, &changed["events"], &json!(true)));

    let (status, deliveries) = app.get_json(&m, &format!("/webhook-endpoints/{id}/deliveries")).await;
    assert_eq!((status, deliveries), (StatusCode::OK, json!([])));

    let (status, _) = send(app.api(&m, Method::DELETE, &format!("/webhook-endpoints/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = app.get_json(&m, &format!("/webhook-endpoints/{id}")).await;
    assert_eq!((status, error_code(&gone)), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(app.get_json(&m, "/webhook-endpoints").await, (StatusCode::OK, json!([])));
    let (status, _) = send(app.api(&m, Method::DELETE, &format!("/webhook-endpoints/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn hostile_endpoint_input_is_refused_naming_the_field(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Careful Shop").await;
    let long = format!("https://example.com/{}", "a".repeat(2000));
    let refused = [
        (json!({"url": "file:///etc/passwd", "events": ["order.created"]}), "url"),
        (json!({"url": "javascript:alert(1)", "events": ["order.created"]}), "url"),
        (json!({"url": "ftp://example.com/x", "events": ["order.created"]}), "url"),
        (json!({"url": "https://user:pass@example.com/x", "events": ["order.created"]}), "url"),
        (json!({"url": "https://token@example.com/x", "events": ["order.created"]}), "url"),
        (json!({"url": "not a url", "events": ["order.created"]}), "url"),
        (json!({"url": "", "events": ["order.created"]}), "url"),
        (json!({"url": long, "events": ["order.created"]}), "url"),
        (json!({"url": "https://example.com/x", "events": ["order.paid"]}), "events"),
        (json!({"url": "https://example.com/x", "events": ["order.created", "*"]}), "events"),
        (json!({"url": "https://example.com/x", "events": []}), "events"),
    ];
    for (body, field) in refused {
        let (status, answer) = create(&app, &m, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    // Wrong shapes and unknown fields are malformed bodies.
    for body in [
        json!({"url": "https://example.com/x"}),
        json!({"url": "https://e.com", "events": "order.created"}),
        json!({"url": "https://e.com", "events": ["order.created"], "secret": "whsec_mine"}),
    ] {
        let (status, answer) = create(&app, &m, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
    }
    // Over the body limit: refused before it is read.
    let huge = json!({"url": "https://example.com/", "events": vec!["order.created"; 200_000]});
    let (status, answer) = create(&app, &m, huge).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    // Nothing was stored, and a change is held to the same rules.
    assert_eq!(app.get_json(&m, "/webhook-endpoints").await, (StatusCode::OK, json!([])));
    let (_, created) = create(&app, &m, json!({"url": "https://example.com/x", "events": ["order.created"]})).await;
    let path = format!("/webhook-endpoints/{}", created["id"].as_str().unwrap());
    for (body, field) in [(json!({"url": "javascript:alert(1)"}), "url"), (json!({"events": ["nope"]}), "events")] {
        let (status, answer) = send(app.api(&m, Method::PATCH, &path).json(&body)).await;
        assert_eq!((status, &answer["error"]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!(field)), "{body}");
    }
}

async fn another_shops_endpoints_are_not_found(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let owner = app.merchant("Owner Shop").await;
    let other = app.merchant("Other Shop").await;
    let (_, created) = create(&app, &owner, json!({"url": "https://example.com/x", "events": ["order.created"]})).await;
    let path = format!("/webhook-endpoints/{}", created["id"].as_str().unwrap());
    for (method, path) in [
        (Method::GET, path.clone()),
        (Method::PATCH, path.clone()),
        (Method::DELETE, path.clone()),
        (Method::GET, format!("{path}/deliveries")),
    ] {
        let request = app.api(&other, method.clone(), &path);
        let request = if method == Method::PATCH { request.json(&json!({"enabled": false})) } else { request };
        let (status, answer) = send(request).await;
        assert_eq!((status, error_code(&answer)), (StatusCode::NOT_FOUND, "not_found"), "{method} {path}");
    }
    assert_eq!(app.get_json(&other, "/webhook-endpoints").await, (StatusCode::OK, json!([])));
    let (status, still) = app.get_json(&owner, &path).await;
    assert_eq!((status, &still["enabled"]), (StatusCode::OK, &json!(true)));
}

async fn a_shop_has_at_most_ten_endpoints(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Busy Shop").await;
    for n in 0..10 {
        let (status, _) =
            create(&app, &m, json!({"url": format!("https://e{n}.example.com/"), "events": ["order.created"]})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, answer) =
        create(&app, &m, json!({"url": "https://e10.example.com/", "events": ["order.created"]})).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::CONFLICT, "too_many_endpoints"), "{answer}");
    assert_eq!(answer["error"]["message"], "a shop can have at most 10 webhook endpoints");
    let other = app.merchant("Another Shop").await;
    let (status, _) = create(&app, &other, json!({"url": "https://e.example.com/", "events": ["order.created"]})).await;
    assert_eq!(status, StatusCode::CREATED);
}
