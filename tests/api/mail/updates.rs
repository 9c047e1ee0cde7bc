//! Update emails (issue 16, item 3): one per order a publish granted the release to, read from
//! maildev as a mail client would; RFC 8058 unsubscribe (one-click POST and the link's page);
//! hostile email fields; the throttle, which never holds purchase emails back.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Maildev, WITHIN, links, send_to, smtp_port, unique_address};
use crate::fulfilment::{buy, product, set_delivery};
use crate::helpers::{Stack, TestApp, TestMerchant, eventually, on_both_stacks};

on_both_stacks!(
    each_granted_order_gets_one_update_email_with_unsubscribe_headers_and_unsubscribing_stops_the_next,
    hostile_update_emails_are_refused_naming_the_field_and_nothing_is_queued,
    update_emails_keep_to_the_rate_and_purchase_emails_pass_them,
    the_dashboard_preview_counts_and_shows_exactly_the_email_sent,
);

/// `POST /api/v1/products/{id}/releases`: the status and the JSON answered.
async fn publish(app: &TestApp, m: &TestMerchant, product_id: &str, body: Value) -> (StatusCode, Value) {
    let response = app.api(m, Method::POST, &format!("/products/{product_id}/releases")).json(&body).send();
    let response = response.await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// A new release of the product: a link delivery to `url`.
async fn new_release(app: &TestApp, m: &TestMerchant, product_id: &str, url: &str) {
    set_delivery(app, m, product_id, json!({"mode": "external_link", "external_url": url})).await;
}

/// `GET …/releases/{n}`.
async fn release(app: &TestApp, m: &TestMerchant, product_id: &str, n: i64) -> Value {
    let (status, release) = app.get_json(m, &format!("/products/{product_id}/releases/{n}")).await;
    assert_eq!(status, StatusCode::OK, "{release}");
    release
}

/// Waits until release `n`'s update emails are all settled (none queued) and returns the counts.
async fn settled(app: &TestApp, m: &TestMerchant, product_id: &str, n: i64) -> Value {
    eventually(WITHIN, "the update emails are settled", || async move {
        let emails = release(app, m, product_id, n).await["emails"].clone();
        (emails["queued"] == 0).then_some(emails)
    })
    .await
}

/// The one update email (subject `subject`) among those `to` received.
fn the_update<'a>(received: &'a [Value], subject: &str) -> &'a Value {
    let updates: Vec<&Value> = received.iter().filter(|e| e["subject"] == subject).collect();
    assert_eq!(updates.len(), 1, "one update email: {received:?}");
    updates[0]
}

/// A header of a raw message (unfolded).
fn header(raw: &str, name: &str) -> Option<String> {
    let head = &raw[..raw.find("\r\n\r\n").unwrap_or(raw.len())];
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

async fn each_granted_order_gets_one_update_email_with_unsubscribe_headers_and_unsubscribing_stops_the_next(
    stack: Stack,
) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let m = app.merchant("Update Press").await;
    let maildev = Maildev::shared();
    let id = product(&app, &m, "Field Guide", json!({})).await;
    new_release(&app, &m, &id, "https://example.com/guide-1.zip").await;
    let (ada, bob, eve) = (unique_address("ada"), unique_address("bob"), unique_address("eve"));
    let orders = [buy(&app, &m, &id, &ada).await, buy(&app, &m, &id, &bob).await, buy(&app, &m, &id, &eve).await];
    let revoke = app.api(&m, Method::POST, &format!("/orders/{}/revoke", orders[2]["id"].as_str().unwrap()));
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::OK);
    let purchase = maildev.wait_for(&ada, 1).await.remove(0);
    maildev.wait_for(&eve, 1).await;
    new_release(&app, &m, &id, "https://example.com/guide-2.zip").await;

    let subject = "Field Guide 2.0 is out";
    let body = json!({"label": "2.0", "changelog": "## New\n- Chapter *nine*\n\n<script>x</script>", "audience": "all",
        "email": {"subject": subject, "message": "Hello from the author.\nEnjoy the new chapter!"}});
    let (status, published) = publish(&app, &m, &id, body).await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    assert_eq!(published["granted_orders"], 2);
    assert_eq!(
        published["email"],
        json!({"subject": subject, "message": "Hello from the author.\nEnjoy the new chapter!"})
    );
    let counts = settled(&app, &m, &id, 2).await;
    assert_eq!(counts, json!({"queued": 0, "sent": 2, "failed": 0, "unsubscribed": 0}));

    // Ada: her purchase email and exactly one update, as a mail client reads it.
    let received = maildev.wait_for(&ada, 2).await;
    let update = the_update(&received, subject);
    let text = update["text"].as_str().unwrap();
    let html = update["html"].as_str().unwrap();
    assert!(text.contains("Hello from the author.\nEnjoy the new chapter!"), "{text}");
    assert!(text.contains("## New\n- Chapter *nine*"), "the changelog's source in the text part: {text}");
    assert!(html.contains("<li>Chapter <em>nine</em></li>"), "the changelog rendered: {html}");
    assert!(!html.contains("<script>x"), "raw HTML in the changelog is text: {html}");
    // The order's links: the delivery page the purchase email gave.
    let delivery = links(&purchase, &app.url("/d/"));
    let delivery_page = delivery.iter().find(|l| !l.contains("/files/") && !l.contains("/link")).unwrap();
    assert!(links(update, &app.url("/d/")).contains(delivery_page), "{text}");
    let unsubscribe = links(update, &app.url("/unsubscribe/"));
    assert_eq!(unsubscribe.len(), 1, "a visible unsubscribe link: {text}");
    let unsubscribe = unsubscribe[0].clone();
    assert!(html.contains(&format!("href=\"{unsubscribe}\"")), "{html}");
    let raw = maildev.source(update["id"].as_str().unwrap()).await;
    assert_eq!(header(&raw, "List-Unsubscribe"), Some(format!("<{unsubscribe}>")), "{raw}");
    assert_eq!(header(&raw, "List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"), "{raw}");
    // Bob gets one too; Eve's order is revoked: her purchase email only.
    let bob_update = the_update(&maildev.wait_for(&bob, 2).await, subject).clone();
    assert_eq!(maildev.to(&eve).await.len(), 1, "nothing for a revoked order");

    // Ada unsubscribes with one click (RFC 8058: a POST with no session, no form token).
    let one_click = app
        .client
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status(), StatusCode::OK);
    let page = app.client.get(&unsubscribe).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("You are unsubscribed") && page.contains("Subscribe again"), "{page}");
    // Bob opens his link: GET shows the button and changes nothing; the button unsubscribes.
    let bob_link = links(&bob_update, &app.url("/unsubscribe/")).remove(0);
    for _ in 0..2 {
        let page = app.client.get(&bob_link).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        assert!(page.contains(">Unsubscribe</button>") && !page.contains("You are unsubscribed"), "{page}");
    }
    let form = app.client.post(&bob_link).form(&[("action", "unsubscribe")]).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains("You are unsubscribed"));
    // Unknown and tampered tokens: the 404 of any bad link.
    let mut tampered = bob_link.clone();
    tampered.replace_range(tampered.len() - 2.., if tampered.ends_with("AA") { "AB" } else { "AA" });
    for bad in [tampered, app.url("/unsubscribe/nope"), app.url(&format!("/unsubscribe/{}", "A".repeat(43)))] {
        assert_eq!(app.client.get(&bad).send().await.unwrap().status(), StatusCode::NOT_FOUND, "{bad}");
        let post = app.client.post(&bad).body("List-Unsubscribe=One-Click").send().await.unwrap();
        assert_eq!(post.status(), StatusCode::NOT_FOUND, "{bad}");
    }

    // Release 3 with an email: both unsubscribed, so nothing is sent; counts say so.
    new_release(&app, &m, &id, "https://example.com/guide-3.zip").await;
    let body = json!({"audience": "all", "email": {"subject": "Guide 3", "message": "Again"}});
    let (status, published) = publish(&app, &m, &id, body).await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    assert_eq!(published["emails"], json!({"queued": 0, "sent": 0, "failed": 0, "unsubscribed": 2}));
    // Purchase emails still go to an unsubscribed customer.
    buy(&app, &m, &id, &ada).await;
    let received = maildev.wait_for(&ada, 3).await;
    assert!(received.iter().all(|e| e["subject"] != "Guide 3"), "{received:?}");
    assert_eq!(maildev.to(&bob).await.len(), 2);
    // The orders list's email column tells of the order's own email, not of an update email
    // (Bob's newest email is release 3's, kept back as unsubscribed).
    let dashboard = crate::dashboard::Dashboard::sign_in(&app, &m).await;
    let (_, list) = dashboard.get("/dashboard/orders").await;
    let bob_row = crate::dashboard::orders::row_of(&list, &bob);
    assert!(bob_row.contains(r#"badge-ok">Sent"#), "{bob_row}");

    // Subscribing again from the page: the next update reaches Ada again.
    let again = app.client.post(&unsubscribe).form(&[("action", "subscribe")]).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("You are subscribed again"));
    new_release(&app, &m, &id, "https://example.com/guide-4.zip").await;
    let body = json!({"audience": "all", "email": {"subject": "Guide 4", "message": "Once more"}});
    assert_eq!(publish(&app, &m, &id, body).await.0, StatusCode::CREATED);
    // Ada owns the release via two orders now: one email per order.
    let counts = settled(&app, &m, &id, 4).await;
    assert_eq!(counts, json!({"queued": 0, "sent": 2, "failed": 0, "unsubscribed": 1}));
    let received = maildev.wait_for(&ada, 5).await;
    assert_eq!(received.iter().filter(|e| e["subject"] == "Guide 4").count(), 2);
    // Releases without an email say null; the list carries the same counts.
    let (_, listed) = app.get_json(&m, &format!("/products/{id}/releases")).await;
    let by_number = |n: i64| listed.as_array().unwrap().iter().find(|r| r["number"] == n).unwrap().clone();
    assert_eq!(by_number(1)["emails"], Value::Null);
    assert_eq!(by_number(3)["emails"], json!({"queued": 0, "sent": 0, "failed": 0, "unsubscribed": 2}));
}

async fn hostile_update_emails_are_refused_naming_the_field_and_nothing_is_queued(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Hostile Press").await;
    let id = product(&app, &m, "Guide", json!({})).await;
    new_release(&app, &m, &id, "https://example.com/1.zip").await;
    let past = buy(&app, &m, &id, &unique_address("past")).await;
    new_release(&app, &m, &id, "https://example.com/2.zip").await;
    let email =
        |subject: Value, message: Value| json!({"audience": "all", "email": {"subject": subject, "message": message}});
    let cases = [
        (email(json!("Hi\r\nBcc: victim@example.com"), json!("m")), "email.subject"),
        (email(json!("Hi\nthere"), json!("m")), "email.subject"),
        (email(json!("x".repeat(151)), json!("m")), "email.subject"),
        (email(json!(""), json!("m")), "email.subject"),
        (email(json!(7), json!("m")), "email.subject"),
        (email(json!("Hi"), json!("")), "email.message"),
        (email(json!("Hi"), json!("   ")), "email.message"),
        (email(json!("Hi"), json!("x".repeat(10_001))), "email.message"),
        (email(json!("Hi"), json!("nul\u{0}")), "email.message"),
        (json!({"audience": "all", "email": {"subject": "Hi"}}), "email.message"),
        (json!({"audience": "all", "email": "Hi"}), "email"),
        (json!({"audience": "all", "email": {"subject": "Hi", "message": "m", "bcc": "x@example.com"}}), "email"),
    ];
    for (body, field) in cases {
        let (status, refused) = publish(&app, &m, &id, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
        assert_eq!(refused["error"]["field"], field, "{body}: {refused}");
    }
    // Each field valid, together asking to email nobody (future buyers get the purchase email).
    for body in [
        json!({"email": {"subject": "Hi", "message": "m"}}),
        json!({"audience": "future", "email": {"subject": "Hi", "message": "m"}}),
    ] {
        let (status, refused) = publish(&app, &m, &id, body.clone()).await;
        assert_eq!(
            (status, &refused["error"]["code"]),
            (StatusCode::CONFLICT, &json!("no_recipients")),
            "{body}: {refused}"
        );
    }
    let unpublished = release(&app, &m, &id, 2).await;
    assert_eq!((&unpublished["published_at"], &unpublished["emails"]), (&Value::Null, &Value::Null), "{unpublished}");
    let o = crate::fulfilment::order(&app, &m, past["id"].as_str().unwrap()).await;
    let kinds: Vec<&Value> = o["emails"].as_array().unwrap().iter().map(|e| &e["kind"]).collect();
    assert_eq!(kinds, [&json!("purchase")], "nothing queued: {o}");
    // 150 characters (not bytes) are fine.
    let (status, ok) = publish(&app, &m, &id, email(json!("é".repeat(150)), json!("m"))).await;
    assert_eq!(status, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["emails"]["queued"].as_i64().unwrap() + ok["emails"]["sent"].as_i64().unwrap(), 1, "{ok}");
}

async fn update_emails_keep_to_the_rate_and_purchase_emails_pass_them(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| {
        send_to(c, smtp_port());
        c.mail.update_emails_per_minute = 2;
    })
    .await;
    let m = app.merchant("Throttle Press").await;
    let maildev = Maildev::shared();
    let id = product(&app, &m, "Guide", json!({})).await;
    new_release(&app, &m, &id, "https://example.com/1.zip").await;
    let mut buyers = Vec::new();
    for n in 0..5 {
        let to = unique_address(&format!("rate{n}"));
        buy(&app, &m, &id, &to).await;
        buyers.push(to);
    }
    for to in &buyers {
        maildev.wait_for(to, 1).await;
    }
    new_release(&app, &m, &id, "https://example.com/2.zip").await;
    let body = json!({"audience": "all", "email": {"subject": "Throttled", "message": "Slowly"}});
    let (status, published) = publish(&app, &m, &id, body).await;
    assert_eq!(status, StatusCode::CREATED, "{published}");

    let sent = || async {
        let mut n = 0;
        for to in &buyers {
            n += maildev.to(to).await.iter().filter(|e| e["subject"] == "Throttled").count();
        }
        n
    };
    eventually(WITHIN, "two update emails go out at once", || async { (sent().await == 2).then_some(()) }).await;
    // A purchase made behind the backlog is not held up by it.
    let late = unique_address("late");
    buy(&app, &m, &id, &late).await;
    maildev.wait_for(&late, 1).await;
    // And no more update emails for the rest of the minute: polled for a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
    while std::time::Instant::now() < deadline {
        assert_eq!(sent().await, 2, "at most 2 update emails a minute");
        let counts = release(&app, &m, &id, 2).await["emails"].clone();
        assert_eq!(counts["queued"], 3, "{counts}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// The text between `start` and the next `end` in `html`, unescaped as a browser shows it.
fn between(html: &str, start: &str, end: &str) -> String {
    let from = html.find(start).unwrap_or_else(|| panic!("{start} in {html}")) + start.len();
    let text = &html[from..from + html[from..].find(end).unwrap()];
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

async fn the_dashboard_preview_counts_and_shows_exactly_the_email_sent(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let m = app.merchant("Preview Press").await;
    let maildev = Maildev::shared();
    let id = product(&app, &m, "Atlas", json!({})).await;
    new_release(&app, &m, &id, "https://example.com/atlas-1.zip").await;
    let (ada, bob) = (unique_address("ada"), unique_address("bob"));
    buy(&app, &m, &id, &ada).await;
    buy(&app, &m, &id, &bob).await;
    new_release(&app, &m, &id, "https://example.com/atlas-2.zip").await;
    let body = json!({"audience": "all", "email": {"subject": "Atlas 2", "message": "Hi"}});
    assert_eq!(publish(&app, &m, &id, body).await.0, StatusCode::CREATED);
    let bob_update = the_update(&maildev.wait_for(&bob, 2).await, "Atlas 2").clone();
    let bob_link = links(&bob_update, &app.url("/unsubscribe/")).remove(0);
    let one_click = app.client.post(&bob_link).body("List-Unsubscribe=One-Click").send().await.unwrap();
    assert_eq!(one_click.status(), StatusCode::OK);
    maildev.wait_for(&ada, 2).await;
    new_release(&app, &m, &id, "https://example.com/atlas-3.zip").await;

    let dashboard = crate::dashboard::Dashboard::sign_in(&app, &m).await;
    let (status, page) = dashboard.get(&format!("/dashboard/products/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Publish update") && page.contains("Release 3 is saved but not published"), "{page}");
    let path = format!("/dashboard/products/{id}/publish");
    let fields = |subject: &'static str, audience: &'static str| {
        vec![
            ("label", "3.0"),
            ("changelog", "- Polar maps\n- *Faster* index"),
            ("audience", audience),
            ("email_subject", subject),
            ("email_message", "Dear reader,\nthe polar maps are in."),
        ]
    };
    // Bad input: the page again naming the field; nothing published.
    for (subject, audience, named) in [
        ("Atlas 3\r\nBcc: victim@example.com", "all", "Email subject:"),
        ("Atlas 3", "future", "Update email:"),
        ("Atlas 3", "releases_up_to", "Who gets it:"),
    ] {
        let mut f = fields(subject, audience);
        f.push(("op", "preview"));
        let response = dashboard.post(&path, &f).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = response.text().await.unwrap();
        assert!(html.contains(named), "{named} in {html}");
    }
    assert_eq!(release(&app, &m, &id, 3).await["published_at"], Value::Null);

    let mut f = fields("Atlas 3.0 is here", "all");
    f.push(("op", "preview"));
    let response = dashboard.post(&path, &f).await;
    assert_eq!(response.status(), StatusCode::OK);
    let preview = response.text().await.unwrap();
    assert_eq!(between(&preview, "<dd data-orders>", "<"), "2", "both orders get it");
    assert_eq!(between(&preview, "<dd data-emails>", "<"), "1", "Bob unsubscribed");
    let subject = between(&preview, "<h2 data-preview-subject>", "</h2>");
    let text = between(&preview, "<pre class=\"mail-text\" data-preview-text>", "</pre>");
    assert_eq!(release(&app, &m, &id, 3).await["published_at"], Value::Null, "a preview publishes nothing");
    assert_eq!(maildev.to(&ada).await.len(), 2, "and sends nothing");

    let mut f = fields("Atlas 3.0 is here", "all");
    f.push(("op", "publish"));
    let response = dashboard.post(&path, &f).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(crate::dashboard::location(&response), format!("/dashboard/products/{id}?notice=published"));
    let received = maildev.wait_for(&ada, 3).await;
    let sent = the_update(&received, &subject);
    assert_eq!(sent["subject"], "Atlas 3.0 is here");
    let sent_text = sent["text"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(sent_text.trim_end(), text.replace("\r\n", "\n").trim_end(), "the preview is the email sent");
    assert!(sent_text.contains("- Polar maps\n- *Faster* index") && sent_text.contains("Dear reader,"), "{sent_text}");
    let counts = settled(&app, &m, &id, 3).await;
    assert_eq!(counts, json!({"queued": 0, "sent": 1, "failed": 0, "unsubscribed": 1}));
    assert_eq!(maildev.to(&bob).await.len(), 2, "nothing more to Bob");
    let (_, page) = dashboard.get(&format!("/dashboard/products/{id}")).await;
    assert!(
        page.contains("Update emails: 1 sent · 1 unsubscribed"),
        "the Releases card says where the emails stand: {page}"
    );
}

/// The rate is shared: two processes on one PostgreSQL send no more update emails a minute
/// together than one would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_the_update_email_rate() {
    let first = TestApp::spawn_with(Stack::ScaledOut, |c| {
        send_to(c, smtp_port());
        c.mail.update_emails_per_minute = 3;
    })
    .await;
    let second = first.spawn_alongside(|_| {}).await;
    let m = first.merchant("Shared Rate Press").await;
    let maildev = Maildev::shared();
    let id = product(&first, &m, "Guide", json!({})).await;
    new_release(&first, &m, &id, "https://example.com/1.zip").await;
    let mut buyers = Vec::new();
    for n in 0..8 {
        let to = unique_address(&format!("shared{n}"));
        buy(if n % 2 == 0 { &first } else { &second }, &m, &id, &to).await;
        buyers.push(to);
    }
    for to in &buyers {
        maildev.wait_for(to, 1).await;
    }
    new_release(&first, &m, &id, "https://example.com/2.zip").await;
    let body = json!({"audience": "all", "email": {"subject": "Shared rate", "message": "Slowly"}});
    assert_eq!(publish(&first, &m, &id, body).await.0, StatusCode::CREATED);
    // Both processes are woken (PostgreSQL notifies every listener) and poll every second.
    let sent = || async {
        let mut n = 0;
        for to in &buyers {
            n += maildev.to(to).await.iter().filter(|e| e["subject"] == "Shared rate").count();
        }
        n
    };
    eventually(WITHIN, "three update emails go out", || async { (sent().await == 3).then_some(()) }).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
    while std::time::Instant::now() < deadline {
        assert_eq!(sent().await, 3, "at most 3 a minute across both processes");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    drop(second);
}
