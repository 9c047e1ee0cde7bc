//! The purchase email as a customer receives it: both parts, working links, escaped merchant
//! text, the sender, and resends.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Maildev, WITHIN, links, send_to, smtp_port, unique_address};
use crate::fulfilment::{buy, order, product, set_delivery, settings, shop, upload};
use crate::helpers::{Stack, TestApp, error_code, on_both_stacks, sha256_hex};

on_both_stacks!(
    test_purchase_email_arrives_with_working_links,
    merchant_text_is_escaped_in_html_only,
    resend_sends_a_copy_and_is_rate_limited,
    merchant_sender_overrides_the_server_default
);

async fn test_purchase_email_arrives_with_working_links(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    // With SMTP, test purchases are mailed to the merchant's own address only: a shop of its
    // own, so no other test's mail reaches that address.
    let name = format!("Lighthouse Press {}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let shop = shop(&app, &name, "guide.pdf", crate::helpers::file_bytes(70_000, 7)).await;
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    let to = crate::dashboard::owner_email(&shop.m);

    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("name", "Ada Lovelace"), ("email", to.as_str())])
        .finish();
    let response = app
        .client
        .post(app.url(&format!("/buy/{}", shop.product_id)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the test checkout pays");

    let email = Maildev::shared().wait_for(&to, 1).await.remove(0);
    // A test checkout purchase: its email says so, in the subject and first in the body.
    assert_eq!(email["subject"], format!("[Test] Your purchase from {name}: Field Guide"));
    let text = email["text"].as_str().expect("a plain text part");
    let first_line = "[Test] This is a test order, placed in test mode: no payment was taken.";
    assert!(text.starts_with(first_line), "{text}");
    let html = email["html"].as_str().expect("an HTML part");
    assert!(text.contains("guide.pdf") && text.contains("70 KB"), "the file and its size: {text}");
    assert!(html.contains("guide.pdf") && html.contains("70 KB"), "the file and its size in HTML");
    let portal = app.url(&format!("/portal/{}", shop.m.slug));
    assert!(text.contains(&portal) && html.contains(&portal), "the customer portal is linked: {text}");

    // Follow the link as the customer would, from the message received.
    let files = links(&email, &app.url("/d/"));
    let file_link = files.iter().find(|l| l.contains("/files/")).unwrap_or_else(|| panic!("a file link in {text}"));
    assert!(html.contains(file_link.as_str()), "the HTML part carries the same link");
    let response = app.client.get(file_link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {file_link}");
    assert_eq!(sha256_hex(&response.bytes().await.unwrap()), sha256_hex(&shop.bytes), "the file downloads whole");

    let orders = crate::fulfilment::orders(&app, &shop.m).await;
    let detail = order(&app, &shop.m, orders[0]["id"].as_str().unwrap()).await;
    let emails = detail["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 1, "one purchase email: {detail:#}");
    assert_eq!(emails[0]["kind"], "purchase");
    assert_eq!(emails[0]["status"], "sent");
    assert_eq!(emails[0]["attempts"], 1);
    assert_eq!(emails[0]["to"], to.as_str());
    assert!(emails[0]["sent_at"].is_string());
}

async fn merchant_text_is_escaped_in_html_only(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let name = "<script>alert(1)</script> O'Brien & Sons";
    let m = app.merchant(name).await;
    let file = upload(&app, &m, "a<b>.pdf", "application/pdf", b"%PDF-1.4 tiny").await;
    let product_id = product(&app, &m, "Tips & <i>Tricks</i>", json!({})).await;
    let delivery =
        json!({"mode": "files", "files": [{"file_id": file["id"]}], "instructions": "Unzip & enjoy <b>now</b>"});
    set_delivery(&app, &m, &product_id, delivery).await;
    let to = unique_address("escape");
    buy(&app, &m, &product_id, &to).await;

    let email = Maildev::shared().wait_for(&to, 1).await.remove(0);
    assert_eq!(email["subject"], format!("Your purchase from {name}: Tips & <i>Tricks</i>"), "subject is plain text");
    let text = email["text"].as_str().unwrap();
    for plain in [name, "Tips & <i>Tricks</i>", "Unzip & enjoy <b>now</b>", "a<b>.pdf"] {
        assert!(text.contains(plain), "the text part reads {plain:?} as is: {text}");
    }
    // Named or numeric character references are the same to a mail client: compare one spelling.
    let html = email["html"].as_str().unwrap();
    let html = &[("&#60;", "&lt;"), ("&#62;", "&gt;"), ("&#38;", "&amp;"), ("&#x27;", "&#39;"), ("&apos;", "&#39;")]
        .iter()
        .fold(html.to_owned(), |html, (numeric, named)| html.replace(numeric, named));
    assert!(
        !html.contains("<script>") && !html.contains("<i>Tricks") && !html.contains("<b>"),
        "nothing injected: {html}"
    );
    for escaped in
        ["&lt;script&gt;alert(1)&lt;/script&gt;", "Brien &amp; Sons", "Tips &amp; &lt;i&gt;Tricks", "Unzip &amp; enjoy"]
    {
        assert!(html.contains(escaped), "the HTML part shows {escaped:?}: {html}");
    }
    assert!(html.contains("O&#39;Brien"), "the apostrophe is escaped");
}

async fn resend_sends_a_copy_and_is_rate_limited(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = shop(&app, "Resend Co", "guide.pdf", b"%PDF-1.4 resend".to_vec()).await;
    let to = unique_address("resend");
    let created = buy(&app, &shop.m, &shop.product_id, &to).await;
    let id = created["id"].as_str().unwrap();
    let maildev = Maildev::shared();
    let first = maildev.wait_for(&to, 1).await.remove(0);

    let resend = |n: usize| {
        let request = app.api(&shop.m, Method::POST, &format!("/orders/{id}/resend")).send();
        async move {
            let response = request.await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (n, status, body)
        }
    };
    let (_, status, body) = resend(1).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["kind"], "resend");
    let emails = maildev.wait_for(&to, 2).await;
    let copy = emails.iter().find(|e| e["id"] != first["id"]).unwrap();
    assert_eq!(links(copy, &app.url("/d/")), links(&first, &app.url("/d/")), "the copy carries the same links");

    for n in 2..=3 {
        let (n, status, body) = resend(n).await;
        assert_eq!(status, StatusCode::ACCEPTED, "resend {n}: {body}");
    }
    let limited = app.api(&shop.m, Method::POST, &format!("/orders/{id}/resend")).send().await.unwrap();
    let retry_after: i64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "Retry-After: {retry_after}");
    let (_, status, body) = resend(4).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the 4th resend in an hour: {body}");
    assert_eq!(error_code(&body), "too_many_requests");
    assert!(body["error"]["message"].as_str().unwrap().contains("3 times"), "{body}");

    maildev.wait_for(&to, 4).await;
    let detail = crate::helpers::eventually(WITHIN, "every email is marked sent", || async {
        let detail = order(&app, &shop.m, id).await;
        detail["emails"].as_array().unwrap().iter().all(|e| e["status"] == "sent").then_some(detail)
    })
    .await;
    let kinds: Vec<&str> = detail["emails"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["purchase", "resend", "resend", "resend"]);
}

async fn merchant_sender_overrides_the_server_default(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = shop(&app, "Plain Sender", "guide.pdf", b"%PDF-1.4 sender".to_vec()).await;
    let to = unique_address("sender-default");
    buy(&app, &shop.m, &shop.product_id, &to).await;
    let email = Maildev::shared().wait_for(&to, 1).await.remove(0);
    assert_eq!(email["from"][0]["address"], "shop@satchel.test", "the server's address: {}", email["from"]);
    assert_eq!(email["from"][0]["name"], "Plain Sender", "under the merchant's name");

    let (name, address) = ("Ada at Plain Sender", "ada@plain-sender.example");
    let refused = app
        .api(&shop.m, Method::PATCH, "/settings")
        .json(&json!({"sender_email": "not an address"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("sender_email"));
    let saved = settings(&app, &shop.m, json!({"sender_name": name, "sender_email": address})).await;
    assert_eq!((saved["sender_name"].as_str(), saved["sender_email"].as_str()), (Some(name), Some(address)));
    let to = unique_address("sender-own");
    buy(&app, &shop.m, &shop.product_id, &to).await;
    let email = Maildev::shared().wait_for(&to, 1).await.remove(0);
    assert_eq!(email["from"][0]["address"], address, "{}", email["from"]);
    assert_eq!(email["from"][0]["name"], name);
}
