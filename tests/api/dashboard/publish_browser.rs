//! Publishing an update with an email from the product page in a real browser
//! (`tests/support/publish.mjs`): the preview's counts, subject and text, then "Publish"; the
//! customer's mail client (maildev) then shows exactly the previewed email.

use serde_json::json;

use super::products_browser::run_script;
use super::{PASSWORD, owner_email};
use crate::fulfilment::{buy, product, set_delivery};
use crate::helpers::{Stack, TestApp};
use crate::mail::{Maildev, send_to, smtp_port, unique_address};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_with_an_email_from_the_dashboard_in_a_browser() {
    let app = TestApp::spawn_with(Stack::Embedded, |c| send_to(c, smtp_port())).await;
    let m = app.merchant("Browser Atlas").await;
    let id = product(&app, &m, "Atlas", json!({})).await;
    let link = |n: u8| json!({"mode": "external_link", "external_url": format!("https://example.com/atlas-{n}.zip")});
    set_delivery(&app, &m, &id, link(1)).await;
    let ada = unique_address("browser-ada");
    buy(&app, &m, &id, &ada).await;
    let maildev = Maildev::shared();
    maildev.wait_for(&ada, 1).await;
    set_delivery(&app, &m, &id, link(2)).await;

    let seen =
        run_script("publish.mjs", vec![app.address.clone(), owner_email(&m), PASSWORD.to_owned(), id.clone()]).await;
    assert_eq!(
        (&seen["card_heading"], &seen["orders"], &seen["emails"]),
        (&json!("Publish update"), &json!("1"), &json!("1"))
    );
    assert_eq!(seen["subject"], "Atlas 2.0 is out");
    assert_eq!(seen["card_after"], 0, "published: no card until the next release");

    let received = maildev.wait_for(&ada, 2).await;
    let update = received.iter().find(|e| e["subject"] == "Atlas 2.0 is out").expect("the update email");
    let sent = update["text"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(sent.trim_end(), seen["text"].as_str().unwrap().trim_end(), "the preview is the email sent");
    let (_, release) = app.get_json(&m, &format!("/products/{id}/releases/2")).await;
    assert_eq!((&release["label"], &release["audience"]), (&json!("2.0"), &json!("all")), "{release}");
}
