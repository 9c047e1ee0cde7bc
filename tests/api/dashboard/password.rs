//! Dashboard passwords: changing one in Settings, `satchel merchant reset-password`, and
//! "Forgot password?" by email through the outbox (read back from maildev).

use reqwest::StatusCode;

use super::{Dashboard, PASSWORD, browser, location, owner_email, sign_in_token};
use crate::helpers::{Stack, TestApp, TestMerchant, on_both_stacks};
use crate::mail::{Maildev, links, send_to, smtp_port};
use crate::portal::{form_token_of, on_pool};

on_both_stacks!(
    changing_the_password_needs_the_current_one_and_signs_out_other_sessions,
    the_command_line_prints_a_new_password_and_ends_every_session,
    a_forgotten_password_is_reset_through_an_emailed_link_once,
    asking_for_a_reset_tells_nothing_and_is_limited,
    reset_links_expire_and_reset_emails_stay_out_of_the_mailbox_page
);

/// A merchant whose owner's address no other test uses (maildev is shared).
async fn unique_merchant(app: &TestApp, tag: &str) -> TestMerchant {
    app.merchant(&format!("{tag} {}", &uuid::Uuid::new_v4().simple().to_string()[..10])).await
}

/// Signs in with `password` as `email` from a fresh browser: the response.
async fn try_sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let client = browser();
    let token = sign_in_token(&client, app).await;
    let fields = [("email", email), ("password", password), ("form_token", &token)];
    client.post(app.url("/dashboard/sign-in")).form(&fields).send().await.unwrap()
}

async fn changing_the_password_needs_the_current_one_and_signs_out_other_sessions(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = app.merchant("Lamplight Audio").await;
    let here = Dashboard::sign_in(&app, &shop).await;
    let elsewhere = Dashboard::sign_in(&app, &shop).await;
    let (status, html) = here.get("/dashboard/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"href="/dashboard/settings/password""#), "Settings links to the form");
    let (status, html) = here.get("/dashboard/settings/password").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"name="current_password""#), "{html}");

    let new = "a much better passphrase";
    let wrong = here
        .post(
            "/dashboard/settings/password",
            &[("current_password", "not it at all"), ("new_password", new), ("confirm_password", new)],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = wrong.text().await.unwrap();
    assert!(
        html.contains(r#"<p class="field-error" id="current_password-error">That is not your current password.</p>"#)
    );
    let short = here
        .post(
            "/dashboard/settings/password",
            &[("current_password", PASSWORD), ("new_password", "short"), ("confirm_password", "short")],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().await.unwrap().contains(">Use at least 10 characters.</p>"));
    let differ = here
        .post(
            "/dashboard/settings/password",
            &[("current_password", PASSWORD), ("new_password", new), ("confirm_password", "a much better passphrasE")],
        )
        .await;
    assert_eq!(differ.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(differ.text().await.unwrap().contains("The two new passwords differ."));
    assert_eq!(elsewhere.get("/dashboard").await.0, StatusCode::OK, "refusals changed nothing");
    let forged = here
        .client
        .post(app.url("/dashboard/settings/password"))
        .header("origin", &app.address)
        .form(&[("current_password", PASSWORD), ("new_password", new), ("confirm_password", new)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no CSRF token, no change");

    let changed = here
        .post(
            "/dashboard/settings/password",
            &[("current_password", PASSWORD), ("new_password", new), ("confirm_password", new)],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&changed), "/dashboard/settings?notice=password-changed");
    let (status, html) = here.get("/dashboard/settings?notice=password-changed").await;
    assert_eq!(status, StatusCode::OK, "this session stays signed in");
    assert!(html.contains("Password changed. Your other sessions were signed out."));
    let gone = elsewhere.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::SEE_OTHER, "the other session was signed out");
    assert_eq!(location(&gone), "/dashboard/sign-in?next=%2Fdashboard");

    let old = try_sign_in(&app, &owner_email(&shop), PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED, "the old password no longer works");
    let fresh = try_sign_in(&app, &owner_email(&shop), new).await;
    assert_eq!(fresh.status(), StatusCode::SEE_OTHER, "the new one does");
}

async fn the_command_line_prints_a_new_password_and_ends_every_session(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = app.merchant("Night Owl Press").await;
    let signed_in = Dashboard::sign_in(&app, &shop).await;
    let url = app.state.config.database_url();
    let run = |who: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_satchel"))
            .args(["--database-url", &url, "merchant", "reset-password", "--merchant", who])
            .env_remove("SATCHEL_CONFIG")
            .output()
            .expect("satchel runs")
    };
    let unknown = run("nobody-here");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("error: no merchant nobody-here"));

    let reset = run(&shop.slug);
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
    let stdout = String::from_utf8(reset.stdout).unwrap();
    assert!(stdout.starts_with(&format!("New dashboard password for {}\n", owner_email(&shop))), "{stdout}");
    let password = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("password:"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("a password is printed: {stdout}"))
        .to_owned();
    assert!(password.len() >= 20, "{password}");
    assert_eq!(signed_in.client.get(app.url("/dashboard")).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(try_sign_in(&app, &owner_email(&shop), PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(try_sign_in(&app, &owner_email(&shop), &password).await.status(), StatusCode::SEE_OTHER);

    // By sign-in address too, and each run prints another password.
    let again = run(&owner_email(&shop).to_uppercase());
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(!String::from_utf8(again.stdout).unwrap().contains(&password));
    assert_eq!(try_sign_in(&app, &owner_email(&shop), &password).await.status(), StatusCode::UNAUTHORIZED);
}

/// Asks for a reset link for `email` from `client` (which keeps the form cookie).
async fn ask_for_reset(app: &TestApp, client: &reqwest::Client, email: &str) -> reqwest::Response {
    let page = client.get(app.url("/dashboard/forgot-password")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let token = form_token_of(&page.text().await.unwrap());
    client
        .post(app.url("/dashboard/forgot-password"))
        .header("origin", &app.address)
        .form(&[("email", email), ("form_token", &token)])
        .send()
        .await
        .unwrap()
}

/// Posts a new password to a reset link's form, as the page does.
async fn set_password(
    app: &TestApp,
    client: &reqwest::Client,
    link: &str,
    new: &str,
    again: &str,
) -> reqwest::Response {
    // A used or expired link's page has no form: the form token (bound to the browser's form
    // cookie, not to a page) comes from the forgot-password page then.
    let page = client.get(link).send().await.unwrap().text().await.unwrap();
    let page = match page.contains(r#"name="form_token""#) {
        true => page,
        false => client.get(app.url("/dashboard/forgot-password")).send().await.unwrap().text().await.unwrap(),
    };
    let token = form_token_of(&page);
    client
        .post(link)
        .header("origin", &app.address)
        .form(&[("new_password", new), ("confirm_password", again), ("form_token", &token)])
        .send()
        .await
        .unwrap()
}

async fn a_forgotten_password_is_reset_through_an_emailed_link_once(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = unique_merchant(&app, "Forgetful Books").await;
    let email = owner_email(&shop);
    let signed_in = Dashboard::sign_in(&app, &shop).await;
    let client = browser();
    let sign_in = client.get(app.url("/dashboard/sign-in")).send().await.unwrap().text().await.unwrap();
    assert!(sign_in.contains(r#"<a href="/dashboard/forgot-password">Forgot password?</a>"#));

    let asked = ask_for_reset(&app, &client, &email.to_uppercase()).await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(asked.text().await.unwrap().contains("a link to choose a new password is on its way to it"));
    let mail = Maildev::shared().wait_for(&email, 1).await;
    assert_eq!(mail[0]["subject"], format!("Reset your {} dashboard password", shop_name(&app, &shop).await));
    let link = links(&mail[0], &format!("{}/dashboard/reset-password/", app.address));
    assert_eq!(link.len(), 1, "one link in {}", mail[0]["text"]);
    let link = &link[0];

    let opened = client.get(link).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::OK, "looking at the link uses nothing up");
    let mismatch = set_password(&app, &client, link, "brand new passphrase", "brand new passphrasE").await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.text().await.unwrap().contains(">The two passwords differ. Type the new password twice.</p>"));
    let short = set_password(&app, &client, link, "tiny", "tiny").await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().await.unwrap().contains(">Use at least 10 characters.</p>"));
    assert_eq!(signed_in.get("/dashboard").await.0, StatusCode::OK, "refusals changed nothing");

    let done = set_password(&app, &client, link, "brand new passphrase", "brand new passphrase").await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/dashboard/sign-in?password_reset=1");
    let notice = client.get(app.url("/dashboard/sign-in?password_reset=1")).send().await.unwrap().text().await.unwrap();
    assert!(notice.contains("Your password was changed. Sign in with the new one."));
    assert_eq!(signed_in.client.get(app.url("/dashboard")).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(try_sign_in(&app, &email, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(try_sign_in(&app, &email, "brand new passphrase").await.status(), StatusCode::SEE_OTHER);

    let reused = set_password(&app, &client, link, "someone else's pick", "someone else's pick").await;
    assert_eq!(reused.status(), StatusCode::GONE, "a link works once");
    assert!(reused.text().await.unwrap().contains("This link no longer works"));
    assert_eq!(client.get(link).send().await.unwrap().status(), StatusCode::GONE);
    assert_eq!(try_sign_in(&app, &email, "brand new passphrase").await.status(), StatusCode::SEE_OTHER);
    let tampered = format!("{}A", &link[..link.len() - 1]);
    assert_eq!(client.get(&tampered).send().await.unwrap().status(), StatusCode::GONE);
}

async fn shop_name(app: &TestApp, shop: &TestMerchant) -> String {
    satchel::db::merchants::get(&app.state.db, &shop.id).await.unwrap().name
}

async fn asking_for_a_reset_tells_nothing_and_is_limited(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = unique_merchant(&app, "Quiet Shop").await;
    let known = owner_email(&shop);
    let unknown = crate::mail::unique_address("stranger");
    let client = browser();
    let a = ask_for_reset(&app, &client, &known).await;
    let b = ask_for_reset(&app, &client, &unknown).await;
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let (a, b) = (a.text().await.unwrap(), b.text().await.unwrap());
    let blank = |html: &str, address: &str| crate::portal::without_tokens(&html.replace(address, "ADDRESS"));
    assert_eq!(blank(&a, &known), blank(&b, &unknown), "the same answer for a known and an unknown address");
    Maildev::shared().wait_for(&known, 1).await;

    let bad = ask_for_reset(&app, &client, "not an address").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("Enter the email address you sign in with"));
    let token = sign_in_token(&client, &app).await;
    let foreign = client
        .post(app.url("/dashboard/forgot-password"))
        .header("origin", "https://evil.example")
        .form(&[("email", known.as_str()), ("form_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);

    // Three links per address per 15 minutes, from any network: the fourth is refused alike
    // for a known and an unknown address, and sends nothing.
    for _ in 0..2 {
        assert_eq!(ask_for_reset(&app, &client, &known).await.status(), StatusCode::OK);
        assert_eq!(ask_for_reset(&app, &client, &unknown).await.status(), StatusCode::OK);
    }
    let limited = ask_for_reset(&app, &client, &known).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    assert!(limited.text().await.unwrap().contains("Too many reset links were asked for."));
    assert_eq!(ask_for_reset(&app, &client, &unknown).await.status(), StatusCode::TOO_MANY_REQUESTS);
    Maildev::shared().wait_for(&known, 3).await;
}

async fn reset_links_expire_and_reset_emails_stay_out_of_the_mailbox_page(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = unique_merchant(&app, "Slow Reader").await;
    let email = owner_email(&shop);
    let client = browser();
    assert_eq!(ask_for_reset(&app, &client, &email).await.status(), StatusCode::OK);
    // No SMTP server: the email is in the file mailbox, which the operator reads.
    let sent = crate::helpers::eventually(crate::mail::WITHIN, "the reset email is written", || async {
        let sql = "SELECT id FROM emails WHERE merchant_id = $1 AND kind = 'password_reset' AND status = 'sent'";
        let id: Option<(String,)> =
            on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&shop.id).fetch_optional(pool).await.unwrap());
        id.map(|(id,)| id)
    })
    .await;
    let mailbox = satchel::mail::Mailbox::new(app.state.config.mailbox_dir());
    let raw = mailbox.read_exact(&sent).await.unwrap().expect("the .eml file");
    let text = satchel::mail::parse::read(&raw).text.expect("a text part");
    let start = text.find("/dashboard/reset-password/").expect("the link") + 26;
    let token: String =
        text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    assert_eq!(token.len(), 43, "{text}");
    let link = app.url(&format!("/dashboard/reset-password/{token}"));
    assert_eq!(client.get(&link).send().await.unwrap().status(), StatusCode::OK);

    let owner = Dashboard::sign_in(&app, &shop).await;
    let (_, page) = owner.get("/dashboard/mailbox").await;
    assert!(!page.contains(&sent), "a reset email is not opened from the Mailbox page");
    assert_eq!(owner.get(&format!("/dashboard/mailbox/{sent}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(owner.get(&format!("/dashboard/mailbox/{sent}/source")).await.0, StatusCode::NOT_FOUND);

    let hash = satchel::domain::SecretHash::of(&token);
    let sql = "SELECT expires_at - created_at FROM password_resets WHERE token_hash = $1";
    let (lifetime,): (i64,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(hash.as_str()).fetch_one(pool).await.unwrap());
    assert_eq!(lifetime, 30 * 60 * 1000, "a link works for 30 minutes");
    // Half an hour later.
    let sql = "UPDATE password_resets SET expires_at = $1 WHERE token_hash = $2";
    let past = satchel::domain::now_millis() - 1;
    on_pool!(&app.state.db, pool => { sqlx::query(sql).bind(past).bind(hash.as_str()).execute(pool).await.unwrap(); });
    assert_eq!(client.get(&link).send().await.unwrap().status(), StatusCode::GONE, "expired");
    let late = set_password(&app, &client, &link, "too late for this", "too late for this").await;
    assert_eq!(late.status(), StatusCode::GONE);
    assert_eq!(try_sign_in(&app, &email, PASSWORD).await.status(), StatusCode::SEE_OTHER, "nothing changed");
}
