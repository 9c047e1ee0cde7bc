//! A product with nothing to deliver is a draft: it says so, and every way of buying it
//! refuses it. The API and the test checkout answer 422 naming it; a paid webhook is kept as
//! unmatched with the reason, and is assigned once the product has something to deliver.
//! Switching a product's mode later never changes what an existing order delivers.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    dodo_payment, order, orders, payment_events, product, send_standard, set_delivery, settings, upload, wait_for_order,
};
use crate::dashboard::{Dashboard, location};
use crate::helpers::{Stack, TestApp, TestMerchant, on_both_stacks};

on_both_stacks!(
    a_draft_is_refused_by_the_orders_api_naming_it,
    a_draft_cannot_be_bought_at_the_test_checkout,
    a_paid_webhook_for_a_draft_is_kept_and_assigned_once_fixed,
    switching_modes_later_leaves_existing_orders_alone,
);

async fn post_order(app: &TestApp, m: &TestMerchant, product_id: &str) -> (StatusCode, Value) {
    let body = json!({"customer": {"email": "ada@example.com"}, "items": [{"product_id": product_id}]});
    let response = app.api(m, Method::POST, "/orders").json(&body).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

fn nothing_to_deliver(name: &str, id: &str) -> String {
    format!("product \"{name}\" ({id}) has nothing to deliver: add files or a link to put it on sale")
}

async fn a_draft_is_refused_by_the_orders_api_naming_it(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Draft Shop").await;
    let id = product(&app, &m, "Field Guide", json!({})).await;
    let (_, created) = app.get_json(&m, &format!("/products/{id}")).await;
    assert_eq!((&created["on_sale"], &created["delivery"]["mode"]), (&json!(false), &json!("none")), "{created}");

    let (status, refused) = post_order(&app, &m, &id).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = format!("items: {}", nothing_to_deliver("Field Guide", &id));
    assert_eq!(refused, json!({"error": {"code": "invalid_field", "field": "items", "message": message}}));
    assert!(orders(&app, &m).await.is_empty(), "no order was made");

    set_delivery(&app, &m, &id, json!({"mode": "external_link", "external_url": "https://example.com/guide"})).await;
    let (_, on_sale) = app.get_json(&m, &format!("/products/{id}")).await;
    assert_eq!(on_sale["on_sale"], true);
    let (status, bought) = post_order(&app, &m, &id).await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");

    // Back to no mode: a draft again (the link is kept for later), refused again.
    set_delivery(&app, &m, &id, json!({"mode": "none"})).await;
    let (_, draft) = app.get_json(&m, &format!("/products/{id}")).await;
    assert_eq!(
        (&draft["on_sale"], &draft["delivery"]["external_url"]),
        (&json!(false), &json!("https://example.com/guide"))
    );
    assert_eq!(post_order(&app, &m, &id).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    // An archived product is not on sale either, whatever it delivers.
    set_delivery(&app, &m, &id, json!({"mode": "external_link"})).await;
    let archived = app.api(&m, Method::POST, &format!("/products/{id}/archive")).send().await.unwrap();
    assert_eq!(archived.json::<Value>().await.unwrap()["on_sale"], false);
    assert_eq!(orders(&app, &m).await.len(), 1);
}

async fn a_draft_cannot_be_bought_at_the_test_checkout(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Draft Shop").await;
    settings(&app, &m, json!({"test_mode": true})).await;
    let id = product(&app, &m, "Field Guide", json!({})).await;
    let path = format!("/buy/{id}");
    let refusal = "\u{201c}Field Guide\u{201d} has nothing to deliver yet, so it cannot be bought.";

    let page = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = page.text().await.unwrap();
    assert!(html.contains(refusal) && html.contains("<h1>Field Guide</h1>"), "{html}");
    assert!(!html.contains("<form") && !html.contains("Pay (test mode)"), "no way to pay: {html}");
    let form = [("name", "Ada"), ("email", "ada@example.com")];
    let paid = app.client.post(app.url(&path)).form(&form).send().await.unwrap();
    assert_eq!(paid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(paid.text().await.unwrap().contains(refusal));
    assert!(orders(&app, &m).await.is_empty(), "no order was made");

    let file = upload(&app, &m, "guide.pdf", "application/pdf", b"%PDF-1.4 guide").await;
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": [{"file_id": file["id"]}]})).await;
    let page = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Pay (test mode)"));
    let paid = app.client.post(app.url(&path)).form(&form).send().await.unwrap();
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    assert_eq!(orders(&app, &m).await.len(), 1);
}

async fn a_paid_webhook_for_a_draft_is_kept_and_assigned_once_fixed(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Draft Shop").await;
    let id = product(&app, &m, "Field Guide", json!({"external_ids": {"standard": "prod_guide"}})).await;
    let payment = dodo_payment("pay_draft", "prod_guide", "grace@navy.example");
    assert_eq!(send_standard(&app, &m, "msg_draft", &payment).await.status(), StatusCode::OK);
    assert!(orders(&app, &m).await.is_empty());
    let unmatched = payment_events(&app, &m, "unmatched").await;
    assert_eq!(unmatched.len(), 1, "{unmatched:#?}");
    let reason = format!("items: {}", nothing_to_deliver("Field Guide", &id));
    assert_eq!(unmatched[0]["detail"], reason.as_str());
    let assign = format!("/dashboard/unmatched/{}/assign", unmatched[0]["id"].as_str().unwrap());

    let dashboard = Dashboard::sign_in(&app, &m).await;
    let (_, html) = dashboard.get("/dashboard/orders").await;
    let shown = reason.replace('"', "&#34;");
    assert!(html.contains(&shown) || html.contains(&reason.replace('"', "&quot;")), "the reason is shown: {html}");
    // Assigned while still a draft: refused with the same reason, nothing made.
    let refused = dashboard.post(&assign, &[("product_id", &id)]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("has nothing to deliver"));
    assert!(orders(&app, &m).await.is_empty());

    set_delivery(&app, &m, &id, json!({"mode": "external_link", "external_url": "https://example.com/guide"})).await;
    let assigned = dashboard.post(&assign, &[("product_id", &id)]).await;
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);
    assert!(location(&assigned).ends_with("?notice=assigned"));
    let list = orders(&app, &m).await;
    assert_eq!(list.len(), 1);
    let order_id = list[0]["id"].as_str().unwrap();
    let detail = wait_for_order(&app, &m, order_id, "the purchase email sent", |o| {
        o["emails"].as_array().unwrap().iter().any(|e| e["kind"] == "purchase" && e["status"] == "sent")
    })
    .await;
    assert_eq!(detail["customer_email"], "grace@navy.example");
    assert_eq!(detail["items"][0]["external_url"], "https://example.com/guide");
    assert!(payment_events(&app, &m, "unmatched").await.is_empty(), "nothing left to assign");
}

async fn switching_modes_later_leaves_existing_orders_alone(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Switch Shop").await;
    let id = product(&app, &m, "Field Guide", json!({})).await;
    let file = upload(&app, &m, "guide.pdf", "application/pdf", b"%PDF-1.4 guide").await;
    let link = "https://example.com/guide";
    let both = json!({"mode": "files", "files": [{"file_id": file["id"]}], "external_url": link});
    set_delivery(&app, &m, &id, both).await;
    let (_, with_files) = post_order(&app, &m, &id).await;
    set_delivery(&app, &m, &id, json!({"mode": "external_link"})).await;
    let (_, with_link) = post_order(&app, &m, &id).await;
    set_delivery(&app, &m, &id, json!({"mode": "files"})).await;

    let files_order = order(&app, &m, with_files["id"].as_str().unwrap()).await;
    assert_eq!(files_order["files"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&files_order["items"][0]["delivery_mode"], &files_order["items"][0]["external_url"]),
        (&json!("files"), &Value::Null),
        "an order of the files gets no link, though the product kept one"
    );
    let link_order = order(&app, &m, with_link["id"].as_str().unwrap()).await;
    assert_eq!(link_order["files"], json!([]), "an order of the link gets none of the kept files");
    assert_eq!(
        (&link_order["items"][0]["delivery_mode"], &link_order["items"][0]["external_url"]),
        (&json!("external_link"), &json!(link))
    );
}
