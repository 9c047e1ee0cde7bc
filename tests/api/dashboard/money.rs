//! Money on the Overview (revenue per currency, the 30-day chart, recent orders, top products,
//! downloads), CSV exports of orders and customers, and prices typed with a decimal comma.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::orders::{checkout, paid, row_of};
use super::{Dashboard, location};
use crate::fulfilment::{
    delivery_url, dodo_payment, dodo_refund, order, product, send_standard, set_delivery, settings, shop, upload,
};
use crate::helpers::{Stack, TestApp, TestMerchant, eventually, on_both_stacks};
use crate::mail::WITHIN;

on_both_stacks!(
    overview_shows_revenue_per_currency_a_chart_and_top_sellers,
    orders_and_customers_export_as_csv_safe_for_spreadsheets,
    product_price_field_takes_a_decimal_comma,
);

/// Records an API order of `amount_minor` in `currency` for `name` <`email`>; returns it.
async fn sale(
    app: &TestApp,
    m: &TestMerchant,
    product_id: &str,
    email: &str,
    name: &str,
    amount: (i64, &str),
) -> Value {
    let body = json!({"customer": {"email": email, "name": name}, "items": [{"product_id": product_id}],
                      "amount_minor": amount.0, "currency": amount.1});
    let response = app.api(m, Method::POST, "/orders").json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn overview_shows_revenue_per_currency_a_chart_and_top_sellers(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let m = &shop.m;
    let d = Dashboard::sign_in(&app, m).await;
    let (_, empty) = d.get("/dashboard").await;
    assert!(empty.contains(r#"<span class="stat-value">—</span><span class="muted">No sales yet</span>"#));
    assert!(empty.contains("No sales in the last 30 days.") && !empty.contains("<svg"), "{empty}");

    let atlas = product(&app, m, "Atlas", json!({"price_minor": 4900, "currency": "EUR"})).await;
    let file = upload(&app, m, "atlas.pdf", "application/pdf", b"%PDF-1.4 atlas").await;
    set_delivery(&app, m, &atlas, json!({"mode": "files", "files": [{"file_id": file["id"]}]})).await;
    let ada = paid(&app, m, &shop.product_id, "ada@readers.example", 1999).await;
    paid(&app, m, &shop.product_id, "ada@readers.example", 1999).await;
    sale(&app, m, &atlas, "bob@readers.example", "Bob", (4900, "EUR")).await;
    // Not sales: a refunded payment, a revoked order and a test order.
    let payment = dodo_payment("pay_81", &shop.product_id, "grace@navy.example");
    assert_eq!(send_standard(&app, m, "msg_pay_81", &payment).await.status(), StatusCode::OK);
    assert_eq!(send_standard(&app, m, "msg_ref_81", &dodo_refund("pay_81")).await.status(), StatusCode::OK);
    let carol = paid(&app, m, &shop.product_id, "carol@readers.example", 500).await;
    let revoke = format!("/orders/{}/revoke", carol["id"].as_str().unwrap());
    assert_eq!(app.api(m, Method::POST, &revoke).send().await.unwrap().status(), StatusCode::OK);
    settings(&app, m, json!({"test_mode": true})).await;
    checkout(&app, &shop.product_id, "tess@readers.example").await;
    let file = format!("{}/files/1", delivery_url(&ada));
    assert_eq!(app.client.get(&file).send().await.unwrap().status(), StatusCode::OK);

    let html = eventually(WITHIN, "the download is counted", || async {
        let (_, html) = d.get("/dashboard").await;
        html.contains(r#"<span class="stat-value">1</span><span class="muted">Downloads</span>"#).then_some(html)
    })
    .await;
    for shown in [
        r#"<span class="stat-value">$39.98</span><span class="muted">USD · 2 sales</span>"#,
        r#"<span class="stat-value">49,00 €</span><span class="muted">EUR · 1 sale</span>"#,
        // Ada, Bob, Grace (refunded) and Carol (revoked) bought for real; Tess only tested.
        r#"<span class="stat-value">4</span><span class="muted">Customers</span>"#,
        r#"<svg class="sales-chart" viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-labelledby="chart-title chart-desc""#,
        r#"<title id="chart-title">Sales per day in USD, last 30 days</title>"#,
        "<p class=\"muted\">$39.98 from 2 sales · also 49,00 €</p>",
    ] {
        assert!(html.contains(shown), "{shown} on {html}");
    }
    // Orders: ada's two, bob's, grace's refunded one and carol's revoked one (the test one apart).
    assert!(html.contains(r#"<span class="stat-value">5</span><span class="muted">Orders</span>"#), "{html}");
    let desc = html.split(r#"<desc id="chart-desc">"#).nth(1).unwrap().split("</desc>").next().unwrap();
    assert!(
        desc.starts_with("$39.98 from 2 sales in the last 30 days, ")
            && desc.ends_with(" Also 49,00 € in other currencies.")
    );
    assert_eq!(html.matches(r#"<rect class="chart-bar""#).count(), 30, "one bar a day");
    let today = html.split(r#"<rect class="chart-bar""#).nth(30).unwrap();
    assert!(today.contains(r#"height="96""#) && today.contains(": $39.98 (2 sales)</title>"), "{today}");

    let top = html.split(r#"<ol class="top-products">"#).nth(1).unwrap().split("</ol>").next().unwrap();
    let field_guide = top.find(&format!(r#"<a href="/dashboard/products/{}">Field Guide</a>"#, shop.product_id));
    let atlas_at = top.find(&format!(r#"<a href="/dashboard/products/{atlas}">Atlas</a>"#));
    assert!(field_guide.is_some() && field_guide < atlas_at, "best seller first: {top}");
    assert!(top.contains("2 sales") && top.contains("1 sale<"), "{top}");
    let recent = html.split(r#"id="recent-heading""#).nth(1).unwrap().split("</section>").next().unwrap();
    assert_eq!(recent.matches(r#"class="row-link""#).count(), 5, "the five latest orders");
    assert!(recent.contains("tess@readers.example") && recent.contains(">Test</span>"), "marked: {recent}");

    let (_, customers) = d.get("/dashboard/customers").await;
    for (email, spent) in [
        ("ada@readers.example", "$39.98"),
        ("bob@readers.example", "49,00 €"),
        ("grace@navy.example", "—"),
        ("carol@readers.example", "—"),
    ] {
        let row = row_of(&customers, email);
        assert!(row.contains(&format!(r#"<td class="num m-end">{spent}</td>"#)), "{email} spent {spent}: {row}");
    }
}

/// `2026-11-24T15:41:13Z`: an API time (`…13.123Z`) to the second, as the exports write it.
fn to_second(rfc3339: &Value) -> String {
    let text = rfc3339.as_str().unwrap();
    format!("{}Z", text.split(['.', 'Z']).next().unwrap())
}

async fn csv(d: &Dashboard, path: &str) -> (reqwest::header::HeaderMap, String) {
    let response = d.client.get(format!("{}{path}", d.address)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

async fn orders_and_customers_export_as_csv_safe_for_spreadsheets(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Pine Press", "field-guide.pdf", b"%PDF-1.4 pine".to_vec()).await;
    let m = &shop.m;
    let formula = r#"=HYPERLINK("http://evil.example","x")"#;
    let eve = sale(&app, m, &shop.product_id, "eve@x.example", formula, (1999, "USD")).await;
    for (n, name) in ["-Mallory", "+Trent", "@Peggy"].iter().enumerate() {
        sale(&app, m, &shop.product_id, &format!("p{n}@x.example"), name, (500, "EUR")).await;
    }
    for n in 0..50 {
        paid(&app, m, &shop.product_id, &format!("reader{n:02}@pages.example"), 100).await;
    }
    let other = app.merchant("Other Press").await;
    let d = Dashboard::sign_in(&app, m).await;

    let (headers, body) = csv(&d, "/dashboard/orders.csv").await;
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let disposition = format!("attachment; filename=\"{}-orders.csv\"", m.slug);
    assert_eq!(headers["content-disposition"].to_str().unwrap(), disposition);
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "order_id,reference,created_at,customer_email,customer_name,products,amount,currency,status,test,provider,payment_id,downloads"
    );
    assert_eq!(lines.len(), 1 + 54, "every order, across pages of 50");
    let id = eve["id"].as_str().unwrap();
    let reference = id.rsplit('-').next().unwrap().to_uppercase();
    let expected = format!(
        "{id},{reference},{},eve@x.example,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",Field Guide,19.99,USD,paid,false,api,{},0",
        to_second(&eve["created_at"]),
        eve["payment_id"].as_str().unwrap()
    );
    assert_eq!(lines.last().copied(), Some(expected.as_str()), "the oldest order last");
    for name in ["'-Mallory", "'+Trent", "'@Peggy"] {
        assert!(lines.iter().any(|l| l.contains(&format!(",{name},Field Guide,5.00,EUR,"))), "{name} in {body}");
    }

    let (headers, body) = csv(&d, "/dashboard/customers.csv").await;
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "customer_id,email,name,orders,test_orders,spent,first_order_at,last_order_at");
    assert_eq!(lines.len(), 1 + 54);
    let at = to_second(&eve["created_at"]);
    let eve_line = lines.iter().find(|l| l.contains(",eve@x.example,")).unwrap();
    let suffix =
        format!(",eve@x.example,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",1,0,19.99 USD,{at},{at}");
    assert!(eve_line.ends_with(&suffix), "{eve_line}");
    assert!(lines.iter().any(|l| l.contains(",p0@x.example,'-Mallory,1,0,5.00 EUR,")), "{body}");

    let mine = order(&app, m, id).await;
    assert_eq!(mine["customer_name"], formula, "the stored name is kept as typed");
    let theirs = Dashboard::sign_in(&app, &other).await;
    let (_, body) = csv(&theirs, "/dashboard/orders.csv").await;
    assert_eq!(body.lines().count(), 1, "another shop exports only its own (none): {body}");
    let signed_out = app.client.get(app.url("/dashboard/orders.csv")).send().await.unwrap();
    let status = signed_out.status();
    assert!(!signed_out.text().await.unwrap().contains("order_id"), "no export without signing in ({status})");
}

async fn product_price_field_takes_a_decimal_comma(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Comma Press").await;
    let d = Dashboard::sign_in(&app, &merchant).await;
    for (typed, currency, minor, shown) in [
        ("19,99", "EUR", 1999, "19,99 €"),
        ("1.234,56", "EUR", 123_456, "1.234,56 €"),
        ("1,234.56", "USD", 123_456, "$1,234.56"),
    ] {
        let fields = [("name", "Atlas"), ("description", ""), ("price", typed), ("currency", currency)];
        let response = d.post("/dashboard/products", &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{typed}: {}", response.text().await.unwrap());
        let id = location(&response).trim_start_matches("/dashboard/products/").split('?').next().unwrap().to_owned();
        let (_, product) = app.get_json(&merchant, &format!("/products/{id}")).await;
        assert_eq!((product["price_minor"].as_i64(), product["currency"].as_str()), (Some(minor), Some(currency)));
        let (_, list) = d.get("/dashboard/products").await;
        assert!(list.contains(shown), "{shown} in {list}");
    }
    let refused = d.post("/dashboard/products", &[("name", "Atlas"), ("price", "1,2.50"), ("currency", "USD")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Price: must be an amount like 19.99 (0 for free)"), "{html}");
}
