//! Test data kept apart and deleted, in a real browser (`tests/support/test_data.mjs`): the
//! test-mode bar, a test checkout purchase marked "Test" beside a real order, the "Kind"
//! filter, revenue without it, and "Delete test data" through its confirm page.

use serde_json::json;

use super::orders::paid;
use super::products_browser::run_script;
use super::{PASSWORD, owner_email};
use crate::fulfilment::{orders, settings, shop};
use crate::helpers::{Stack, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_test_data_journey_in_a_browser() {
    let app = TestApp::spawn(Stack::Embedded).await;
    let shop = shop(&app, "Lighthouse Books", "guide.pdf", b"%PDF-1.4 lighthouse".to_vec()).await;
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    let real = paid(&app, &shop.m, &shop.product_id, "rita@customer.example", 1999).await;

    let args = vec![app.address.clone(), owner_email(&shop.m), PASSWORD.to_owned(), shop.product_id.clone()];
    let journey = run_script("test_data.mjs", args).await;
    let banner = journey["banner"].as_str().unwrap();
    assert!(banner.starts_with("Test mode is on: anyone with a test checkout link"), "{journey}");
    assert_eq!(journey["test_row"], "Test", "{journey}");
    assert_eq!((journey["rows"].as_i64(), journey["live_rows"].as_i64()), (Some(2), Some(1)), "{journey}");
    assert_eq!(journey["revenue"], "$19.99", "the test order is not revenue: {journey}");
    assert_eq!(journey["revenue_label"], "USD · 1 sale");
    let left_out = journey["left_out"].as_str().unwrap();
    assert!(left_out.ends_with("1 test order left out · Delete test data"), "{journey}");
    assert_eq!(journey["confirm"], "Delete 1 test order?");
    assert_eq!(journey["flash"], "Test data deleted. Real orders were not touched.");
    assert_eq!(journey["rows_after"], 1, "the real order stays: {journey}");
    assert_eq!(journey["test_link_after"], 404, "the test order's link is gone");
    let left = orders(&app, &shop.m).await;
    assert_eq!((left.len(), &left[0]["id"]), (1, &real["id"]));
}
