//! The brake's policy: bad input refused naming the field with nothing saved (the settings API
//! and the Settings page), and the networks kept per order bounded whatever a client does.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{download_from, networks, queued, set_policy, subscribe};
use crate::dashboard::{Dashboard, location};
use crate::fulfilment::{buy, delivery_url, shop};
use crate::helpers::{Stack, TestApp, error_code, on_both_stacks};

on_both_stacks!(
    bad_policy_input_is_refused_naming_the_field_and_nothing_is_saved,
    the_settings_page_saves_the_policy_and_refuses_bad_values,
    the_networks_kept_per_order_are_bounded,
    download_all_and_external_links_count_like_files,
);

async fn patch(app: &TestApp, m: &crate::helpers::TestMerchant, body: Value) -> (StatusCode, Value) {
    let response = app.api(m, Method::PATCH, "/settings").json(&body).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn bad_policy_input_is_refused_naming_the_field_and_nothing_is_saved(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Careful Shop").await;
    for (body, field) in [
        (json!({"sharing_max_networks": 1}), "sharing_max_networks"),
        (json!({"sharing_max_networks": 1001}), "sharing_max_networks"),
        (json!({"sharing_max_networks": -5, "sharing_mode": "lock"}), "sharing_max_networks"),
        (json!({"sharing_window_hours": 0}), "sharing_window_hours"),
        (json!({"sharing_window_hours": 721}), "sharing_window_hours"),
        (json!({"sharing_mode": "block"}), "sharing_mode"),
        (json!({"sharing_mode": ""}), "sharing_mode"),
    ] {
        // Sent with a valid change of another setting: nothing of it is saved either.
        let mut body = body;
        body["test_mode"] = json!(true);
        let (status, error) = patch(&app, &m, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error_code(&error), "invalid_field", "{error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    // Not a whole number: the body is refused (the API's one answer for a mistyped field),
    // naming the field in its message.
    for (body, field) in [
        (json!({"sharing_window_hours": 1.5, "test_mode": true}), "sharing_window_hours"),
        (json!({"sharing_max_networks": "5", "test_mode": true}), "sharing_max_networks"),
    ] {
        let (status, error) = patch(&app, &m, body.clone()).await;
        assert_eq!((status, error_code(&error)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"), "{body}: {error}");
        assert!(error["error"]["message"].as_str().unwrap().contains(field), "{error}");
    }
    let (status, settings) = app.get_json(&m, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    let kept = json!([settings["sharing_mode"], settings["sharing_max_networks"], settings["sharing_window_hours"]]);
    assert_eq!((kept, &settings["test_mode"]), (json!(["off", 5, 24]), &json!(false)), "{settings}");

    // The bounds themselves are accepted; absent fields keep their value; 2.0 is a whole number.
    let saved = set_policy(&app, &m, "lock", 1000, 720).await;
    assert_eq!((&saved["sharing_max_networks"], &saved["sharing_window_hours"]), (&json!(1000), &json!(720)));
    let (status, saved) = patch(&app, &m, json!({"sharing_max_networks": 2.0})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let kept = json!([saved["sharing_mode"], saved["sharing_max_networks"], saved["sharing_window_hours"]]);
    assert_eq!(kept, json!(["lock", 2, 720]));
}

async fn the_settings_page_saves_the_policy_and_refuses_bad_values(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Form Shop").await;
    let dashboard = Dashboard::sign_in(&app, &m).await;
    let (_, page) = dashboard.get("/dashboard/settings").await;
    assert!(page.contains("Link sharing") && page.contains(r#"value="off" checked"#), "off by default");
    for (fields, field, words) in [
        (
            [("sharing_mode", "lock"), ("sharing_max_networks", "1"), ("sharing_window_hours", "24")],
            "sharing_max_networks",
            "from 2 to 1000",
        ),
        (
            [("sharing_mode", "lock"), ("sharing_max_networks", "5"), ("sharing_window_hours", "721")],
            "sharing_window_hours",
            "from 1 to 720",
        ),
        (
            [("sharing_mode", "lock"), ("sharing_max_networks", "5"), ("sharing_window_hours", "two")],
            "sharing_window_hours",
            "from 1 to 720",
        ),
        (
            [("sharing_mode", "always"), ("sharing_max_networks", "5"), ("sharing_window_hours", "24")],
            "sharing_mode",
            "Choose off, notify or lock",
        ),
    ] {
        let response = dashboard.post("/dashboard/settings/sharing", &fields).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let html = response.text().await.unwrap();
        let error =
            html.find(&format!(r#"id="{field}-error""#)).unwrap_or_else(|| panic!("an error by {field}: {html}"));
        assert!(html[error..].contains(words), "{field}: {html}");
    }
    let (_, settings) = app.get_json(&m, "/settings").await;
    assert_eq!(settings["sharing_mode"], "off", "nothing saved: {settings}");

    let fields = [("sharing_mode", "notify"), ("sharing_max_networks", "3"), ("sharing_window_hours", "48")];
    let saved = dashboard.post("/dashboard/settings/sharing", &fields).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(location(&saved).contains("notice=sharing-saved"));
    let (_, settings) = app.get_json(&m, "/settings").await;
    let kept = json!([settings["sharing_mode"], settings["sharing_max_networks"], settings["sharing_window_hours"]]);
    assert_eq!(kept, json!(["notify", 3, 48]));
    // Without the CSRF token nothing changes.
    let forged = dashboard
        .client
        .post(app.url("/dashboard/settings/sharing"))
        .header("origin", &app.address)
        .form(&[("sharing_mode", "off"), ("sharing_max_networks", "5"), ("sharing_window_hours", "24")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (_, settings) = app.get_json(&m, "/settings").await;
    assert_eq!(settings["sharing_mode"], "notify");
}

async fn the_networks_kept_per_order_are_bounded(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| c.server.trusted_proxies = 1).await;
    let s = shop(&app, "Busy Shop", "guide.pdf", b"%PDF-1.7 busy".to_vec()).await;
    let (endpoint, _) = subscribe(&app, &s.m, "http://127.0.0.1:9/events", &["sharing.suspected"]).await;
    set_policy(&app, &s.m, "notify", 2, 24).await;
    let order = buy(&app, &s.m, &s.product_id, "busy@buyer.example").await;
    let file = format!("{}/files/1", delivery_url(&order));
    for i in 0..110 {
        download_from(&app, &file, &format!("10.{}.{}.1", i / 200, i % 200), &s.bytes).await;
    }
    let kept = networks(&app, order["id"].as_str().unwrap()).await;
    assert_eq!(kept.len(), 100, "at most 100 networks per order under a small allowance");
    assert!(kept.iter().any(|(n, _, _)| n == "10.0.109.0/24"), "the latest is kept");
    assert_eq!(queued(&app, &s.m, &endpoint).await, ["sharing.suspected"], "once in the window");
}

async fn download_all_and_external_links_count_like_files(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| c.server.trusted_proxies = 1).await;
    let s = shop(&app, "Mixed Shop", "guide.pdf", b"%PDF-1.7 mixed".to_vec()).await;
    let atlas = crate::fulfilment::product(&app, &s.m, "Atlas", json!({})).await;
    let link = "https://downloads.example.org/atlas.zip";
    crate::fulfilment::set_delivery(&app, &s.m, &atlas, json!({"mode": "external_link", "external_url": link})).await;
    let (endpoint, _) = subscribe(&app, &s.m, "http://127.0.0.1:9/events", &["sharing.suspected"]).await;
    set_policy(&app, &s.m, "notify", 2, 24).await;
    let body = json!({"customer": {"email": "mixed@buyer.example"},
                      "items": [{"product_id": s.product_id}, {"product_id": atlas}]});
    let response = app.api(&s.m, Method::POST, "/orders").json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    let url = delivery_url(&order);
    let zip = super::get_from(&app, &format!("{url}/zip"), "203.0.113.1").await;
    assert_eq!(zip.status(), StatusCode::OK);
    zip.bytes().await.unwrap();
    let followed = super::get_from(&app, &format!("{url}/link"), "198.51.100.1").await;
    assert_eq!((followed.status(), followed.headers()["location"].to_str().unwrap()), (StatusCode::FOUND, link));
    // Neither the delivery page nor a HEAD is a download.
    assert_eq!(super::get_from(&app, &url, "192.0.2.1").await.status(), StatusCode::OK);
    let head = app.client.head(format!("{url}/files/1")).header("x-forwarded-for", "192.0.2.2").send().await;
    assert_eq!(head.unwrap().status(), StatusCode::OK);
    let kept: Vec<String> = networks(&app, order["id"].as_str().unwrap()).await.into_iter().map(|r| r.0).collect();
    assert_eq!(kept, ["198.51.100.0/24", "203.0.113.0/24"]);
    assert_eq!(queued(&app, &s.m, &endpoint).await, Vec::<String>::new());
    download_from(&app, &format!("{url}/files/1"), "100.64.0.9", &s.bytes).await;
    assert_eq!(queued(&app, &s.m, &endpoint).await, ["sharing.suspected"], "the third network");
}
