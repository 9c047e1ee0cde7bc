//! The outbox: each order operation queues one event per subscribed endpoint, in the
//! operation's transaction: exactly the subscribed types, one event id shared by every endpoint
//! it goes to, nothing for a paused endpoint or another shop's.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::endpoints::create;
use crate::fulfilment::{dodo_payment, dodo_refund, send_standard, shop};
use crate::helpers::{Stack, TestApp, TestMerchant, on_both_stacks};

on_both_stacks!(each_order_operation_queues_exactly_the_subscribed_events);

async fn endpoint(app: &TestApp, m: &TestMerchant, events: &[&str]) -> String {
    let (status, created) = create(app, m, json!({"url": "https://hooks.satchel.invalid/in", "events": events})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// The endpoint's deliveries, oldest first, as (event type, event id).
async fn queued(app: &TestApp, m: &TestMerchant, id: &str) -> Vec<(String, String)> {
    let (status, list) = app.get_json(m, &format!("/webhook-endpoints/{id}/deliveries")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut rows: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            // `.invalid` never resolves: the worker's attempts fail, and the event stays pending.
            assert_eq!(d["status"], "pending", "{d}");
            (d["event_type"].as_str().unwrap().to_owned(), d["event_id"].as_str().unwrap().to_owned())
        })
        .collect();
    rows.reverse();
    rows
}

fn types(rows: &[(String, String)]) -> Vec<&str> {
    rows.iter().map(|(t, _)| t.as_str()).collect()
}

async fn each_order_operation_queues_exactly_the_subscribed_events(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let s = shop(&app, "Event Shop", "guide.pdf", b"%PDF-1.7 guide".to_vec()).await;
    let m = &s.m;
    let path = format!("/products/{}", s.product_id);
    let linked = app.api(m, Method::PATCH, &path).json(&json!({"external_ids": {"standard": "pdt_guide"}}));
    assert_eq!(linked.send().await.unwrap().status(), StatusCode::OK);
    let all = endpoint(&app, m, &["order.created", "order.refunded", "order.revoked", "order.restored"]).await;
    let created_only = endpoint(&app, m, &["order.created"]).await;
    let access = endpoint(&app, m, &["order.revoked", "order.restored"]).await;
    let paused = endpoint(&app, m, &["order.created"]).await;
    let pause = app.api(m, Method::PATCH, &format!("/webhook-endpoints/{paused}")).json(&json!({"enabled": false}));
    assert_eq!(pause.send().await.unwrap().status(), StatusCode::OK);
    let other = app.merchant("Other Shop").await;
    let others = endpoint(&app, &other, &["order.created"]).await;

    // A provider's payment, its refund, then the merchant revokes and restores the order.
    let paid = send_standard(&app, m, "msg_pay_1", &dodo_payment("pay_1", "pdt_guide", "ada@example.com")).await;
    assert_eq!(paid.status(), StatusCode::OK);
    let refund = send_standard(&app, m, "msg_refund_1", &dodo_refund("pay_1")).await;
    assert_eq!(refund.status(), StatusCode::OK);
    // A repeated delivery of the same payment queues nothing more.
    let again = send_standard(&app, m, "msg_pay_1", &dodo_payment("pay_1", "pdt_guide", "ada@example.com")).await;
    assert_eq!(again.status(), StatusCode::OK);
    let (_, orders) = app.get_json(m, "/orders").await;
    let order_id = orders[0]["id"].as_str().unwrap().to_owned();
    for action in ["revoke", "restore"] {
        let response = app.api(m, Method::POST, &format!("/orders/{order_id}/{action}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{action}");
    }
    // An unknown order changes nothing and queues nothing.
    let missing = app.api(m, Method::POST, "/orders/no-such-order/revoke").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let everything = queued(&app, m, &all).await;
    assert_eq!(types(&everything), ["order.created", "order.refunded", "order.revoked", "order.restored"]);
    let ids: Vec<&str> = everything.iter().map(|(_, id)| id.as_str()).collect();
    assert!(ids.iter().all(|id| id.starts_with("evt_") && id.len() == 36), "{ids:?}");
    assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), 4, "one id per event");
    // One event, one id, whichever endpoints it goes to.
    assert_eq!(queued(&app, m, &created_only).await, everything[..1]);
    assert_eq!(queued(&app, m, &access).await, everything[2..]);
    assert_eq!(queued(&app, m, &paused).await, []);
    assert_eq!(queued(&app, &other, &others).await, []);
}
