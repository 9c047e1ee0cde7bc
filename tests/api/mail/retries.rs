//! An SMTP server that is down when the order is paid: the email waits, is retried with its
//! error visible to the merchant, and arrives once the server is back.

use super::{OwnMaildev, WITHIN, send_to, unique_address};
use crate::fulfilment::{buy, order, shop};
use crate::helpers::{ReservedPort, Stack, TestApp, eventually, on_both_stacks};

on_both_stacks!(email_waits_for_a_server_that_was_down, an_email_that_keeps_failing_is_marked_failed);

async fn email_waits_for_a_server_that_was_down(stack: Stack) {
    // Nothing listens on this port until our own maildev starts there; it stays ours meanwhile.
    let reserved = ReservedPort::new();
    let port = reserved.port();
    let app = TestApp::spawn_with(stack, |c| send_to(c, port)).await;
    let shop = shop(&app, "Outage Books", "guide.pdf", b"%PDF-1.4 outage".to_vec()).await;
    let to = unique_address("outage");
    let created = buy(&app, &shop.m, &shop.product_id, &to).await;
    let id = created["id"].as_str().unwrap();

    let failing = eventually(WITHIN, "the first attempt fails and a retry is scheduled", || async {
        let detail = order(&app, &shop.m, id).await;
        let email = detail["emails"][0].clone();
        (email["status"] == "retrying").then_some(email)
    })
    .await;
    assert!(failing["attempts"].as_i64().unwrap() >= 1, "{failing}");
    let error = failing["last_error"].as_str().expect("the error is kept");
    assert!(error.contains(&format!("127.0.0.1:{port}")), "the error names the server: {error}");
    assert!(failing["next_attempt_at"].is_string(), "the next attempt is shown: {failing}");

    // The server comes back.
    let maildev = OwnMaildev::start(port).await;
    let received = maildev.api.wait_for(&to, 1).await;
    assert_eq!(received[0]["subject"], "Your purchase from Outage Books: Field Guide");

    let sent = eventually(WITHIN, "the email is marked sent", || async {
        let detail = order(&app, &shop.m, id).await;
        let email = detail["emails"][0].clone();
        (email["status"] == "sent").then_some(email)
    })
    .await;
    assert!(sent["attempts"].as_i64().unwrap() > 1, "sent on a later attempt: {sent}");
    assert!(sent["last_error"].is_string(), "the earlier failure stays visible: {sent}");
    assert_eq!(maildev.api.to(&to).await.len(), 1, "sent once");
}

async fn an_email_that_keeps_failing_is_marked_failed(stack: Stack) {
    // Held to the end: every attempt is refused.
    let reserved = ReservedPort::new();
    let port = reserved.port();
    let app = TestApp::spawn_with(stack, |c| {
        send_to(c, port);
        c.mail.give_up_after_seconds = 3;
    })
    .await;
    let shop = shop(&app, "Gone Fishing", "guide.pdf", b"%PDF-1.4 gone".to_vec()).await;
    let created = buy(&app, &shop.m, &shop.product_id, &unique_address("failed")).await;
    let id = created["id"].as_str().unwrap();
    let failed = eventually(WITHIN, "the email is given up on", || async {
        let detail = order(&app, &shop.m, id).await;
        let email = detail["emails"][0].clone();
        (email["status"] == "failed").then_some(email)
    })
    .await;
    assert!(failed["attempts"].as_i64().unwrap() >= 2, "retried before giving up: {failed}");
    assert!(failed["last_error"].as_str().unwrap().contains(&port.to_string()), "{failed}");
    assert!(failed["next_attempt_at"].is_null(), "nothing more is scheduled: {failed}");
}
