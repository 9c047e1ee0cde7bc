//! The customers pages, and assigning a payment that matched no product.

use reqwest::StatusCode;
use serde_json::json;

use super::orders::paid;
use super::{Dashboard, location};
use crate::fulfilment::{buy, dodo_payment, order, orders, payment_events, send_standard, shop};
use crate::helpers::{Stack, TestApp, on_both_stacks};

on_both_stacks!(dashboard_customers_list_their_orders, dashboard_unmatched_payment_is_assigned_once);

async fn dashboard_customers_list_their_orders(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let first = paid(&app, &shop.m, &shop.product_id, "ada@readers.example", 1999).await;
    let second = paid(&app, &shop.m, &shop.product_id, "Ada@Readers.example", 1999).await;
    buy(&app, &shop.m, &shop.product_id, "bob@readers.example").await;
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;

    let (status, html) = dashboard.get("/dashboard/customers").await;
    assert_eq!(status, StatusCode::OK);
    let ada = super::orders::row_of(&html, "ada@readers.example");
    assert!(ada.contains(r#"data-label="Orders">2</td>"#) && ada.contains("$39.98"), "two orders: {ada}");
    assert!(html.find("bob@readers.example") < html.find("ada@readers.example"), "latest buyer first");

    let (_, found) = dashboard.get("/dashboard/customers?q=BOB").await;
    assert!(found.contains("bob@readers.example") && !found.contains("ada@readers.example"), "{found}");
    let (_, none) = dashboard.get("/dashboard/customers?q=zed").await;
    assert!(none.contains("No customer matches"), "{none}");

    let ada_href = ada[ada.find("/dashboard/customers/").expect("a link")..].split('"').next().unwrap().to_owned();
    let (status, page) = dashboard.get(&ada_href).await;
    assert_eq!(status, StatusCode::OK);
    for id in [&first["id"], &second["id"]] {
        assert!(page.contains(&format!("/dashboard/orders/{}", id.as_str().unwrap())), "{id} on {page}");
    }
    assert!(!page.contains("bob@readers.example"));

    let other = shop_of_someone_else(&app).await;
    let (status, _) = other.get(&ada_href).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another shop cannot open this customer");
}

async fn shop_of_someone_else(app: &TestApp) -> Dashboard {
    let other = app.merchant("Other Shop").await;
    Dashboard::sign_in(app, &other).await
}

async fn dashboard_unmatched_payment_is_assigned_once(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let unknown = dodo_payment("pay_42", "prod_from_dodo", "grace@navy.example");
    assert_eq!(send_standard(&app, &shop.m, "msg_42", &unknown).await.status(), StatusCode::OK);
    // A paid event with no customer email at all is kept too; the merchant types the address.
    let mut no_email: serde_json::Value = serde_json::from_str(&dodo_payment("pay_43", "prod_x", "")).unwrap();
    no_email["data"]["customer"] = json!({"customer_id": "cus_1", "name": "Alan"});
    assert_eq!(send_standard(&app, &shop.m, "msg_43", &no_email.to_string()).await.status(), StatusCode::OK);
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;

    let (_, html) = dashboard.get("/dashboard/orders").await;
    assert!(html.contains(r#"id="unmatched""#), "the overview links to #unmatched");
    assert!(html.contains("no product matches prod_from_dodo") && html.contains("grace@navy.example"), "{html}");
    assert!(html.contains("No usable email") && html.contains(">Assign<"), "{html}");
    let events = payment_events(&app, &shop.m, "unmatched").await;
    let event_of = |payment: &str| {
        let event = events.iter().find(|e| e["payload"].as_str().unwrap().contains(payment)).unwrap();
        format!("/dashboard/unmatched/{}/assign", event["id"].as_str().unwrap())
    };

    let assigned = dashboard.post(&event_of("pay_42"), &[("product_id", &shop.product_id)]).await;
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);
    let to = location(&assigned);
    assert!(to.starts_with("/dashboard/orders/") && to.ends_with("?notice=assigned"), "{to}");
    let (_, page) = dashboard.get(&to).await;
    assert!(page.contains("Payment assigned") && page.contains("grace@navy.example") && page.contains("pay_42"));

    let again = dashboard.post(&event_of("pay_42"), &[("product_id", &shop.product_id)]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("already assigned"));
    let list = orders(&app, &shop.m).await;
    assert_eq!(list.len(), 1, "exactly one order: {list:#?}");
    let detail = order(&app, &shop.m, list[0]["id"].as_str().unwrap()).await;
    let emails = detail["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 1, "exactly one purchase email");
    assert_eq!((emails[0]["kind"].as_str(), emails[0]["to"].as_str()), (Some("purchase"), Some("grace@navy.example")));
    assert_eq!((detail["provider"].as_str(), detail["amount_minor"].as_i64()), (Some("standard"), Some(1999)));
    // The provider retrying the same event now finds its order: still one.
    assert_eq!(send_standard(&app, &shop.m, "msg_42", &unknown).await.status(), StatusCode::OK);
    assert_eq!(orders(&app, &shop.m).await.len(), 1);

    let without = dashboard.post(&event_of("pay_43"), &[("product_id", &shop.product_id)]).await;
    assert_eq!(without.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        without.text().await.unwrap().contains("no usable email address: type the customer"),
        "asks for the address"
    );
    let typed = [("product_id", shop.product_id.as_str()), ("email", "alan@bletchley.example")];
    let assigned = dashboard.post(&event_of("pay_43"), &typed).await;
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);
    let list = orders(&app, &shop.m).await;
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0]["customer_email"].as_str(), list[0]["customer_name"].as_str()),
        (Some("alan@bletchley.example"), Some("Alan"))
    );
    let (_, html) = dashboard.get("/dashboard/orders").await;
    assert!(!html.contains(r#"id="unmatched""#), "nothing left to assign");
}
