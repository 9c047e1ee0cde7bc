//! Hostile names and addresses: a line break in a customer's name once stopped all email. Typed
//! names are refused, names from a paid webhook are cleaned and kept; one email that cannot be
//! built never stops the others; international domains and names are written as RFC 5322 wants.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Maildev, WITHIN, fast_retries, send_to, smtp_port, unique_address};
use crate::fulfilment::{dodo_payment, order, orders, send_standard, send_stripe, settings, shop, stripe_session};
use crate::helpers::{Stack, TestApp, TestMerchant, error_code, eventually, on_both_stacks};
use crate::portal::on_pool;

on_both_stacks!(
    typed_names_with_line_breaks_are_refused,
    webhook_names_with_line_breaks_are_cleaned_and_mailed,
    a_poisoned_email_left_sending_does_not_stop_the_next_worker,
    an_email_that_cannot_be_built_is_marked_and_the_next_one_is_sent,
    international_domains_and_names_are_encoded,
    bidi_controls_are_refused_in_product_and_file_names,
);

const EVE: &str = "Eve\r\nBcc: victim@example.com\u{202E}";

/// The emails of the merchant's only order with `to`, once its email reached `status`.
async fn email_of(app: &TestApp, m: &TestMerchant, to: &str, status: &str) -> (Value, Value) {
    eventually(WITHIN, &format!("the email to {to} is {status}"), || async {
        let list = orders(app, m).await;
        let summary = list.iter().find(|o| o["customer_email"] == to)?;
        let detail = order(app, m, summary["id"].as_str().unwrap()).await;
        let email = detail["emails"][0].clone();
        (email["status"] == status).then_some((detail, email))
    })
    .await
}

/// The raw message the file mailbox holds for email `id`.
fn mailbox_file(app: &TestApp, id: &str) -> String {
    let path = app.state.config.mailbox_dir().join(format!("{id}.eml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The display name (decoded) and the address of the `To` header of a raw message.
fn to_of(raw: &str) -> (String, String) {
    use base64::Engine;
    let head = headers(raw);
    assert!(head.is_ascii(), "every header is ASCII: {head}");
    assert_eq!(head.matches("\nTo: ").count(), 1, "one To header: {head}");
    assert!(!head.contains("\nBcc:"), "no header was injected: {head}");
    let line = head.lines().find_map(|l| l.strip_prefix("To: ")).unwrap();
    let (name, address) = line.rsplit_once(" <").unwrap_or(("", line));
    let address = address.trim_start_matches('<').trim_end_matches('>').to_owned();
    let name = if name.starts_with("=?") {
        let words = name.split(' ').map(|w| {
            let encoded = w.strip_prefix("=?utf-8?b?").and_then(|w| w.strip_suffix("?=")).expect("a base64 word");
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap()
        });
        words.collect()
    } else {
        name.trim_matches('"').to_owned()
    };
    (name, address)
}

/// The header block of a raw message, unfolded, each `Name: value` after a line break.
fn headers(raw: &str) -> String {
    let head = raw.split("\r\n\r\n").next().unwrap();
    format!("\n{}", head.replace("\r\n ", " ").replace("\r\n\t", " ").replace("\r\n", "\n"))
}

async fn typed_names_with_line_breaks_are_refused(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Typed Names", "guide.pdf", b"%PDF-1.4 typed".to_vec()).await;
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    for name in [EVE, "Eve\nX", "Nul\u{0}Name", "Bidi\u{202E}fdp.exe"] {
        let body =
            json!({"customer": {"email": "eve@example.com", "name": name}, "items": [{"product_id": shop.product_id}]});
        let response = app.api(&shop.m, Method::POST, "/orders").json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        let error: Value = response.json().await.unwrap();
        assert_eq!((error_code(&error), error["error"]["field"].as_str()), ("invalid_field", Some("customer.name")));

        let response = app
            .client
            .post(app.url(&format!("/buy/{}", shop.product_id)))
            .form(&[("name", name), ("email", "eve@example.com")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "/buy {name:?}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Name: the name must not contain control characters"), "{html}");
    }
    assert!(orders(&app, &shop.m).await.is_empty(), "nothing was made");
}

async fn webhook_names_with_line_breaks_are_cleaned_and_mailed(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = shop(&app, "Webhook Names", "guide.pdf", b"%PDF-1.4 names".to_vec()).await;
    let to = unique_address("eve");
    let escaped = serde_json::to_string(EVE).unwrap();
    let body = dodo_payment("pay_eve", &shop.product_id, &to).replace("Grace Hopper", escaped.trim_matches('"'));
    assert_eq!(send_standard(&app, &shop.m, "msg_eve", &body).await.status(), StatusCode::OK);
    let (detail, email) = email_of(&app, &shop.m, &to, "sent").await;
    assert_eq!(detail["customer_name"], "Eve Bcc: victim@example.com", "cleaned and kept");
    let received = Maildev::shared().wait_for(&to, 1).await.remove(0);
    let raw = Maildev::shared().source(received["id"].as_str().unwrap()).await;
    assert_eq!(to_of(&raw), ("Eve Bcc: victim@example.com".to_owned(), to.clone()));
    assert!(Maildev::shared().to("victim@example.com").await.is_empty(), "no header was injected");
    assert_eq!(email["attempts"], 1);

    // Stripe's name, into the file mailbox of an app without SMTP.
    let app = TestApp::spawn_with(stack, fast_retries).await;
    let shop = crate::fulfilment::shop(&app, "Stripe Names", "guide.pdf", b"%PDF-1.4 names".to_vec()).await;
    let secret = "whsec_stripeNamesSecret0123456789";
    settings(&app, &shop.m, json!({"stripe_webhook_secret": secret})).await;
    let to = unique_address("eve-stripe");
    let object = json!({"metadata": {"satchel_product_id": shop.product_id},
                        "customer_details": {"email": to, "name": EVE}});
    let body = stripe_session("evt_eve", "pi_eve", object);
    assert_eq!(send_stripe(&app, &shop.m, secret, &body).await.status(), StatusCode::OK);
    let (detail, email) = email_of(&app, &shop.m, &to, "sent").await;
    assert_eq!(detail["customer_name"], "Eve Bcc: victim@example.com");
    let raw = mailbox_file(&app, email["id"].as_str().unwrap());
    assert_eq!(to_of(&raw), ("Eve Bcc: victim@example.com".to_owned(), to));
}

async fn a_poisoned_email_left_sending_does_not_stop_the_next_worker(stack: Stack) {
    // The first process cannot reach a server: the email is retried, never sent.
    let nothing_listens = crate::helpers::ReservedPort::new();
    let mut first = TestApp::spawn_with(stack, |c| send_to(c, nothing_listens.port())).await;
    let shop = shop(&first, "Poisoned Row", "guide.pdf", b"%PDF-1.4 poison".to_vec()).await;
    let to = unique_address("poisoned");
    let created = crate::fulfilment::buy(&first, &shop.m, &shop.product_id, &to).await;
    email_of(&first, &shop.m, &to, "retrying").await;
    first.stop().await;
    // As an older version left it: a name with a line break stored, its email claimed by a
    // worker that died on it, the lease run out.
    let order_id = created["id"].as_str().unwrap();
    let db = satchel::app::connect_db(&first.state.config).await.unwrap();
    on_pool!(&db, pool => {
        sqlx::query("UPDATE customers SET name = $1 WHERE id = (SELECT customer_id FROM orders WHERE id = $2)")
            .bind("Eve\r\nX").bind(order_id).execute(pool).await.unwrap();
        sqlx::query("UPDATE emails SET status = 'sending', locked_until = 1 WHERE order_id = $1")
            .bind(order_id).execute(pool).await.unwrap();
    });
    db.close().await;

    let next = first.spawn_alongside(|c| send_to(c, smtp_port())).await;
    let (_, email) = email_of(&next, &shop.m, &to, "sent").await;
    let received = Maildev::shared().wait_for(&to, 1).await.remove(0);
    let raw = Maildev::shared().source(received["id"].as_str().unwrap()).await;
    assert_eq!(to_of(&raw), ("Eve X".to_owned(), to.clone()));
    assert!(email["attempts"].as_i64().unwrap() >= 2, "{email}");

    // The worker still runs and sends the next order's email.
    let later = unique_address("after-poison");
    crate::fulfilment::buy(&next, &shop.m, &shop.product_id, &later).await;
    Maildev::shared().wait_for(&later, 1).await;
    let ready: Value = next.client.get(next.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["mail"], "ok");
}

async fn an_email_that_cannot_be_built_is_marked_and_the_next_one_is_sent(stack: Stack) {
    for smtp in [false, true] {
        let app = TestApp::spawn_with(stack, |c| if smtp { send_to(c, smtp_port()) } else { fast_retries(c) }).await;
        let shop = shop(&app, "Broken Address", "guide.pdf", b"%PDF-1.4 broken".to_vec()).await;
        // Accepted as an address here, but its local part is longer than mail allows (64).
        let broken = format!("{}@example.com", "x".repeat(65));
        crate::fulfilment::buy(&app, &shop.m, &shop.product_id, &broken).await;
        let fine = unique_address("after-broken");
        crate::fulfilment::buy(&app, &shop.m, &shop.product_id, &fine).await;

        let (_, failing) = email_of(&app, &shop.m, &broken, "retrying").await;
        let error = failing["last_error"].as_str().unwrap();
        assert!(error.contains("recipient"), "the reason is kept: {error}");
        let (_, sent) = email_of(&app, &shop.m, &fine, "sent").await;
        if smtp {
            Maildev::shared().wait_for(&fine, 1).await;
        } else {
            assert!(mailbox_file(&app, sent["id"].as_str().unwrap()).contains(&fine));
        }
        let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["mail"], "ok", "smtp: {smtp}");
    }
    let metrics = satchel::telemetry::render();
    assert!(metrics.contains("satchel_mail_worker_up"), "the worker's health is a metric:\n{metrics}");
}

async fn international_domains_and_names_are_encoded(stack: Stack) {
    for smtp in [false, true] {
        let app = TestApp::spawn_with(stack, |c| if smtp { send_to(c, smtp_port()) } else { fast_retries(c) }).await;
        let shop = shop(&app, "Bücher Laden", "guide.pdf", b"%PDF-1.4 idn".to_vec()).await;
        let local = unique_address("zoe").split('@').next().unwrap().to_owned();
        let to = format!("{local}@bücher.example");
        let ascii = format!("{local}@xn--bcher-kva.example");
        let body = json!({"customer": {"email": to, "name": "Zoë Ünal"}, "items": [{"product_id": shop.product_id}]});
        let response = app.api(&shop.m, Method::POST, "/orders").json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        // A NUL in a provider's name once failed its email as "missing destination address".
        let nul_to = unique_address("nul");
        let nul = dodo_payment("pay_nul", &shop.product_id, &nul_to).replace("Grace Hopper", "Nul\\u0000Name");
        assert_eq!(send_standard(&app, &shop.m, "msg_nul", &nul).await.status(), StatusCode::OK);

        let (_, email) = email_of(&app, &shop.m, &to, "sent").await;
        let (_, nul_email) = email_of(&app, &shop.m, &nul_to, "sent").await;
        let (raw, nul_raw) = if smtp {
            let maildev = Maildev::shared();
            // maildev's parser shows the domain in Unicode again; the raw source is what was sent.
            let received = maildev.wait_for(&to, 1).await.remove(0);
            let nul_received = maildev.wait_for(&nul_to, 1).await.remove(0);
            (
                maildev.source(received["id"].as_str().unwrap()).await,
                maildev.source(nul_received["id"].as_str().unwrap()).await,
            )
        } else {
            (mailbox_file(&app, email["id"].as_str().unwrap()), mailbox_file(&app, nul_email["id"].as_str().unwrap()))
        };
        // The name is RFC 2047 encoded (to_of decodes only that), the domain punycoded.
        assert_eq!(to_of(&raw), ("Zoë Ünal".to_owned(), ascii), "{raw}");
        assert_eq!(to_of(&nul_raw), ("Nul Name".to_owned(), nul_to), "{nul_raw}");
    }
}

async fn bidi_controls_are_refused_in_product_and_file_names(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Bidi Names").await;
    let spoof = "invoice\u{202E}fdp.exe";
    let body = json!({"name": spoof, "price_minor": 100, "currency": "USD"});
    let response = app.api(&m, Method::POST, "/products").json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["field"], "name");

    let encoded: String = url::form_urlencoded::byte_serialize(spoof.as_bytes()).collect();
    let response = app
        .api(&m, Method::POST, &format!("/files?filename={encoded}"))
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.4 bidi".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "upload file name");
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["field"], "filename");

    let file = crate::fulfilment::upload(&app, &m, "guide.pdf", "application/pdf", b"%PDF-1.4 ok").await;
    let product_id = crate::fulfilment::product(&app, &m, "Guide", json!({})).await;
    for name in [spoof, "x\u{2066}y.pdf", "x\u{200F}.pdf", "x\u{061C}.pdf"] {
        let delivery = json!({"mode": "files", "files": [{"file_id": file["id"], "display_name": name}]});
        let path = format!("/products/{product_id}/delivery");
        let response = app.api(&m, Method::PUT, &path).json(&delivery).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "display name {name:?}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["field"], "files.display_name");
    }
}
