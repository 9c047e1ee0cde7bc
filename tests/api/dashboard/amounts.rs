//! Amounts are bounded at every intake, and sums of them never overflow.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::Dashboard;
use super::orders::paid;
use crate::fulfilment::{dodo_payment, orders, payment_events, send_standard, shop};
use crate::helpers::{Stack, TestApp, error_code, on_both_stacks};
use crate::portal::on_pool;

on_both_stacks!(amounts_past_the_bound_are_refused_and_big_sums_still_show);

/// The most any amount may be, in minor units.
const MAX: i64 = 999_999_999_999;

async fn amounts_past_the_bound_are_refused_and_big_sums_still_show(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let m = &shop.m;

    // Intake: API prices and order amounts name the field; a paid webhook is kept, not refused.
    let product = json!({"name": "Too dear", "price_minor": MAX + 1, "currency": "USD"});
    let response = app.api(m, Method::POST, "/products").json(&product).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert!(body.to_string().contains("price_minor"), "{body}");
    let change = json!({"price_minor": i64::MAX});
    let path = format!("/products/{}", shop.product_id);
    let response = app.api(m, Method::PATCH, &path).json(&change).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let order = json!({"customer": {"email": "eve@readers.example"}, "items": [{"product_id": shop.product_id}],
                       "amount_minor": i64::MAX, "currency": "USD"});
    let response = app.api(m, Method::POST, "/orders").json(&order).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert!(body.to_string().contains("amount_minor"), "{body} ({})", error_code(&body));
    let absurd = dodo_payment("pay_absurd", &shop.product_id, "eve@readers.example")
        .replace("\"total_amount\":1999", &format!("\"total_amount\":{}", i64::MAX));
    assert!(absurd.contains(&i64::MAX.to_string()));
    assert_eq!(send_standard(&app, m, "msg_absurd", &absurd).await.status(), StatusCode::OK);
    let kept = payment_events(&app, m, "unmatched").await;
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert!(kept[0]["detail"].as_str().unwrap().contains("amount_minor"), "{:#}", kept[0]);
    assert!(orders(&app, m).await.is_empty(), "no order for an absurd amount");

    // The bound itself is accepted, and sums of it show.
    for _ in 0..3 {
        paid(&app, m, &shop.product_id, "ada@readers.example", MAX).await;
    }
    // Amounts stored before they were bounded: two of i64::MAX.
    let sql = "UPDATE orders SET amount_minor = $1 WHERE merchant_id = $2 AND id IN \
               (SELECT id FROM orders WHERE merchant_id = $2 ORDER BY id LIMIT 2)";
    on_pool!(&app.state.db, pool => {
        sqlx::query(sql).bind(i64::MAX).bind(&m.id).execute(pool).await.unwrap();
    });
    let dashboard = Dashboard::sign_in(&app, m).await;
    let (status, html) = dashboard.get("/dashboard/customers").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let row = super::orders::row_of(&html, "ada@readers.example");
    assert!(row.contains("$92,233,720,368,547,758.07"), "the sum shown at its largest: {row}");
    let href = row[row.find("/dashboard/customers/").expect("a link")..].split('"').next().unwrap().to_owned();
    assert_eq!(dashboard.get(&href).await.0, StatusCode::OK);
    let (status, listed) = app.get_json(m, "/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed:#}");
}
