//! The test checkout is not an open order and email generator: other sites' forms are refused,
//! purchases are limited per network and per address, the dashboard says test mode is on, and
//! with SMTP its emails reach only the merchant's own addresses (the rest stay in the Mailbox).

use reqwest::StatusCode;
use serde_json::json;

use super::{Maildev, WITHIN, send_to, smtp_port, unique_address};
use crate::dashboard::{Dashboard, owner_email};
use crate::fulfilment::{order, orders, settings, shop};
use crate::helpers::{Stack, TestApp, eventually, on_both_stacks};

on_both_stacks!(
    cross_site_test_purchases_are_refused,
    test_purchases_are_limited_per_network_and_per_address,
    with_smtp_test_purchases_mail_only_the_merchant,
);

async fn buy(app: &TestApp, product_id: &str, email: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request =
        app.client.post(app.url(&format!("/buy/{product_id}"))).form(&[("name", "Ada"), ("email", email)]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn cross_site_test_purchases_are_refused(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Cross Site", "guide.pdf", b"%PDF-1.4 csrf".to_vec()).await;
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    for headers in [[("origin", "https://evil.example")], [("sec-fetch-site", "cross-site")]] {
        let response = buy(&app, &shop.product_id, "victim@example.com", &headers).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
    }
    assert!(orders(&app, &shop.m).await.is_empty(), "nothing was made");
    let own = buy(&app, &shop.product_id, "ada@example.com", &[("origin", app.address.as_str())]).await;
    assert_eq!(own.status(), StatusCode::SEE_OTHER, "the checkout's own page still works");
    let same = buy(&app, &shop.product_id, "ada@example.com", &[("sec-fetch-site", "same-origin")]).await;
    assert_eq!(same.status(), StatusCode::SEE_OTHER);
    assert_eq!(orders(&app, &shop.m).await.len(), 2);
}

/// `checkout::PURCHASES_PER_ADDRESS` and `PURCHASES_PER_IP` (per ten minutes).
const PURCHASES_PER_ADDRESS: u32 = 5;
const PURCHASES_PER_IP: u32 = 20;

async fn test_purchases_are_limited_per_network_and_per_address(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Limited Shop", "guide.pdf", b"%PDF-1.4 limits".to_vec()).await;
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    for _ in 0..PURCHASES_PER_ADDRESS {
        assert_eq!(buy(&app, &shop.product_id, "target@example.com", &[]).await.status(), StatusCode::SEE_OTHER);
    }
    let refused = buy(&app, &shop.product_id, "Target@Example.com", &[]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "per address, whatever its case");
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    // The refused one counted for the network too.
    for n in PURCHASES_PER_ADDRESS + 1..PURCHASES_PER_IP {
        let response = buy(&app, &shop.product_id, &format!("buyer{n}@example.com"), &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "purchase {n}");
    }
    let refused = buy(&app, &shop.product_id, "someone-new@example.com", &[]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "per network");
    assert_eq!(orders(&app, &shop.m).await.len() as u32, PURCHASES_PER_IP - 1, "refused purchases made nothing");
}

async fn with_smtp_test_purchases_mail_only_the_merchant(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let name = format!("Own Shop {}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let shop = shop(&app, &name, "guide.pdf", b"%PDF-1.4 own".to_vec()).await;
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;
    for page in ["/dashboard", "/dashboard/settings"] {
        let (_, html) = dashboard.get(page).await;
        assert!(!html.contains("Test mode is on:"), "no warning while off: {page}");
    }
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    for page in ["/dashboard", "/dashboard/settings"] {
        let (status, html) = dashboard.get(page).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Test mode is on:"), "the warning shows on {page}: {html}");
    }

    let stranger = unique_address("stranger");
    assert_eq!(buy(&app, &shop.product_id, &stranger, &[]).await.status(), StatusCode::SEE_OTHER);
    let own = owner_email(&shop.m);
    assert_eq!(buy(&app, &shop.product_id, &own, &[]).await.status(), StatusCode::SEE_OTHER);

    let received = Maildev::shared().wait_for(&own, 1).await;
    assert_eq!(received[0]["subject"], format!("[Test] Your purchase from {name}: Field Guide"));
    let kept = eventually(WITHIN, "the stranger's email is done", || async {
        let list = orders(&app, &shop.m).await;
        let summary = list.iter().find(|o| o["customer_email"] == stranger.as_str())?;
        let email = order(&app, &shop.m, summary["id"].as_str().unwrap()).await["emails"][0].clone();
        (email["status"] == "sent").then_some(email)
    })
    .await;
    assert!(Maildev::shared().to(&stranger).await.is_empty(), "no SMTP inbox got the stranger's email");
    let id = kept["id"].as_str().unwrap();
    let file = app.state.config.mailbox_dir().join(format!("{id}.eml"));
    let raw = std::fs::read_to_string(&file).expect("kept in the file mailbox");
    assert!(raw.contains(&stranger), "{raw}");
    let (_, list) = dashboard.get("/dashboard/mailbox").await;
    assert!(list.contains(&format!("/dashboard/mailbox/{id}")), "the Mailbox lists it: {list}");
    let (status, shown) = dashboard.get(&format!("/dashboard/mailbox/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown.contains(&stranger) && shown.contains("Field Guide"), "{shown}");
}
