//! Settings for the shop as customers see it: the profile (name, support email, accent colour,
//! logo) in the email, on the delivery page and in the portal; refusals that change nothing;
//! webhook secrets that keep verifying for a day after a rotation; a new API key that a reload
//! does not duplicate; the sender warning.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::json;

use super::{Dashboard, location};
use crate::fulfilment::{buy, delivery_url, orders, post_webhook};
use crate::helpers::{Stack, TestApp, eventually, on_both_stacks, sha256_hex, sign_standard, sign_stripe, unix_now};
use crate::mail::WITHIN;
use satchel::db::merchants;
use satchel::db::shop_profile::{self, ROTATION_GRACE_MS};

on_both_stacks!(
    shop_profile_shows_in_the_email_the_delivery_page_and_the_portal,
    shop_profile_refusals_name_the_field_and_change_nothing,
    rotated_webhook_secrets_verify_for_a_day_then_only_the_new_one,
    a_new_api_key_is_shown_once_after_a_redirect_and_a_reload_makes_no_second,
    settings_warn_about_a_sender_that_will_not_deliver,
);

/// A small PNG: the signature, then bytes no one reads.
pub fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(len, 7);
    bytes
}

/// Form fields.
type Fields<'a> = Vec<(&'a str, &'a str)>;

/// A logo to upload: file name, `Content-Type`, bytes.
pub type Logo<'a> = (&'a str, &'a str, Vec<u8>);

/// Posts the profile form (multipart, CSRF first) with `logo` as `(file name, type, bytes)`.
pub async fn save_profile(dashboard: &Dashboard, fields: &[(&str, &str)], logo: Option<Logo<'_>>) -> reqwest::Response {
    let mut form = Form::new().text("csrf", dashboard.csrf.clone());
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    if let Some((name, mime, bytes)) = logo {
        form = form.part("logo", Part::bytes(bytes).file_name(name.to_owned()).mime_str(mime).unwrap());
    }
    dashboard
        .client
        .post(format!("{}/dashboard/settings/profile", dashboard.address))
        .header("origin", &dashboard.address)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Askama writes `&` as `&#38;`; the tests read it as `&amp;`.
fn amp(html: &str) -> String {
    html.replace("&#38;", "&amp;")
}

const PROFILE: [(&str, &str); 3] =
    [("shop_name", "Pine & Press"), ("support_email", "Help@PinePress.example"), ("accent_colour", "#AA3311")];

async fn shop_profile_shows_in_the_email_the_delivery_page_and_the_portal(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = crate::fulfilment::shop(&app, "Quiet Pine Press", "guide.pdf", vec![1; 2_000]).await;
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;
    let logo = png(5_000);
    let saved = save_profile(&dashboard, &PROFILE, Some(("logo.png", "image/png", logo.clone()))).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/dashboard/settings?notice=profile#profile");
    let logo_path = format!("/brand/logo/{}.png", sha256_hex(&logo));
    let (_, settings) = dashboard.get("/dashboard/settings?notice=profile").await;
    let settings = amp(&settings);
    assert!(settings.contains("Shop profile saved"), "{settings}");
    assert!(settings.contains(r#"value="Pine &amp; Press""#) && settings.contains(r##"value="#aa3311""##));
    assert!(settings.contains(r#"value="help@pinepress.example""#) && settings.contains(&logo_path));

    // The logo and the colour, as served.
    let served = app.client.get(app.url(&logo_path)).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let header = |name: &str| served.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("cache-control").contains("max-age=31536000"), "{}", header("cache-control"));
    assert_eq!(served.bytes().await.unwrap().to_vec(), logo);
    let css = app.client.get(app.url("/brand/accent/aa3311.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains("--shop-accent: #aa3311; --shop-accent-ink: #ffffff;"));
    for bad in ["/brand/accent/red;}body{x.css", "/brand/accent/AA3311.css", "/brand/logo/abc.png"] {
        assert_eq!(app.client.get(app.url(bad)).send().await.unwrap().status(), StatusCode::NOT_FOUND, "{bad}");
    }
    let as_jpeg = format!("/brand/logo/{}.jpeg", sha256_hex(&logo));
    assert_eq!(app.client.get(app.url(&as_jpeg)).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // The email: absolute logo URL with the shop's name as alt text, the colour, the address.
    let order = buy(&app, &shop.m, &shop.product_id, "ada@customer.example").await;
    let id = order["id"].as_str().unwrap().to_owned();
    let raw = eventually(WITHIN, "the purchase email is in the mailbox", || async {
        let detail = crate::fulfilment::order(&app, &shop.m, &id).await;
        let email = detail["emails"][0]["id"].as_str()?.to_owned();
        std::fs::read_to_string(app.state.config.mailbox_dir().join(format!("{email}.eml"))).ok()
    })
    .await;
    let message = satchel::mail::parse::read(&raw);
    let html = amp(&message.html.expect("an HTML part"));
    assert!(html.contains(&format!(r#"<img src="{}" alt="Pine &amp; Press""#, app.url(&logo_path))), "{html}");
    assert!(html.contains("background-color:#aa3311;color:#ffffff;"), "{html}");
    assert!(html.contains(r#"href="mailto:help@pinepress.example""#), "{html}");
    assert!(message.text.unwrap().contains("Questions about your order? Write to help@pinepress.example"));

    // The delivery page and the portal: stylesheet, logo, help address.
    let brand = |html: &str| {
        let html = amp(html);
        html.contains(r#"<link rel="stylesheet" href="/brand/accent/aa3311.css">"#)
            && html.contains(&format!(r#"<img class="shop-brand-logo" src="{logo_path}" alt="Pine &amp; Press">"#))
            && html.contains(r#"<a href="mailto:help@pinepress.example">"#)
    };
    let page = app.client.get(delivery_url(&order)).send().await.unwrap().text().await.unwrap();
    assert!(brand(&page), "delivery page: {page}");
    let portal = app.client.get(app.url(&format!("/portal/{}", shop.m.slug))).send().await.unwrap();
    assert!(brand(&portal.text().await.unwrap()), "portal sign-in");
    let cookie = crate::portal::sign_in(&app, &shop.m, "ada@customer.example").await;
    let (_, purchases) = crate::portal::page(&app, &format!("/portal/{}", shop.m.slug), &cookie).await;
    assert!(crate::portal::signed_in(&purchases) && brand(&purchases), "portal purchases");
    // The expired link's page (410) carries it too.
    let sql = "UPDATE orders SET link_expires_at = 1 WHERE id = $1";
    let id = order["id"].as_str().unwrap();
    crate::portal::on_pool!(&app.state.db, pool => sqlx::query(sql).bind(id).execute(pool).await.unwrap().rows_affected());
    let within = satchel::order_cache::TTL + std::time::Duration::from_secs(3);
    let gone = eventually(within, "the expired link answers 410", || async {
        let response = app.client.get(delivery_url(&order)).send().await.unwrap();
        (response.status() == StatusCode::GONE).then_some(response)
    })
    .await;
    assert!(brand(&gone.text().await.unwrap()), "expired link's page");

    // Removing the logo keeps the rest.
    let mut fields = PROFILE.to_vec();
    fields.push(("remove_logo", "on"));
    assert_eq!(save_profile(&dashboard, &fields, None).await.status(), StatusCode::SEE_OTHER);
    let m = merchants::get(&app.state.db, &shop.m.id).await.unwrap();
    assert_eq!((m.logo_sha256, m.accent_colour.as_deref()), (None, Some("#aa3311")));
}

async fn shop_profile_refusals_name_the_field_and_change_nothing(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Quiet Pine Press").await;
    let dashboard = Dashboard::sign_in(&app, &merchant).await;
    let policy = [("expiry", "7"), ("expiry_unit", "days"), ("max_downloads", "5")];
    assert_eq!(dashboard.post("/dashboard/settings/policy", &policy).await.status(), StatusCode::SEE_OTHER);
    let logo = png(2_000);
    assert_eq!(
        save_profile(&dashboard, &PROFILE, Some(("logo.png", "image/png", logo.clone()))).await.status(),
        StatusCode::SEE_OTHER
    );
    let before = merchants::get(&app.state.db, &merchant.id).await.unwrap();

    let with = |field: &'static str, value: &'static str| {
        PROFILE.iter().map(|&(k, v)| if k == field { (k, value) } else { (k, v) }).collect::<Vec<_>>()
    };
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let html = b"<!doctype html><script>alert(1)</script>\x89PNG\r\n\x1a\n".to_vec();
    let cases: Vec<(&str, Fields, Option<Logo>)> = vec![
        ("accent_colour", with("accent_colour", "red;}body{x"), None),
        ("accent_colour", with("accent_colour", "#aa3311\"><script>"), None),
        ("support_email", with("support_email", "help at pine press"), None),
        ("shop_name", with("shop_name", "  "), None),
        ("logo", PROFILE.to_vec(), Some(("logo.png", "image/png", svg))),
        ("logo", PROFILE.to_vec(), Some(("logo.png", "image/png", html))),
        ("logo", PROFILE.to_vec(), Some(("logo.png", "image/png", png(300 * 1024)))),
        ("logo", PROFILE.to_vec(), Some(("logo.png", "image/png", png(3 * 1024 * 1024)))),
    ];
    for (field, fields, logo) in cases {
        let refused = save_profile(&dashboard, &fields, logo).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        let page = refused.text().await.unwrap();
        assert!(page.contains(&format!(r#"id="{field}-error""#)), "{field}: {page}");
        assert!(page.contains("Nothing was saved"), "{field}");
        assert!(!page.contains("body{x\">") && !page.contains("<script>alert"), "typed text is escaped");
        let after = merchants::get(&app.state.db, &merchant.id).await.unwrap();
        assert_eq!(
            (&after.name, &after.support_email, &after.accent_colour, &after.logo_sha256),
            (&before.name, &before.support_email, &before.accent_colour, &before.logo_sha256),
            "{field}: nothing changed"
        );
        assert_eq!((after.link_expiry_seconds, after.max_downloads_per_file), (Some(7 * 86_400), Some(5)));
    }
    assert_eq!(app.stored_keys("brand/logo").await.len(), 1, "no refused logo was stored");
}

/// Sends a harmless event signed with `secret` to the shop's Standard Webhooks endpoint.
async fn standard_with(app: &TestApp, slug: &str, secret: &str, n: u32) -> StatusCode {
    let body = json!({"type": "customer.created", "data": {}}).to_string();
    let headers = sign_standard(secret, &format!("msg_rotation_{n}"), unix_now(), body.as_bytes()).await;
    post_webhook(app, slug, "standard", &headers, &body).await.status()
}

async fn stripe_with(app: &TestApp, slug: &str, secret: &str, n: u32) -> StatusCode {
    let body = json!({"id": format!("evt_rotation_{n}"), "type": "customer.created", "data": {"object": {}}});
    let body = body.to_string();
    let headers = sign_stripe(secret, unix_now(), body.as_bytes()).await;
    post_webhook(app, slug, "stripe", &headers, &body).await.status()
}

async fn rotated_webhook_secrets_verify_for_a_day_then_only_the_new_one(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Quiet Pine Press").await;
    let dashboard = Dashboard::sign_in(&app, &m).await;
    let old = m.webhook_secret.clone();
    let rotated = dashboard.post("/dashboard/settings/standard-secret/rotate", &[]).await;
    assert_eq!(location(&rotated), "/dashboard/settings?notice=secret-rotated#webhooks");
    let new = merchants::get(&app.state.db, &m.id).await.unwrap().standard_webhook_secret;
    assert!(new.starts_with("whsec_") && new != old);
    assert_eq!(standard_with(&app, &m.slug, &old, 1).await, StatusCode::OK, "the old secret, within the day");
    assert_eq!(standard_with(&app, &m.slug, &new, 2).await, StatusCode::OK, "the new secret");
    let (_, page) = dashboard.get("/dashboard/settings").await;
    assert!(page.contains("The previous secret still works until"), "{page}");

    // A day later (the rotation moved into the past, no waiting).
    let day_ago = satchel::domain::now_millis() - ROTATION_GRACE_MS - 1_000;
    shop_profile::set_rotated_at(&app.state.db, &m.id, "standard", Some(day_ago)).await.unwrap();
    assert_eq!(standard_with(&app, &m.slug, &old, 3).await, StatusCode::UNAUTHORIZED, "the old one no more");
    assert_eq!(standard_with(&app, &m.slug, &new, 4).await, StatusCode::OK);
    let (_, page) = dashboard.get("/dashboard/settings").await;
    assert!(!page.contains("The previous secret still works until"));

    // A secret pasted from the provider replaces it the same way; a bad one changes nothing.
    let bad = dashboard.post("/dashboard/settings/standard-secret", &[("standard_secret", "sk_live_abc")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains(r#"id="standard_secret-error""#));
    let dodo = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let pasted = dashboard.post("/dashboard/settings/standard-secret", &[("standard_secret", dodo)]).await;
    assert_eq!(pasted.status(), StatusCode::SEE_OTHER);
    assert_eq!(standard_with(&app, &m.slug, dodo, 5).await, StatusCode::OK);
    assert_eq!(standard_with(&app, &m.slug, &new, 6).await, StatusCode::OK, "the one before, for a day");
    let ended = dashboard.post("/dashboard/settings/end-rotation", &[("provider", "standard")]).await;
    assert_eq!(location(&ended), "/dashboard/settings?notice=old-secret-ended#webhooks");
    assert_eq!(standard_with(&app, &m.slug, &new, 7).await, StatusCode::UNAUTHORIZED, "ended at once");

    // Stripe: a replaced secret verifies for a day; a removed one stops at once.
    let (a, b) = ("whsec_stripe_first_secret", "whsec_stripe_second_secret");
    for secret in [a, b] {
        let saved = dashboard.post("/dashboard/settings/stripe", &[("stripe_secret", secret)]).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(stripe_with(&app, &m.slug, a, 1).await, StatusCode::OK, "the replaced Stripe secret, within the day");
    assert_eq!(stripe_with(&app, &m.slug, b, 2).await, StatusCode::OK);
    shop_profile::set_rotated_at(&app.state.db, &m.id, "stripe", Some(day_ago)).await.unwrap();
    assert_eq!(stripe_with(&app, &m.slug, a, 3).await, StatusCode::UNAUTHORIZED);
    assert_eq!(stripe_with(&app, &m.slug, b, 4).await, StatusCode::OK);
}

async fn a_new_api_key_is_shown_once_after_a_redirect_and_a_reload_makes_no_second(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Quiet Pine Press").await;
    let dashboard = Dashboard::sign_in(&app, &merchant).await;
    let created = dashboard.post("/dashboard/settings/api-keys", &[("name", "Shop backend")]).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let target = location(&created);
    let keys = satchel::db::api_keys::list(&app.state.db, &merchant.id).await.unwrap();
    let id = &keys.iter().find(|k| k.name == "Shop backend").expect("made").id;
    assert_eq!(target, format!("/dashboard/settings?new_key={id}#new-key"), "the key is not in the URL");

    // The browser follows the redirect (the fragment stays in the browser).
    let path = target.split('#').next().unwrap();
    let (status, page) = dashboard.get(path).await;
    assert_eq!(status, StatusCode::OK);
    let start = page.find(r#"id="new-key">"#).expect("the new key is shown") + 13;
    let key = page[start..].split('<').next().unwrap().to_owned();
    assert!(key.starts_with("sk_") && key.len() > 40, "{key}");
    assert!(page.find("new-key").unwrap() < page.find(r#"id="profile""#).unwrap(), "at the top of the page");
    let products = app.client.get(app.url("/api/v1/products")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(products.status(), StatusCode::OK, "the shown key works");

    // Reloading shows the page again: no second key, and the key is not shown twice.
    for _ in 0..2 {
        let (status, again) = dashboard.get(path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!again.contains(&key) && again.contains("already shown once"), "{again}");
    }
    let count = satchel::db::api_keys::list(&app.state.db, &merchant.id).await.unwrap().len();
    assert_eq!(count, 2, "the test's own key and the one made");
    // Another shop's session cannot open it either.
    let other = app.merchant("Other Shop").await;
    let theirs = Dashboard::sign_in(&app, &other).await;
    let (_, page) = theirs.get(path).await;
    assert!(!page.contains(r#"id="new-key">sk_"#), "another shop sees no key");
}

async fn settings_warn_about_a_sender_that_will_not_deliver(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Quiet Pine Press").await;
    let dashboard = Dashboard::sign_in(&app, &merchant).await;
    let (_, page) = dashboard.get("/dashboard/settings").await;
    assert!(page.contains("Your emails use this default now"), "{page}");
    assert!(page.contains("Email from satchel@localhost will probably not reach your customers"), "{page}");
    let sender = [("sender_name", "Pine Press"), ("sender_email", "orders@pinepress.co.uk")];
    assert_eq!(dashboard.post("/dashboard/settings/sender", &sender).await.status(), StatusCode::SEE_OTHER);
    let (_, page) = dashboard.get("/dashboard/settings").await;
    assert!(!page.contains("will probably not reach") && !page.contains("Your emails use this default now"));
    let sender = [("sender_name", ""), ("sender_email", "shop@example.com")];
    assert_eq!(dashboard.post("/dashboard/settings/sender", &sender).await.status(), StatusCode::SEE_OTHER);
    let (_, page) = dashboard.get("/dashboard/settings").await;
    assert!(page.contains("Email from shop@example.com will probably not reach your customers"));
    assert!(orders(&app, &merchant).await.is_empty());
}
