//! The OpenAPI description is valid and says what the server does: unique operation ids,
//! every reference resolves, every secured operation documents 401, and query-string errors
//! answer the JSON error like every other API error.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Stack, TestApp};

/// Every `$ref` in `value`, as JSON pointers into the document.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_description_is_valid_and_documents_errors() {
    let app = TestApp::spawn(Stack::Embedded).await;
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();

    let mut ids = HashSet::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: an operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("401"), "{method} {path} documents 401");
            let reads_input = operation.get("requestBody").is_some()
                || operation["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["in"] == "query"));
            if reads_input {
                assert!(responses.contains_key("400"), "{method} {path} documents 400");
            }
            for (status, response) in responses {
                if status.starts_with('4') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                        "{method} {path} {status} names the error body"
                    );
                }
            }
        }
    }
    assert_eq!(operations, 29, "every API operation is described");

    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    for target in targets {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{target} is local"));
        assert!(doc.pointer(pointer).is_some(), "{target} resolves");
    }
    // The upload list is described with the upload's shape, not an order's file.
    let listed = &doc["paths"]["/api/v1/files"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(listed["items"]["$ref"], "#/components/schemas/File");
    assert!(doc["components"]["schemas"]["File"]["properties"]["filename"].is_object());
    assert!(doc["components"]["schemas"]["OrderFile"]["properties"]["download_count"].is_object());
    // Schemas are named by type name alone: two types of one name would overwrite each other.
    assert!(doc["components"]["schemas"]["DeliveryOut"]["properties"]["mode"].is_object());
    assert!(doc["components"]["schemas"]["WebhookDeliveryOut"]["properties"]["event_id"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_query_parameter_answers_the_json_error() {
    let app = TestApp::spawn(Stack::Embedded).await;
    let m = app.merchant("Query Shop").await;
    for path in ["/orders?limit=many", "/products?include_archived=perhaps", "/orders?offset=1e99"] {
        let response = app.api(&m, reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = response.json().await.unwrap_or_else(|e| panic!("{path}: a JSON error: {e}"));
        assert_eq!(body["error"]["code"], "invalid_query", "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        let name = path.split(['?', '=']).nth(1).unwrap();
        assert!(message.contains(name), "{path}: the message names the parameter: {message}");
    }
}
