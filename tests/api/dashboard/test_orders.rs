//! Test orders are kept apart from real ones: marked in the API and the pages, left out of
//! counts, revenue and "Spent", filtered, announced by the test-mode bar, marked in their
//! emails, and deleted together by "Delete test data", which leaves real orders as they were.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::orders::{checkout, paid, row_of};
use super::{Dashboard, location};
use crate::fulfilment::{
    delivery_url, flush_download_log, order, orders, send_stripe, settings, shop, stripe_session, wait_for_order,
};
use crate::helpers::{Stack, TestApp, error_code, on_both_stacks};
use crate::mail::fast_retries;
use crate::portal::on_pool;
use satchel::mail::parse::read;

on_both_stacks!(
    test_orders_are_marked_filtered_and_left_out_of_counts,
    test_order_emails_say_they_are_tests,
    deleting_test_data_leaves_real_orders_as_they_were,
    stripe_test_mode_payments_are_test_orders,
);

fn by_email<'a>(list: &'a [Value], email: &str) -> &'a Value {
    list.iter().find(|o| o["customer_email"] == email).unwrap_or_else(|| panic!("{email} in {list:#?}"))
}

async fn test_orders_are_marked_filtered_and_left_out_of_counts(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    checkout(&app, &shop.product_id, "ada@readers.example").await;
    paid(&app, &shop.m, &shop.product_id, "bob@readers.example", 1250).await;

    let all = orders(&app, &shop.m).await;
    assert_eq!(by_email(&all, "ada@readers.example")["test"], json!(true));
    assert_eq!(by_email(&all, "bob@readers.example")["test"], json!(false));
    for (filter, email) in [("true", "ada@readers.example"), ("false", "bob@readers.example")] {
        let (status, listed) = app.get_json(&shop.m, &format!("/orders?test={filter}")).await;
        assert_eq!(status, StatusCode::OK);
        let emails: Vec<&str> =
            listed.as_array().unwrap().iter().map(|o| o["customer_email"].as_str().unwrap()).collect();
        assert_eq!(emails, [email], "?test={filter}");
    }
    let (status, refused) = app.get_json(&shop.m, "/orders?test=maybe").await;
    assert_eq!((status, error_code(&refused)), (StatusCode::BAD_REQUEST, "invalid_query"), "{refused}");
    assert!(refused.to_string().contains("test: "), "names the parameter: {refused}");
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    let order =
        schemas.as_object().unwrap().iter().find(|(_, s)| s["properties"]["max_downloads_per_file"].is_object());
    assert_eq!(order.unwrap().1["properties"]["test"]["type"], "boolean", "documented");

    let d = Dashboard::sign_in(&app, &shop.m).await;
    let (_, list) = d.get("/dashboard/orders").await;
    let ada = row_of(&list, "ada@readers.example");
    assert!(ada.starts_with(r#"<tr class="row-test">"#) && ada.contains(">Test</span>"), "{ada}");
    let bob = row_of(&list, "bob@readers.example");
    assert!(bob.starts_with("<tr>") && !bob.contains(">Test</span>") && bob.contains("$12.50"), "{bob}");
    assert!(list.contains(r#"<a class="button button-quiet" href="/dashboard/test-data">Delete test data</a>"#));
    for (mode, shown, hidden) in
        [("test", "ada@readers.example", "bob@readers.example"), ("live", "bob@readers.example", "ada@readers.example")]
    {
        let (status, page) = d.get(&format!("/dashboard/orders?mode={mode}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(shown) && !page.contains(hidden), "mode={mode}: {page}");
        assert!(page.contains(&format!(r#"<option value="{mode}" selected>"#)), "the filter shows: {page}");
    }

    let (_, overview) = d.get("/dashboard").await;
    for shown in [
        r#"<span class="stat-value">$12.50</span><span class="muted">USD · 1 sale</span>"#,
        r#"<span class="stat-value">1</span><span class="muted">Orders</span>"#,
        r#"<span class="stat-value">1</span><span class="muted">Customers</span>"#,
        r#"<a href="/dashboard/orders?mode=test">1 test order</a> left out"#,
        r#"<div class="test-banner" role="status"><strong>Test mode is on:</strong>"#,
    ] {
        assert!(overview.contains(shown), "{shown} on {overview}");
    }
    assert!(!overview.contains("$32.49") && !overview.contains("$19.99</span>"), "the test order is no revenue");

    let (_, customers) = d.get("/dashboard/customers").await;
    let ada = row_of(&customers, "ada@readers.example");
    assert!(
        ada.contains(">Test</span>")
            && ada.contains(r#"data-label="Orders">0 <span class="muted small nowrap">+1 test</span>"#)
    );
    assert!(ada.contains(r#"<td class="num m-end">—</td>"#), "a test order is not money spent: {ada}");
    let bob = row_of(&customers, "bob@readers.example");
    assert!(bob.contains(r#"<td class="num m-end">$12.50</td>"#) && !bob.contains(">Test</span>"), "{bob}");

    settings(&app, &shop.m, json!({"test_mode": false})).await;
    for page in ["/dashboard", "/dashboard/orders", "/dashboard/customers"] {
        let (_, html) = d.get(page).await;
        assert!(!html.contains("test-banner"), "no test-mode bar once it is off: {page}");
    }
    let (_, list) = d.get("/dashboard/orders").await;
    assert!(row_of(&list, "ada@readers.example").contains(">Test</span>"), "a test order stays marked");
}

async fn stripe_test_mode_payments_are_test_orders(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Stripe Books", "field-guide.pdf", b"%PDF-1.4 stripe".to_vec()).await;
    let secret = "whsec_stripeTestSecret0123456789abcdef";
    settings(&app, &shop.m, json!({"stripe_webhook_secret": secret})).await;
    let metadata = json!({"metadata": {"satchel_product_id": shop.product_id}});
    let test_mode = stripe_session("evt_test_1", "pi_test_1", metadata.clone());
    let live = stripe_session("evt_live_1", "pi_live_1", metadata).replace(r#""livemode":false"#, r#""livemode":true"#);
    assert!(live.contains(r#""livemode":true"#) && !live.contains(r#""livemode":false"#));
    for body in [&test_mode, &live] {
        assert_eq!(send_stripe(&app, &shop.m, secret, body).await.status(), StatusCode::OK);
    }
    let all = orders(&app, &shop.m).await;
    let test_of = |payment: &str| all.iter().find(|o| o["payment_id"] == payment).map(|o| o["test"].clone());
    assert_eq!((test_of("pi_test_1"), test_of("pi_live_1")), (Some(json!(true)), Some(json!(false))));
}

/// The purchase email of `order_id` as written to the file mailbox, once sent.
async fn mailed(app: &TestApp, m: &crate::helpers::TestMerchant, order_id: &str) -> String {
    let detail =
        wait_for_order(app, m, order_id, "the purchase email sent", |o| o["emails"][0]["status"] == "sent").await;
    let id = detail["emails"][0]["id"].as_str().unwrap();
    std::fs::read_to_string(app.state.config.data_dir.join("mailbox").join(format!("{id}.eml"))).unwrap()
}

async fn test_order_emails_say_they_are_tests(stack: Stack) {
    let app = TestApp::spawn_with(stack, fast_retries).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    checkout(&app, &shop.product_id, "ada@readers.example").await;
    let bob = paid(&app, &shop.m, &shop.product_id, "bob@readers.example", 1250).await;
    let all = orders(&app, &shop.m).await;
    let ada = by_email(&all, "ada@readers.example")["id"].as_str().unwrap().to_owned();

    let test_mail = read(&mailed(&app, &shop.m, &ada).await);
    assert_eq!(test_mail.subject, "[Test] Your purchase from Quiet Pine Press: Field Guide");
    let text = test_mail.text.expect("a plain text part").replace("\r\n", "\n");
    let opening = "[Test] This is a test order, placed in test mode: no payment was taken.\n\nHello Ada,\n\n\
                   Thank you for your purchase from Quiet Pine Press.\n";
    assert!(text.starts_with(opening), "{text}");
    let html = test_mail.html.expect("an HTML part");
    assert!(html.contains(">[Test] This is a test order, placed in test mode: no payment was taken.</td>"), "{html}");

    let raw = mailed(&app, &shop.m, bob["id"].as_str().unwrap()).await;
    assert!(!raw.contains("[Test]"), "a real order's email is not marked: {raw}");
    let real_mail = read(&raw);
    assert_eq!(real_mail.subject, "Your purchase from Quiet Pine Press: Field Guide");
    let text = real_mail.text.unwrap().replace("\r\n", "\n");
    assert!(text.starts_with("Hello Ada,\n\nThank you for your purchase from Quiet Pine Press."), "{text}");
    assert!(text.contains(" - $12.50\n"), "{text}");
}

/// The rows `sql` (with `$1` = `id`) selects, each cell as text: whatever its type, the same
/// stored value gives the same text.
async fn dump_rows(app: &TestApp, sql: &str, id: &str) -> Vec<String> {
    use sqlx::Row;
    on_pool!(&app.state.db, pool => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).bind(id).fetch_all(pool).await.unwrap();
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                            format!("{v:?}")
                        } else if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                            format!("{v:?}")
                        } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                            format!("{v:?}")
                        } else {
                            "(unreadable)".to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    })
}

/// Every row the database holds for `orders` (ids), as text, table by table, for comparing.
async fn rows_of(app: &TestApp, orders: &[&str]) -> Vec<String> {
    let mut all = Vec::new();
    for (table, key) in [
        ("orders", "id"),
        ("order_items", "order_id"),
        ("order_files", "order_id"),
        ("download_events", "order_id"),
        ("emails", "order_id"),
        ("payment_events", "order_id"),
        ("idempotency_keys", "order_id"),
    ] {
        for id in orders {
            let sql = format!("SELECT * FROM {table} WHERE {key} = $1");
            all.push(format!("{table} {id}: {:?}", dump_rows(app, &sql, id).await));
        }
    }
    all
}

async fn deleting_test_data_leaves_real_orders_as_they_were(stack: Stack) {
    let app = TestApp::spawn_with(stack, fast_retries).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    settings(&app, &shop.m, json!({"test_mode": true})).await;
    let other = crate::fulfilment::shop(&app, "Other Press", "other.pdf", b"%PDF-1.4 other".to_vec()).await;
    settings(&app, &other.m, json!({"test_mode": true})).await;
    let others_test = checkout(&app, &other.product_id, "ada@readers.example").await;

    // Bob bought for real and tried the test checkout; Carol only tried it.
    let bob = paid(&app, &shop.m, &shop.product_id, "bob@readers.example", 1250).await;
    let bob_id = bob["id"].as_str().unwrap().to_owned();
    let bob_file = format!("{}/files/1", delivery_url(&bob));
    assert_eq!(crate::fulfilment::download(&app, &bob_file).await, shop.bytes);
    let test_links = [
        checkout(&app, &shop.product_id, "bob@readers.example").await,
        checkout(&app, &shop.product_id, "carol@x.example").await,
    ];
    let test_ids: Vec<String> = orders(&app, &shop.m)
        .await
        .iter()
        .filter(|o| o["test"] == true)
        .map(|o| o["id"].as_str().unwrap().into())
        .collect();
    assert_eq!(test_ids.len(), 2);
    for id in test_ids.iter().chain([&bob_id]) {
        mailed(&app, &shop.m, id).await;
    }
    flush_download_log(&app, &shop.m, &bob_id, &bob_file).await;
    let bob_before = order(&app, &shop.m, &bob_id).await;
    let rows_before = rows_of(&app, &[&bob_id]).await;
    let test_mail: Vec<String> = {
        let mut ids = Vec::new();
        for id in &test_ids {
            ids.push(order(&app, &shop.m, id).await["emails"][0]["id"].as_str().unwrap().to_owned());
        }
        ids
    };
    let mailbox = app.state.config.data_dir.join("mailbox");
    assert!(mailbox.join(format!("{}.eml", test_mail[0])).exists());

    let d = Dashboard::sign_in(&app, &shop.m).await;
    let (status, confirm) = d.get("/dashboard/test-data").await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("<h1>Delete 2 test orders?</h1>") && confirm.contains(r#"action="/dashboard/test-data""#));
    assert_eq!(rows_of(&app, &[&bob_id]).await, rows_before, "looking deletes nothing");
    let no_token = d.client.post(app.url("/dashboard/test-data")).header("origin", &app.address).send().await.unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN, "the form's CSRF token is required");
    assert_eq!(orders(&app, &shop.m).await.len(), 3, "a refused request deletes nothing");

    let deleted = d.post("/dashboard/test-data", &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&deleted), "/dashboard/orders?notice=test-data-deleted");
    let (_, list) = d.get("/dashboard/orders?notice=test-data-deleted").await;
    assert!(list.contains("Test data deleted. Real orders were not touched.") && !list.contains(">Test</span>"));
    assert!(!list.contains(r#"href="/dashboard/test-data""#), "nothing left to delete");

    let left: Vec<Value> = orders(&app, &shop.m).await;
    assert_eq!(left.len(), 1);
    assert_eq!(order(&app, &shop.m, &bob_id).await, bob_before, "the real order answers as before");
    assert_eq!(rows_of(&app, &[&bob_id]).await, rows_before, "and its rows are the same, byte for byte");
    assert_eq!(
        rows_of(&app, &test_ids.iter().map(String::as_str).collect::<Vec<_>>()).await.concat().matches("[]").count(),
        14
    );
    assert_eq!(crate::fulfilment::download(&app, &bob_file).await, shop.bytes, "bob still downloads");
    for link in &test_links {
        let gone = app.client.get(app.url(link)).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND, "a deleted test order's link stops: {link}");
    }
    assert!(!mailbox.join(format!("{}.eml", test_mail[0])).exists(), "its email left the mailbox");
    let (_, customers) = d.get("/dashboard/customers").await;
    assert!(customers.contains("bob@readers.example") && !customers.contains("carol@x.example"), "{customers}");
    let bob_row = row_of(&customers, "bob@readers.example");
    assert!(bob_row.contains(r#"data-label="Orders">1</td>"#) && bob_row.contains("$12.50"), "{bob_row}");

    let others = orders(&app, &other.m).await;
    assert_eq!((others.len(), others[0]["test"].as_bool()), (1, Some(true)), "another shop's test data stays");
    let still = app.client.get(app.url(&others_test)).send().await.unwrap();
    assert_eq!(still.status(), StatusCode::OK);
    let (status, page) = d.get("/dashboard/test-data").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<h1>No test data</h1>") && !page.contains(r#"action="/dashboard/test-data""#),
        "nothing left to delete: {page}"
    );
    let again = d.post("/dashboard/test-data", &[]).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER, "deleting nothing is harmless");
    assert_eq!(orders(&app, &shop.m).await.len(), 1);
}
