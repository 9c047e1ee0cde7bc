//! The orders pages: the list with its search and filters, one order with its actions, and
//! the CSRF wall in front of every form of the orders, settings and mailbox pages.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Dashboard, location};
use crate::fulfilment::{buy, delivery_url, dodo_payment, dodo_refund, order, send_standard, settings, shop};
use crate::helpers::{Stack, TestApp, TestMerchant, eventually, on_both_stacks};
use crate::mail::WITHIN;

on_both_stacks!(
    dashboard_orders_list_shows_email_state_and_downloads,
    dashboard_order_page_resends_revokes_and_restores,
    dashboard_order_page_shows_a_refund,
    dashboard_forms_without_the_csrf_token_are_refused,
    dashboard_orders_are_listed_fifty_a_page,
);

/// Buys `product_id` through its test checkout; returns the delivery page's path (`/d/…`).
pub async fn checkout(app: &TestApp, product_id: &str, email: &str) -> String {
    let response =
        app.client.post(app.url(&format!("/buy/{product_id}"))).form(&[("name", "Ada"), ("email", email)]).send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "test checkout");
    location(&response)
}

/// Records a paid order of `amount_minor` USD through the API; returns the order detail.
pub async fn paid(app: &TestApp, m: &TestMerchant, product_id: &str, email: &str, amount_minor: i64) -> Value {
    let body = json!({"customer": {"email": email, "name": "Ada"}, "items": [{"product_id": product_id}],
                      "amount_minor": amount_minor, "currency": "USD"});
    let response = app.api(m, reqwest::Method::POST, "/orders").json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// The `<tr>…</tr>` of `html` that contains `needle`.
pub fn row_of<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html.find(needle).unwrap_or_else(|| panic!("{needle} in {html}"));
    let start = html[..at].rfind("<tr").expect("inside a table row");
    let end = at + html[at..].find("</tr>").expect("row ends");
    &html[start..end]
}

async fn dashboard_orders_list_shows_email_state_and_downloads(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    let delivery = checkout(&app, &shop.product_id, "ada@readers.example").await;
    let bob = paid(&app, &shop.m, &shop.product_id, "bob@readers.example", 1250).await;
    let file = app.client.get(app.url(&format!("{delivery}/files/1"))).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;

    // Mail is sent and the download counted by background workers: wait until the list says so.
    let html = eventually(WITHIN, "the list shows ada's email sent and her download", || async {
        let (status, html) = dashboard.get("/dashboard/orders").await;
        assert_eq!(status, StatusCode::OK);
        let row = row_of(&html, "ada@readers.example");
        (row.contains(r#"badge-ok">Sent"#) && row.contains(r#"data-label="Downloads">1</td>"#)).then_some(html)
    })
    .await;
    let bob_row = row_of(&html, "bob@readers.example");
    assert!(bob_row.contains("Field Guide") && bob_row.contains("$12.50"), "{bob_row}");
    assert!(bob_row.contains(r#"data-label="Downloads">0</td>"#), "no downloads yet: {bob_row}");
    assert!(!html.contains(r#"id="unmatched""#), "no unmatched payments to show");

    let (_, found) = dashboard.get("/dashboard/orders?q=ADA%40readers").await;
    assert!(found.contains("ada@readers.example") && !found.contains("bob@readers.example"), "search: {found}");
    let (_, none) = dashboard.get("/dashboard/orders?q=nobody").await;
    assert!(none.contains("No orders match"), "{none}");

    let bob_id = bob["id"].as_str().unwrap();
    assert_eq!(
        dashboard.post(&format!("/dashboard/orders/{bob_id}/revoke"), &[("confirm", "revoke")]).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, revoked) = dashboard.get("/dashboard/orders?status=revoked").await;
    assert!(revoked.contains("bob@readers.example") && !revoked.contains("ada@readers.example"), "{revoked}");
    let (_, paid) = dashboard.get("/dashboard/orders?status=paid").await;
    assert!(paid.contains("ada@readers.example") && !paid.contains("bob@readers.example"), "{paid}");
    let (_, trouble) = dashboard.get("/dashboard/orders?email=trouble").await;
    assert!(trouble.contains("No orders match"), "every email went out: {trouble}");

    // Another shop's order is not found, whoever knows its id.
    let other = crate::fulfilment::shop(&app, "Other Shop", "x.pdf", b"%PDF-1.4 other".to_vec()).await;
    let theirs = buy(&app, &other.m, &other.product_id, "carol@elsewhere.example").await;
    let (status, page) = dashboard.get(&format!("/dashboard/orders/{}", theirs["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!page.contains("carol@elsewhere.example"));
    let (_, list) = dashboard.get("/dashboard/orders").await;
    assert!(!list.contains("carol@elsewhere.example"), "only this shop's orders are listed");
}

async fn dashboard_order_page_resends_revokes_and_restores(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let bought = buy(&app, &shop.m, &shop.product_id, "ada@readers.example").await;
    let id = bought["id"].as_str().unwrap();
    let link = delivery_url(&bought);
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;
    let path = format!("/dashboard/orders/{id}");

    let (status, page) = dashboard.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [link.as_str(), "field-guide.pdf", "ada@readers.example", ">Resend email<", ">Revoke access…<"] {
        assert!(page.contains(expected), "{expected} on the order page");
    }

    let resent = dashboard.post(&format!("{path}/resend"), &[]).await;
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resent), format!("{path}?notice=resent"));
    let (_, page) = dashboard.get(&location(&resent)).await;
    assert!(page.contains("A new copy of the purchase email is on its way."));
    assert!(page.contains("Resent copy"), "the new email is listed");
    let emails = order(&app, &shop.m, id).await["emails"].as_array().unwrap().clone();
    assert_eq!(emails.iter().map(|e| e["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["purchase", "resend"]);
    for _ in 0..2 {
        assert_eq!(dashboard.post(&format!("{path}/resend"), &[]).await.status(), StatusCode::SEE_OTHER);
    }
    let limited = dashboard.post(&format!("{path}/resend"), &[]).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = limited.text().await.unwrap();
    assert!(page.contains("already resent 3 times in the last hour"), "{page}");
    assert_eq!(order(&app, &shop.m, id).await["emails"].as_array().unwrap().len(), 4, "no 5th email");

    let revoked = dashboard.post(&format!("{path}/revoke"), &[("confirm", "revoke")]).await;
    assert_eq!(location(&revoked), format!("{path}?notice=revoked"));
    assert_eq!(app.client.get(&link).send().await.unwrap().status(), StatusCode::NOT_FOUND, "at once");
    let (_, page) = dashboard.get(&path).await;
    assert!(page.contains(">Restore access<") && !page.contains(">Revoke access…<") && page.contains("Revoked"));

    let restored = dashboard.post(&format!("{path}/restore"), &[]).await;
    assert_eq!(location(&restored), format!("{path}?notice=restored"));
    assert_eq!(app.client.get(&link).send().await.unwrap().status(), StatusCode::OK);
    let (_, page) = dashboard.get(&path).await;
    assert!(page.contains(">Revoke access…<"));
}

async fn dashboard_order_page_shows_a_refund(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let payment = dodo_payment("pay_81", &shop.product_id, "ada@x.example");
    assert_eq!(send_standard(&app, &shop.m, "msg_pay_1", &payment).await.status(), StatusCode::OK);
    let refunded = send_standard(&app, &shop.m, "msg_ref_1", &dodo_refund("pay_81")).await;
    assert_eq!(refunded.status(), StatusCode::OK);
    let list = crate::fulfilment::orders(&app, &shop.m).await;
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;

    let (_, page) = dashboard.get(&format!("/dashboard/orders/{}", list[0]["id"].as_str().unwrap())).await;
    assert!(page.contains(r#"badge-warn">Refunded</span>"#), "status badge: {page}");
    assert!(page.contains("Refunded on "), "refund date");
    assert!(page.contains("Kept after the refund"), "access stays by default (rule 3)");
    assert!(page.contains("refund.succeeded") && page.contains("msg_ref_1"), "the refund event is listed");
    let (_, refunds) = dashboard.get("/dashboard/orders?status=refunded").await;
    assert!(refunds.contains("ada@x.example"));
}

async fn dashboard_forms_without_the_csrf_token_are_refused(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let bought = buy(&app, &shop.m, &shop.product_id, "ada@readers.example").await;
    let id = bought["id"].as_str().unwrap();
    let unmatched = dodo_payment("pay_u1", "prod_unknown", "ada@x.example");
    assert_eq!(send_standard(&app, &shop.m, "msg_u1", &unmatched).await.status(), StatusCode::OK);
    let event =
        crate::fulfilment::payment_events(&app, &shop.m, "unmatched").await[0]["id"].as_str().unwrap().to_owned();
    let key = satchel::db::api_keys::list(&app.state.db, &shop.m.id).await.unwrap()[0].id.clone();
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;

    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/dashboard/orders/{id}/resend"), vec![]),
        (format!("/dashboard/orders/{id}/revoke"), vec![("confirm", "revoke")]),
        (format!("/dashboard/orders/{id}/files/1/reset"), vec![]),
        (format!("/dashboard/orders/{id}/extend"), vec![]),
        (format!("/dashboard/orders/{id}/restore"), vec![]),
        (format!("/dashboard/unmatched/{event}/assign"), vec![("product_id", &shop.product_id)]),
        ("/dashboard/settings/policy".into(), vec![("expiry", "1"), ("expiry_unit", "days")]),
        ("/dashboard/settings/sender".into(), vec![("sender_email", "mallory@evil.example")]),
        ("/dashboard/settings/test-mode".into(), vec![("test_mode", "on")]),
        ("/dashboard/settings/stripe".into(), vec![("stripe_secret", "whsec_forged_secret")]),
        ("/dashboard/settings/api-keys".into(), vec![("name", "forged")]),
        (format!("/dashboard/settings/api-keys/{key}/revoke"), vec![]),
    ];
    for (path, fields) in &forms {
        let response =
            dashboard.client.post(app.url(path)).header("origin", &app.address).form(fields).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} without the token");
        let forged = dashboard.client.post(app.url(path)).header("origin", "https://evil.example");
        let mut with_token = fields.clone();
        with_token.push(("csrf", &dashboard.csrf));
        assert_eq!(forged.form(&with_token).send().await.unwrap().status(), StatusCode::FORBIDDEN, "{path} cross-site");
    }

    let after = order(&app, &shop.m, id).await;
    assert_eq!((after["status"].as_str(), after["emails"].as_array().unwrap().len()), (Some("paid"), 1));
    let (_, now) = app.get_json(&shop.m, "/settings").await;
    assert_eq!((now["test_mode"].as_bool(), now["link_expiry_seconds"].as_i64()), (Some(false), None), "{now}");
    assert!(now["sender_email"].is_null() && now["webhooks"]["stripe_secret_set"] == false, "{now}");
    assert_eq!(crate::fulfilment::orders(&app, &shop.m).await.len(), 1, "nothing assigned");
    assert_eq!(satchel::db::api_keys::list(&app.state.db, &shop.m.id).await.unwrap().len(), 1);
    assert_eq!(app.get_json(&shop.m, "/products").await.0, StatusCode::OK, "the key still works");
}

/// The `href` of the link marked `rel="{rel}"`, if the page has one.
fn link_rel(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!(r#"rel="{rel}""#))?;
    let start = html[..at].rfind("href=\"")? + 6;
    Some(html[start..].split('"').next()?.replace("&#38;", "&"))
}

async fn dashboard_orders_are_listed_fifty_a_page(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    for n in 0..53 {
        paid(&app, &shop.m, &shop.product_id, &format!("reader{n:02}@pages.example"), 100).await;
    }
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;
    let rows = |html: &str| html.matches(r#"class="row-link""#).count();

    let (_, first) = dashboard.get("/dashboard/orders?q=pages.example").await;
    assert_eq!(rows(&first), 50);
    assert!(first.contains("reader52@") && !first.contains("reader02@"), "newest first");
    assert_eq!(link_rel(&first, "prev"), None, "nothing newer than the first page");
    let older = link_rel(&first, "next").expect("an older page");
    assert!(older.contains("q=pages.example&") && older.contains("after="), "keeps the search: {older}");
    let (_, second) = dashboard.get(&older).await;
    assert_eq!(rows(&second), 3);
    for n in 0..3 {
        assert!(second.contains(&format!("reader{n:02}@")), "reader{n:02} on the last page");
    }
    assert_eq!(link_rel(&second, "next"), None, "nothing older");
    let (_, back) = dashboard.get(&link_rel(&second, "prev").expect("a newer page")).await;
    assert_eq!(rows(&back), 50);
    assert!(back.contains("reader52@") && back.contains("reader03@"), "the same first page again");
}
