//! Signing in and out of the dashboard, and the CSRF wall around every change.

use reqwest::StatusCode;

use super::{Dashboard, PASSWORD, browser, location, owner_email, sign_in_token};
use crate::helpers::{Stack, TestApp, on_both_stacks};

on_both_stacks!(
    dashboard_pages_need_a_session_and_the_right_password,
    forms_from_another_origin_or_without_the_token_are_refused,
    wrong_passwords_lock_out_only_the_client_that_tried_them,
    a_next_with_control_characters_goes_to_the_dashboard,
    the_sign_in_form_needs_its_page_token
);

async fn dashboard_pages_need_a_session_and_the_right_password(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let client = browser();

    let response = client.get(app.url("/dashboard/orders?status=paid")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard/sign-in?next=%2Fdashboard%2Forders%3Fstatus%3Dpaid");

    let token = sign_in_token(&client, &app).await;
    let wrong = client
        .post(app.url("/dashboard/sign-in"))
        .form(&[("email", owner_email(&merchant).as_str()), ("password", "not the password"), ("form_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none(), "no session for a wrong password");
    assert!(wrong.text().await.unwrap().contains("That email and password don"));

    let unknown = client
        .post(app.url("/dashboard/sign-in"))
        .form(&[("email", "nobody@nowhere.example"), ("password", PASSWORD), ("form_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED, "unknown addresses get the same answer");

    let right = client
        .post(app.url("/dashboard/sign-in"))
        .form(&[
            ("email", owner_email(&merchant).to_uppercase().as_str()),
            ("password", PASSWORD),
            ("next", "/dashboard/orders?status=paid"),
            ("form_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&right), "/dashboard/orders?status=paid", "back where the merchant was going");
    let cookie = right.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    for attribute in ["satchel_dashboard=", "HttpOnly", "SameSite=Lax", "Path=/dashboard"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http here; Secure only when served over https");

    let home = client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("/webhooks/lamplight-audio/standard"), "webhook URL on the overview");

    let offsite = client
        .post(app.url("/dashboard/sign-in"))
        .form(&[
            ("email", owner_email(&merchant).as_str()),
            ("password", PASSWORD),
            ("next", "https://evil.example/"),
            ("form_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&offsite), "/dashboard", "never redirected off the dashboard");
}

async fn forms_from_another_origin_or_without_the_token_are_refused(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let dashboard = Dashboard::sign_in(&app, &merchant).await;
    let sign_out = format!("{}/dashboard/sign-out", app.address);

    let cross_site = dashboard
        .client
        .post(&sign_out)
        .header("origin", "https://evil.example")
        .form(&[("csrf", dashboard.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN, "another origin, even with the token");
    let fetch_metadata = dashboard
        .client
        .post(&sign_out)
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", dashboard.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(fetch_metadata.status(), StatusCode::FORBIDDEN, "the browser says cross-site");
    let no_token =
        dashboard.client.post(&sign_out).header("origin", &app.address).form(&[("x", "y")]).send().await.unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN, "same origin but no token");
    let wrong_token = dashboard.client.post(&sign_out).form(&[("csrf", "forged")]).send().await.unwrap();
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);
    assert_eq!(dashboard.get("/dashboard").await.0, StatusCode::OK, "still signed in after the refusals");

    let signed_out = dashboard.post("/dashboard/sign-out", &[]).await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_out), "/dashboard/sign-in?signed_out=1");
    let after = dashboard.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "the session ended");

    let forged_sign_in = browser()
        .post(app.url("/dashboard/sign-in"))
        .header("origin", "https://evil.example")
        .form(&[("email", owner_email(&merchant).as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged_sign_in.status(), StatusCode::FORBIDDEN, "no signing browsers into a shop from elsewhere");
}

/// Posts the sign-in form as the browser behind `client_ip` (the app trusts one proxy), with
/// a fresh page's token.
async fn attempt(app: &TestApp, client_ip: &str, email: &str, password: &str) -> reqwest::Response {
    let client = browser();
    let token = sign_in_token(&client, app).await;
    client
        .post(app.url("/dashboard/sign-in"))
        .header("x-forwarded-for", client_ip)
        .form(&[("email", email), ("password", password), ("form_token", &token)])
        .send()
        .await
        .unwrap()
}

async fn wrong_passwords_lock_out_only_the_client_that_tried_them(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| c.server.trusted_proxies = 1).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let email = owner_email(&merchant);
    let (attacker, owner, regular) = ("203.0.113.66", "198.51.100.7", "192.0.2.20");

    for n in 1..=10 {
        let status = attempt(&app, attacker, &email, "guess guess guess").await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong try {n}");
    }
    let limited = attempt(&app, attacker, &email, "guess guess guess").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().get("retry-after").is_some());
    assert!(limited.text().await.unwrap().contains("Too many sign-in attempts"));
    let status = attempt(&app, attacker, &email, PASSWORD).await.status();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the guessing client waits, even with the password");

    let signed_in = attempt(&app, owner, &email, PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "the owner, elsewhere, is not locked out");

    // Signing in uses up no tries: after three sign-ins, ten wrong passwords are still allowed.
    for _ in 0..3 {
        assert_eq!(attempt(&app, regular, &email, PASSWORD).await.status(), StatusCode::SEE_OTHER);
    }
    for n in 1..=10 {
        let status = attempt(&app, regular, &email, "typo typo typo").await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong try {n} after signing in");
    }
    assert_eq!(attempt(&app, regular, &email, "typo").await.status(), StatusCode::TOO_MANY_REQUESTS);

    // One client spraying passwords over many accounts: 30 failures in all, then it waits.
    for n in 11..=30 {
        let status = attempt(&app, attacker, &format!("user{n}@lamplight.example"), "guess").await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "failure {n} from the attacker");
    }
    let sprayed = attempt(&app, attacker, "someone-else@lamplight.example", "guess").await.status();
    assert_eq!(sprayed, StatusCode::TOO_MANY_REQUESTS, "30 failures from one client, whatever the accounts");
    assert_eq!(attempt(&app, attacker, &email, PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt(&app, owner, &email, PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

async fn a_next_with_control_characters_goes_to_the_dashboard(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let form = app.client.get(app.url("/dashboard/sign-in?next=/dashboard%0A")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains(r#"name="next" value="/dashboard""#));
    for next in ["/dashboard\n", "/dashboard\r\nSet-Cookie: x=y", "/dashboard\t", "/dashboard\u{7f}", "/dashboard/é"] {
        let client = browser();
        let token = sign_in_token(&client, &app).await;
        let response = client
            .post(app.url("/dashboard/sign-in"))
            .form(&[
                ("email", owner_email(&merchant).as_str()),
                ("password", PASSWORD),
                ("next", next),
                ("form_token", &token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location(&response), "/dashboard", "{next:?}");
    }
}

async fn the_sign_in_form_needs_its_page_token(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let email = owner_email(&merchant);
    let fields = |token: &str| {
        vec![("email", email.clone()), ("password", PASSWORD.to_owned()), ("form_token", token.to_owned())]
    };
    let expired = "This sign-in form has expired or did not come from this page";

    // No token and no Origin (a form elsewhere, in a browser that does not say where from).
    let client = browser();
    let bare = client.post(app.url("/dashboard/sign-in")).form(&fields("")[..2]).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    let cookies: Vec<_> = bare.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(cookies.iter().all(|c| !c.starts_with("satchel_dashboard=")), "no session: {cookies:?}");
    let html = bare.text().await.unwrap();
    assert!(html.contains("<h1>Sign in</h1>") && html.contains(expired) && html.contains(&email), "{html}");

    // Another browser's token with this browser's cookie.
    let other = browser();
    let theirs = sign_in_token(&other, &app).await;
    let _ours = sign_in_token(&client, &app).await;
    let swapped = client.post(app.url("/dashboard/sign-in")).form(&fields(&theirs)).send().await.unwrap();
    assert_eq!(swapped.status(), StatusCode::FORBIDDEN);
    let forged = client.post(app.url("/dashboard/sign-in")).form(&fields("1.forged")).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // The refused page carries a token that works, as does a freshly opened page.
    let retry = crate::portal::form_token_of(&forged.text().await.unwrap());
    let signed_in = client.post(app.url("/dashboard/sign-in")).form(&fields(&retry)).send().await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let token = sign_in_token(&other, &app).await;
    assert_eq!(
        other.post(app.url("/dashboard/sign-in")).form(&fields(&token)).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}
