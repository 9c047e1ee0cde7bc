//! The settings page: API keys, download policy, test mode, sender, Stripe secret, and refusals
//! that change nothing.

use reqwest::StatusCode;
use serde_json::Value;

use super::{Dashboard, location};
use crate::helpers::{Stack, TestApp, on_both_stacks};

on_both_stacks!(dashboard_api_keys_are_shown_once_and_revoked, dashboard_settings_change_what_the_api_reports);

async fn dashboard_api_keys_are_shown_once_and_revoked(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Quiet Pine Press").await;
    let dashboard = Dashboard::sign_in(&app, &merchant).await;

    let created = dashboard.post("/dashboard/settings/api-keys", &[("name", "Shop backend")]).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let (_, page) = dashboard.get(location(&created).split('#').next().unwrap()).await;
    let start = page.find(r#"id="new-key">"#).expect("the new key is shown") + 13;
    let key = page[start..].split('<').next().unwrap().to_owned();
    assert!(key.starts_with("sk_"), "{key}");
    let products = |key: String| {
        let request = app.client.get(app.url("/api/v1/products")).bearer_auth(key);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(products(key.clone()).await, StatusCode::OK, "the new key works");
    let (_, settings) = dashboard.get("/dashboard/settings").await;
    assert!(settings.contains("Shop backend") && !settings.contains(&key), "listed, never shown again");

    let blank = dashboard.post("/dashboard/settings/api-keys", &[("name", "  ")]).await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.text().await.unwrap().contains(r#"id="key_name-error""#));

    let keys = satchel::db::api_keys::list(&app.state.db, &merchant.id).await.unwrap();
    assert_eq!(keys.len(), 2, "the blank name made no key");
    let id = &keys.iter().find(|k| k.name == "Shop backend").unwrap().id;
    assert!(settings.contains(&format!("/dashboard/settings/api-keys/{id}/revoke")), "a revoke form");
    let revoked = dashboard.post(&format!("/dashboard/settings/api-keys/{id}/revoke"), &[]).await;
    assert_eq!(location(&revoked), "/dashboard/settings?notice=key-revoked");
    assert_eq!(products(key).await, StatusCode::UNAUTHORIZED, "a revoked key stops working at once");
    assert_eq!(products(merchant.api_key.clone()).await, StatusCode::OK, "the other key still works");
    let (_, settings) = dashboard.get("/dashboard/settings?notice=key-revoked").await;
    assert!(settings.contains("API key revoked.") && settings.contains("Revoked "));

    let other = app.merchant("Other Shop").await;
    let theirs = satchel::db::api_keys::list(&app.state.db, &other.id).await.unwrap()[0].id.clone();
    let refused = dashboard.post(&format!("/dashboard/settings/api-keys/{theirs}/revoke"), &[]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND, "another shop's key");
    assert_eq!(products(other.api_key.clone()).await, StatusCode::OK);
}

async fn api_settings(app: &TestApp, merchant: &crate::helpers::TestMerchant) -> Value {
    let (status, body) = app.get_json(merchant, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    body
}

async fn dashboard_settings_change_what_the_api_reports(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Quiet Pine Press").await;
    let dashboard = Dashboard::sign_in(&app, &merchant).await;
    let saved = |response: reqwest::Response| {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        location(&response)
    };

    let policy = [("expiry", "7"), ("expiry_unit", "days"), ("max_downloads", "5"), ("revoke_on_refund", "on")];
    assert_eq!(
        saved(dashboard.post("/dashboard/settings/policy", &policy).await),
        "/dashboard/settings?notice=settings"
    );
    let on = saved(dashboard.post("/dashboard/settings/test-mode", &[("test_mode", "on")]).await);
    assert_eq!(on, "/dashboard/settings?notice=test-mode-on");
    let sender = [("sender_name", "Pine Press Orders"), ("sender_email", "Orders@PinePress.example")];
    saved(dashboard.post("/dashboard/settings/sender", &sender).await);
    saved(dashboard.post("/dashboard/settings/stripe", &[("stripe_secret", "whsec_from_stripe_123")]).await);
    let now = api_settings(&app, &merchant).await;
    assert_eq!(now["link_expiry_seconds"], 7 * 86_400);
    assert_eq!((now["max_downloads_per_file"].as_i64(), now["revoke_on_refund"].as_bool()), (Some(5), Some(true)));
    assert_eq!((now["test_mode"].as_bool(), now["sender_name"].as_str()), (Some(true), Some("Pine Press Orders")));
    assert_eq!(now["sender_email"], "orders@pinepress.example");
    assert_eq!(now["webhooks"]["stripe_secret_set"], true);

    let (_, page) = dashboard.get("/dashboard/settings").await;
    for shown in [r#"value="7""#, r#"value="days" selected"#, r#"value="5""#, "Turn test mode off", "Pine Press Orders"]
    {
        assert!(page.contains(shown), "{shown} on the settings page");
    }
    assert!(page.contains(&format!("/webhooks/{}/standard", merchant.slug)) && page.contains(&merchant.webhook_secret));

    // Refused values: the page again, the reason next to the field, nothing saved.
    let negative = [("expiry", "-3"), ("expiry_unit", "days"), ("max_downloads", "")];
    let refused = dashboard.post("/dashboard/settings/policy", &negative).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    let error = page.find(r#"id="expiry-error""#).expect("an error by the expiry field");
    assert!(page[error..].contains("whole number"), "{page}");
    assert!(page.contains(r#"value="-3""#), "what was typed is kept");
    let bad_sender = dashboard.post("/dashboard/settings/sender", &[("sender_email", "not an address")]).await;
    assert_eq!(bad_sender.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = bad_sender.text().await.unwrap();
    assert!(page.contains(r#"id="sender_email-error""#) && page.contains("like shop@example.com"), "{page}");
    let too_long = dashboard
        .post("/dashboard/settings/policy", &[("expiry", "11"), ("expiry_unit", "days"), ("max_downloads", "0")])
        .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.text().await.unwrap().contains(r#"id="max_downloads-error""#));
    assert_eq!(api_settings(&app, &merchant).await, now, "nothing changed");

    // Empty fields go back to the defaults.
    saved(
        dashboard
            .post("/dashboard/settings/policy", &[("expiry", ""), ("expiry_unit", "days"), ("max_downloads", "")])
            .await,
    );
    saved(dashboard.post("/dashboard/settings/sender", &[("sender_name", ""), ("sender_email", "")]).await);
    saved(dashboard.post("/dashboard/settings/test-mode", &[("test_mode", "off")]).await);
    saved(dashboard.post("/dashboard/settings/stripe", &[("remove", "1")]).await);
    let now = api_settings(&app, &merchant).await;
    assert!(now["link_expiry_seconds"].is_null() && now["max_downloads_per_file"].is_null(), "{now}");
    assert_eq!((now["revoke_on_refund"].as_bool(), now["test_mode"].as_bool()), (Some(false), Some(false)));
    assert!(now["sender_email"].is_null() && now["sender_name"].is_null(), "{now}");
    assert_eq!(now["webhooks"]["stripe_secret_set"], false);
}
