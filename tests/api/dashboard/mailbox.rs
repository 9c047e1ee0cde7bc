//! The Mailbox page: with no SMTP server, this shop's emails from the file mailbox, each shown
//! as a mail client would; with SMTP, the outbox and where each email stands.

use reqwest::StatusCode;
use serde_json::json;

use super::Dashboard;
use super::orders::{checkout, row_of};
use crate::fulfilment::{buy, order, settings, shop};
use crate::helpers::ReservedPort;
use crate::helpers::{Stack, TestApp, eventually, on_both_stacks};
use crate::mail::{WITHIN, send_to};

on_both_stacks!(dashboard_mailbox_shows_only_this_shops_mail, dashboard_outbox_shows_mail_that_could_not_be_sent);

async fn dashboard_mailbox_shows_only_this_shops_mail(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    let delivery = checkout(&app, &shop.product_id, "ada@readers.example").await;
    let other = crate::fulfilment::shop(&app, "Other Shop", "x.pdf", b"%PDF-1.4 other".to_vec()).await;
    let theirs = buy(&app, &other.m, &other.product_id, "carol@elsewhere.example").await;
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;

    let empty = Dashboard::sign_in(&app, &app.merchant("Empty Shop").await).await.get("/dashboard/mailbox").await.1;
    assert!(empty.contains("No emails yet") && empty.contains("No SMTP server is configured"), "{empty}");

    let list = eventually(WITHIN, "the purchase email is in the mailbox", || async {
        let (status, html) = dashboard.get("/dashboard/mailbox").await;
        assert_eq!(status, StatusCode::OK);
        html.contains("ada@readers.example").then_some(html)
    })
    .await;
    let row = row_of(&list, "ada@readers.example");
    let subject = "[Test] Your purchase from Quiet Pine Press: Field Guide";
    assert!(row.contains(subject), "{row}");
    // The list links each email by its subject.
    let href = row[row.find(r#"href=""#).unwrap() + 6..].split('"').next().unwrap().to_owned();
    assert!(row.contains(&format!(r#"href="{href}">{subject}</a>"#)), "{row}");

    let (status, mail) = dashboard.get(&href).await;
    assert_eq!(status, StatusCode::OK);
    assert!(mail.contains(&format!("<h1>{subject}</h1>")), "{mail}");
    assert!(mail.contains("ada@readers.example") && mail.contains("Quiet Pine Press"), "from and to");
    let link = app.url(&delivery);
    assert!(mail.contains(&format!(r#"<a href="{link}" target="_blank" rel="noreferrer">{link}</a>"#)), "{mail}");
    assert!(mail.contains(r#"<iframe class="mail-frame""#) && mail.contains(r#"sandbox="allow-popups"#));
    assert!(!mail.contains("<table") && mail.contains("&#60;table"), "the HTML part is in srcdoc, escaped: {mail}");
    let (status, source) = dashboard.get(&format!("{href}/source")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(source.contains("Message-ID:") && source.contains("multipart/alternative"));

    // Another shop's email: not listed, and its id is not found.
    let their_email = eventually(WITHIN, "the other shop's email is written", || async {
        let detail = order(&app, &other.m, theirs["id"].as_str().unwrap()).await;
        let email = detail["emails"][0].clone();
        (email["status"] == "sent").then(|| email["id"].as_str().unwrap().to_owned())
    })
    .await;
    let (_, list) = dashboard.get("/dashboard/mailbox").await;
    assert!(!list.contains("carol@elsewhere.example") && !list.contains(&their_email));
    assert_eq!(dashboard.get(&format!("/dashboard/mailbox/{their_email}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(dashboard.get(&format!("/dashboard/mailbox/{their_email}/source")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(dashboard.get("/dashboard/mailbox/..%2F..%2Fsecrets.json").await.0, StatusCode::NOT_FOUND);
}

async fn dashboard_outbox_shows_mail_that_could_not_be_sent(stack: Stack) {
    // An SMTP server that is not there: every attempt fails and is retried.
    let reserved = ReservedPort::new();
    let port = reserved.port();
    let app = TestApp::spawn_with(stack, |config| send_to(config, port)).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let bought = buy(&app, &shop.m, &shop.product_id, "ada@readers.example").await;
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;

    let trouble = eventually(WITHIN, "the order is listed as in trouble", || async {
        let (_, html) = dashboard.get("/dashboard/orders?email=trouble").await;
        html.contains("ada@readers.example").then_some(html)
    })
    .await;
    let row = row_of(&trouble, "ada@readers.example");
    assert!(row.contains(r#"badge-warn">Retrying"#) && row.contains("(next try "), "the error: {row}");
    let (_, page) = dashboard.get(&format!("/dashboard/orders/{}", bought["id"].as_str().unwrap())).await;
    assert!(page.contains(&format!("SMTP 127.0.0.1:{port}: ")), "the whole error on the order page: {page}");
    let (_, overview) = dashboard.get("/dashboard").await;
    assert!(overview.contains("1 purchase email(s) could not be sent yet"), "{overview}");

    let (_, outbox) = dashboard.get("/dashboard/mailbox").await;
    assert!(
        outbox.contains("<h1>Outbox</h1>") && outbox.contains(&format!("SMTP server <code>127.0.0.1:{port}</code>"))
    );
    let row = row_of(&outbox, "ada@readers.example");
    assert!(row.contains("Retrying") && row.contains("Purchase"), "{row}");
}
