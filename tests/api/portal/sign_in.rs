//! Signing in: codes, magic links, expiry, wrong tries, limits, unknown addresses, cookies.

use reqwest::StatusCode;

use super::{
    code_for, cookie_pair, enter_code, links, on_pool, page, post_form, purchase, request_code, set_cookie, shop,
    sign_in, signed_in, without_tokens,
};
use crate::helpers::{Stack, TestApp, on_both_stacks};
use crate::mail::unique_address;

on_both_stacks!(
    portal_code_signs_in_with_a_safe_session_cookie,
    portal_cookie_is_secure_when_served_over_https,
    portal_magic_link_signs_in_once,
    portal_codes_expire_after_15_minutes,
    portal_six_wrong_codes_lock_the_code,
    portal_code_requests_are_limited_per_email_and_per_ip,
    portal_unknown_email_gets_the_same_page_and_no_email,
    portal_sign_out_ends_the_session,
    portal_sign_in_email_that_expires_unsent_is_given_up,
    portal_forms_posted_from_another_site_are_refused,
);

async fn portal_forms_posted_from_another_site_are_refused(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;
    let url = app.url("/portal/acme-books/sign-in");
    let forged = app.client.post(&url).header("origin", "https://evil.example").form(&[("email", email.as_str())]);
    assert_eq!(forged.send().await.unwrap().status(), StatusCode::FORBIDDEN, "a form on another site");
    let forged = app.client.post(&url).header("sec-fetch-site", "cross-site").form(&[("email", email.as_str())]);
    assert_eq!(forged.send().await.unwrap().status(), StatusCode::FORBIDDEN, "the browser says cross-site");
    let sql = "SELECT COUNT(*) FROM sign_in_codes WHERE merchant_id = $1";
    let (codes,): (i64,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&shop.m.id).fetch_one(pool).await.unwrap());
    assert_eq!(codes, 0, "no code was made for a forged request");
    assert_eq!(request_code(&app, &shop.m.slug, &email).await.status(), StatusCode::OK, "the portal's own form works");
}

async fn portal_code_signs_in_with_a_safe_session_cookie(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;
    let (status, html) = page(&app, "/portal/acme-books", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<label for=\"email\">") && !signed_in(&html), "signed out: the sign-in form");

    let asked = request_code(&app, &shop.m.slug, &email.to_uppercase()).await;
    assert_eq!(asked.status(), StatusCode::OK);
    let html = asked.text().await.unwrap();
    assert!(html.contains("Check your email") && html.contains("6-digit code"), "{html}");
    let code = code_for(&app, &shop.m.id, &email).await;
    let response = enter_code(&app, &shop.m.slug, &email, &format!("{} {}", &code[..3], &code[3..])).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/portal/acme-books");
    let cookie = set_cookie(&response).unwrap();
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"HttpOnly"), "{cookie}");
    assert!(attributes.contains(&"SameSite=Lax"), "{cookie}");
    assert!(attributes.contains(&"Path=/portal/acme-books"), "{cookie}");
    assert!(!attributes.contains(&"Secure"), "plain http: not Secure, or the browser would drop it: {cookie}");

    let (status, html) = page(&app, "/portal/acme-books", &cookie_pair(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(signed_in(&html) && html.contains(&email), "{html}");
    // The code is single use.
    let again = enter_code(&app, &shop.m.slug, &email, &code).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookie(&again).is_none());
    // The session is stored as a customer session with a 30-day expiry.
    let sql = "SELECT kind, expires_at - created_at FROM sessions WHERE merchant_id = $1";
    let (kind, lifetime): (String, i64) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&shop.m.id).fetch_one(pool).await.unwrap());
    assert_eq!((kind.as_str(), lifetime), ("customer", 30 * 24 * 3600 * 1000));
}

async fn portal_cookie_is_secure_when_served_over_https(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| c.server.public_url = Some("https://shop.example".into())).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;
    request_code(&app, &shop.m.slug, &email).await;
    let code = code_for(&app, &shop.m.id, &email).await;
    let cookie = set_cookie(&enter_code(&app, &shop.m.slug, &email, &code).await).unwrap();
    assert!(cookie.split(';').map(str::trim).any(|a| a == "Secure"), "{cookie}");
}

/// Sets `column` of the customer's newest sign-in code (times are backdated, never slept).
async fn set_code_column(app: &TestApp, merchant_id: &str, column: &str, value: i64) {
    let sql = format!(
        "UPDATE sign_in_codes SET {column} = $1 WHERE merchant_id = $2 AND created_at = \
         (SELECT MAX(created_at) FROM sign_in_codes WHERE merchant_id = $2)"
    );
    let sql = sqlx::AssertSqlSafe(sql);
    on_pool!(&app.state.db, pool => { sqlx::query(sql).bind(value).bind(merchant_id).execute(pool).await.unwrap(); });
}

/// The magic link of the newest code, as the email carries it.
fn magic_link(app: &TestApp, slug: &str, salt: &str) -> String {
    let token = satchel::domain::MagicLinkToken::derive(&app.state.secrets.key(), salt);
    format!("/portal/{slug}/sign-in/{}", token.expose())
}

async fn newest_salt(app: &TestApp, merchant_id: &str) -> String {
    let sql = "SELECT salt FROM sign_in_codes WHERE merchant_id = $1 ORDER BY created_at DESC LIMIT 1";
    let (salt,): (String,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(merchant_id).fetch_one(pool).await.unwrap());
    salt
}

async fn portal_magic_link_signs_in_once(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;
    request_code(&app, &shop.m.slug, &email).await;
    let link = magic_link(&app, &shop.m.slug, &newest_salt(&app, &shop.m.id).await);

    // Opening the link (as a mail scanner would) signs nobody in and uses nothing up.
    for _ in 0..2 {
        let (status, html) = page(&app, &link, "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Continue to my purchases") && links(&html, "/sign-in/").is_empty(), "{html}");
    }
    let used = post_form(&app, &app.url(&link), &[]).await;
    assert_eq!(used.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_pair(&set_cookie(&used).unwrap());
    assert!(signed_in(&page(&app, "/portal/acme-books", &cookie).await.1));

    let again = post_form(&app, &app.url(&link), &[]).await;
    assert_eq!(again.status(), StatusCode::GONE, "a magic link works once");
    assert!(set_cookie(&again).is_none());
    let html = again.text().await.unwrap();
    assert!(html.contains("Ask for a new link"), "{html}");
    assert_eq!(page(&app, &link, "").await.0, StatusCode::GONE);

    // A new link, then 15 minutes pass.
    request_code(&app, &shop.m.slug, &email).await;
    let link = magic_link(&app, &shop.m.slug, &newest_salt(&app, &shop.m.id).await);
    set_code_column(&app, &shop.m.id, "expires_at", satchel::domain::now_millis() - 1).await;
    let late = post_form(&app, &app.url(&link), &[]).await;
    assert_eq!(late.status(), StatusCode::GONE, "expired after 15 minutes");
    assert!(set_cookie(&late).is_none());
    // A link of one shop opens nothing at another.
    let other = app.merchant("Other Shop").await;
    let moved = link.replace("/portal/acme-books/", &format!("/portal/{}/", other.slug));
    request_code(&app, &shop.m.slug, &email).await;
    let fresh = magic_link(&app, &shop.m.slug, &newest_salt(&app, &shop.m.id).await);
    let moved_fresh = fresh.replace("/portal/acme-books/", &format!("/portal/{}/", other.slug));
    assert_eq!(post_form(&app, &app.url(&moved), &[]).await.status(), StatusCode::GONE);
    assert_eq!(post_form(&app, &app.url(&moved_fresh), &[]).await.status(), StatusCode::GONE);
}

async fn portal_codes_expire_after_15_minutes(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;
    request_code(&app, &shop.m.slug, &email).await;
    let code = code_for(&app, &shop.m.id, &email).await;
    let sql = "SELECT expires_at - created_at FROM sign_in_codes WHERE merchant_id = $1";
    let (lifetime,): (i64,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&shop.m.id).fetch_one(pool).await.unwrap());
    assert_eq!(lifetime, 15 * 60 * 1000);
    set_code_column(&app, &shop.m.id, "expires_at", satchel::domain::now_millis() - 1).await;
    let late = enter_code(&app, &shop.m.slug, &email, &code).await;
    assert_eq!(late.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookie(&late).is_none());
    assert!(late.text().await.unwrap().contains("ask for a new code"));
}

async fn portal_six_wrong_codes_lock_the_code(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;
    request_code(&app, &shop.m.slug, &email).await;
    let code = code_for(&app, &shop.m.id, &email).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    for attempt in 1..=5 {
        let response = enter_code(&app, &shop.m.slug, &email, &wrong).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "wrong try {attempt}");
        assert!(response.text().await.unwrap().contains("That code is not right"));
    }
    let sixth = enter_code(&app, &shop.m.slug, &email, &wrong).await;
    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
    let right = enter_code(&app, &shop.m.slug, &email, &code).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS, "locked: even the right code fails");
    assert!(set_cookie(&right).is_none());
    let html = right.text().await.unwrap();
    assert!(html.contains("Too many wrong codes") && html.contains("Ask for a new code"), "{html}");
    // A new code works.
    request_code(&app, &shop.m.slug, &email).await;
    let fresh = code_for(&app, &shop.m.id, &email).await;
    assert_eq!(enter_code(&app, &shop.m.slug, &email, &fresh).await.status(), StatusCode::SEE_OTHER);
    // The old one is gone for good.
    let old = enter_code(&app, &shop.m.slug, &email, &code).await;
    assert_eq!(old.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(old.text().await.unwrap().contains("That code is not right"));

    // An address with no code locks the same way, so locking tells nothing about who bought.
    let stranger = unique_address("stranger");
    request_code(&app, &shop.m.slug, &stranger).await;
    for _ in 1..=5 {
        let response = enter_code(&app, &shop.m.slug, &stranger, &wrong).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(enter_code(&app, &shop.m.slug, &stranger, &wrong).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn portal_code_requests_are_limited_per_email_and_per_ip(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;
    for n in 1..=5 {
        assert_eq!(request_code(&app, &shop.m.slug, &email).await.status(), StatusCode::OK, "request {n}");
    }
    let limited = request_code(&app, &shop.m.slug, &email).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    let html = limited.text().await.unwrap();
    assert!(html.contains("use the newest email") && html.contains("minutes"), "{html}");
    // The same limit for an address that never bought: nothing to tell them apart.
    let stranger = unique_address("stranger");
    for _ in 1..=5 {
        assert_eq!(request_code(&app, &shop.m.slug, &stranger).await.status(), StatusCode::OK);
    }
    assert_eq!(request_code(&app, &shop.m.slug, &stranger).await.status(), StatusCode::TOO_MANY_REQUESTS);

    // Per IP: 20 requests in the window whatever the addresses (12 made above).
    for n in 13..=20 {
        let address = unique_address("many");
        assert_eq!(request_code(&app, &shop.m.slug, &address).await.status(), StatusCode::OK, "request {n}");
    }
    let limited = request_code(&app, &shop.m.slug, &unique_address("one-more")).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.text().await.unwrap().contains("from your network"));
}

async fn portal_unknown_email_gets_the_same_page_and_no_email(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let customer = unique_address("ada");
    let stranger = unique_address("eve");
    purchase(&app, &shop, &customer).await;
    let known = request_code(&app, &shop.m.slug, &customer).await;
    let unknown = request_code(&app, &shop.m.slug, &stranger).await;
    assert_eq!(known.status(), unknown.status());
    let known_headers: Vec<String> = known.headers().keys().map(|k| k.to_string()).filter(|k| k != "date").collect();
    let unknown_headers: Vec<String> =
        unknown.headers().keys().map(|k| k.to_string()).filter(|k| k != "date").collect();
    assert_eq!(known_headers, unknown_headers);
    let known = without_tokens(&known.text().await.unwrap()).replace(&customer, "EMAIL");
    let unknown = without_tokens(&unknown.text().await.unwrap()).replace(&stranger, "EMAIL");
    assert_eq!(known, unknown, "the same page for a customer and a stranger");

    // The customer's sign-in email is queued (beside the purchase email); the stranger's is not.
    let sql = "SELECT to_address, kind FROM emails WHERE merchant_id = $1 ORDER BY created_at";
    let emails: Vec<(String, String)> =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&shop.m.id).fetch_all(pool).await.unwrap());
    assert!(emails.contains(&(customer.clone(), "sign_in".to_owned())), "{emails:?}");
    assert!(emails.iter().all(|(to, _)| to != &stranger), "{emails:?}");
    // The same answer to a code typed for either.
    let a = enter_code(&app, &shop.m.slug, &customer, "000000").await;
    let b = enter_code(&app, &shop.m.slug, &stranger, "000000").await;
    assert_eq!(a.status(), b.status());
    let a = without_tokens(&a.text().await.unwrap()).replace(&customer, "EMAIL");
    let b = without_tokens(&b.text().await.unwrap()).replace(&stranger, "EMAIL");
    if code_for(&app, &shop.m.id, &customer).await != "000000" {
        assert_eq!(a, b);
    }
}

async fn portal_sign_out_ends_the_session(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;
    let cookie = sign_in(&app, &shop.m, &email).await;
    assert!(signed_in(&page(&app, "/portal/acme-books", &cookie).await.1));
    let out = app.client.post(app.url("/portal/acme-books/sign-out")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let cleared = set_cookie(&out).expect("the cookie is cleared");
    assert!(cleared.starts_with("satchel_portal=;") && cleared.contains("Path=/portal/acme-books"), "{cleared}");
    // The old cookie, kept by someone, no longer signs in: the session ended in the database.
    let (status, html) = page(&app, "/portal/acme-books", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!signed_in(&html) && html.contains("Email me a code"), "{html}");
}

async fn portal_sign_in_email_that_expires_unsent_is_given_up(stack: Stack) {
    // Nothing listens on the SMTP port: every attempt fails and is retried a second later.
    let reserved = crate::helpers::ReservedPort::new();
    let port = reserved.port();
    let app = TestApp::spawn_with(stack, |c| crate::mail::send_to(c, port)).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;
    request_code(&app, &shop.m.slug, &email).await;
    let sql =
        "SELECT status, attempts, COALESCE(last_error, '') FROM emails WHERE to_address = $1 AND kind = 'sign_in'";
    let row = || async {
        let row: (String, i64, String) =
            on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&email).fetch_one(pool).await.unwrap());
        row
    };
    crate::helpers::eventually(std::time::Duration::from_secs(30), "a failed attempt", || async {
        let (status, attempts, _) = row().await;
        (status == "retrying" && attempts >= 1).then_some(())
    })
    .await;
    // Fifteen minutes pass before the mail server is back: sending the code then helps no one.
    set_code_column(&app, &shop.m.id, "expires_at", satchel::domain::now_millis() - 1).await;
    let (_, _, error) = crate::helpers::eventually(std::time::Duration::from_secs(30), "given up", || async {
        let row = row().await;
        (row.0 == "failed").then_some(row)
    })
    .await;
    assert!(error.contains("expired before it could be sent"), "{error}");
}
