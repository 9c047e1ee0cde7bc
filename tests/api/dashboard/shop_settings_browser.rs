//! The shop profile and a new API key in a real browser (Chromium through
//! `tests/support/shop.mjs`): a logo drawn by the browser is uploaded with the profile form, a
//! new key is shown at the top of the page it lands on and a reload makes no second one; then
//! the delivery page, the portal and the purchase email show the logo and the accent colour.
//!
//! `SATCHEL_SCREENSHOTS=/some/dir` makes the script also save screenshots of the pages there.

use super::{PASSWORD, owner_email};
use crate::dashboard::products_browser::run_script;
use crate::fulfilment::{buy, delivery_url};
use crate::helpers::{Stack, TestApp, eventually};
use crate::mail::WITHIN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_profile_and_api_key_in_a_browser() {
    let app = TestApp::spawn(Stack::Embedded).await;
    let shop = crate::fulfilment::shop(&app, "Quiet Pine Press", "Field Guide.pdf", vec![3; 40_000]).await;
    let args = vec!["profile".to_owned(), app.address.clone(), owner_email(&shop.m), PASSWORD.to_owned()];
    let seen = run_script("shop.mjs", args).await;
    assert_eq!(seen["profile_notice"], "Shop profile saved: new emails, the delivery page and the portal show it.");
    assert_eq!(seen["logo_shown"], true, "the uploaded logo is previewed: {seen}");
    assert_eq!(seen["key_url_has_key"], false, "the key is never in the URL");
    assert_eq!(seen["key_in_view"], true, "the page lands on the key");
    assert_eq!(seen["copy_button"], true);
    assert_eq!(seen["after_reload_has_key"], false);
    assert!(seen["after_reload"].as_str().unwrap().starts_with("That API key was already shown once"), "{seen}");
    let keys = satchel::db::api_keys::list(&app.state.db, &shop.m.id).await.unwrap();
    assert_eq!(keys.len(), 2, "the test's key and the one made in the browser, once");

    let order = buy(&app, &shop.m, &shop.product_id, "ada@customer.example").await;
    let id = order["id"].as_str().unwrap().to_owned();
    let raw = eventually(WITHIN, "the purchase email is in the mailbox", || async {
        let detail = crate::fulfilment::order(&app, &shop.m, &id).await;
        let email = detail["emails"][0]["id"].as_str()?.to_owned();
        std::fs::read_to_string(app.state.config.mailbox_dir().join(format!("{email}.eml"))).ok()
    })
    .await;
    let html = satchel::mail::parse::read(&raw).html.expect("an HTML part");
    let file = app.state.config.data_dir.join("email.html");
    std::fs::write(&file, html).unwrap();
    let portal = app.url(&format!("/portal/{}", shop.m.slug));
    let args = vec!["customer".to_owned(), delivery_url(&order), portal, file.display().to_string()];
    let seen = run_script("shop.mjs", args).await;
    for page in ["delivery", "portal"] {
        assert_eq!(seen[page]["logo"], true, "{page}: {seen}");
        assert_eq!(seen[page]["alt"], "Pine & Press", "{page}");
        assert_eq!(seen[page]["button"], "rgb(170, 51, 17)", "{page}: the accent colour");
    }
    assert_eq!(seen["email_logo"], true, "the email's logo loads from its absolute URL");
}
