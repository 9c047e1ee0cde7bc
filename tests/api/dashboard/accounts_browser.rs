//! The merchant's account and webhooks in a real browser (Chromium driven by playwright-core
//! through `tests/support/accounts.mjs`): "Send test event" shows up on the Webhook deliveries
//! page; then a forgotten password is reset by email end to end, and the link works once.
//!
//! `SATCHEL_SCREENSHOTS=/some/dir` makes the script also save screenshots of the pages there.

use super::{PASSWORD, owner_email};
use crate::dashboard::products_browser::run_script;
use crate::helpers::{Stack, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_event_and_password_reset_in_a_browser() {
    let app = TestApp::spawn(Stack::Embedded).await;
    let merchant = app.merchant("Beacon Books").await;
    let mailbox = app.state.config.mailbox_dir();
    std::fs::create_dir_all(&mailbox).expect("mailbox folder");
    let new_password = "a fresh start for beacon";
    let args = vec![
        app.address.clone(),
        owner_email(&merchant),
        PASSWORD.to_owned(),
        mailbox.display().to_string(),
        new_password.to_owned(),
    ];
    let seen = run_script("accounts.mjs", args).await;
    assert_eq!(seen["test_notice"], "Test event sent: it arrived as the newest delivery below.", "{seen}");
    let row = seen["test_row"].as_str().unwrap();
    assert!(row.ends_with("Standard Webhooks satchel.test Verified Test event received"), "{row}");
    let line = seen["last_webhook"].as_str().unwrap();
    assert!(line.starts_with("Last event received just now"), "{line}");
    assert!(line.contains("Standard Webhooks · satchel.test, test event received."), "{line}");
    let asked = seen["asked"].as_str().unwrap();
    assert!(asked.starts_with(&format!("If {} signs in to a Satchel dashboard here", owner_email(&merchant))));
    assert_eq!(seen["reset_notice"], "Your password was changed. Sign in with the new one.");
    assert_eq!(seen["signed_in"], app.url("/dashboard"));
    assert_eq!(seen["second_time"], "This link no longer works");
    let user = satchel::db::merchants::user_by_email(
        &app.state.db,
        &satchel::domain::Email::parse("email", &owner_email(&merchant)).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(satchel::domain::verify_password(new_password, &user.password_hash));
}
