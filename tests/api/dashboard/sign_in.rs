//! Signing in and out of the dashboard, and the CSRF wall around every change.

use reqwest::StatusCode;

use super::{Dashboard, PASSWORD, browser, location, owner_email};
use crate::helpers::{Stack, TestApp, on_both_stacks};

on_both_stacks!(
    dashboard_pages_need_a_session_and_the_right_password,
    forms_from_another_origin_or_without_the_token_are_refused,
    repeated_wrong_passwords_are_slowed_down
);

async fn dashboard_pages_need_a_session_and_the_right_password(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let client = browser();

    let response = client.get(app.url("/dashboard/orders?status=paid")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard/sign-in?next=%2Fdashboard%2Forders%3Fstatus%3Dpaid");

    let wrong = client
        .post(app.url("/dashboard/sign-in"))
        .form(&[("email", owner_email(&merchant).as_str()), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none(), "no session for a wrong password");
    assert!(wrong.text().await.unwrap().contains("That email and password don"));

    let unknown = client
        .post(app.url("/dashboard/sign-in"))
        .form(&[("email", "nobody@nowhere.example"), ("password", PASSWORD)])
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
        .form(&[("email", owner_email(&merchant).as_str()), ("password", PASSWORD), ("next", "https://evil.example/")])
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

async fn repeated_wrong_passwords_are_slowed_down(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let client = browser();
    let email = owner_email(&merchant);
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let response = client
            .post(app.url("/dashboard/sign-in"))
            .form(&[("email", email.as_str()), ("password", "guess guess guess")])
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().get("retry-after").is_some());
            assert!(response.text().await.unwrap().contains("Too many sign-in attempts"));
        }
    }
    assert!(statuses[..10].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    let right = client
        .post(app.url("/dashboard/sign-in"))
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits out the cool-down");
}
