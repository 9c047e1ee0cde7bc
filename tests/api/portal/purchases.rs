//! The purchases page: every order of the customer at the shop, newest first, paged.

use std::time::Instant;

use reqwest::{Method, StatusCode};

use super::{links, on_pool, page, purchase, reference, shop, sign_in, signed_in};
use crate::helpers::{Stack, TestApp, on_both_stacks};
use crate::mail::unique_address;

on_both_stacks!(portal_lists_every_purchase_newest_first_revoked_ones_without_links, portal_pages_through_10000_orders);

async fn portal_lists_every_purchase_newest_first_revoked_ones_without_links(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    let first = purchase(&app, &shop, &email).await;
    let second = purchase(&app, &shop, &email).await;
    let third = purchase(&app, &shop, &email).await;
    let revoked = app.api(&shop.m, Method::POST, &format!("/orders/{}/revoke", second["id"].as_str().unwrap()));
    assert_eq!(revoked.send().await.unwrap().status(), StatusCode::OK);

    let cookie = sign_in(&app, &shop.m, &email).await;
    let (status, html) = page(&app, "/portal/acme-books", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(signed_in(&html));
    let positions: Vec<usize> =
        [&third, &second, &first].iter().map(|o| html.find(&format!("Order {}", reference(o))).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "newest first: {positions:?}");
    for needle in ["Field Guide", "guide.pdf", "notes.txt", "300 KB", "Open the guide first.", "Access revoked"] {
        assert!(html.contains(needle), "{needle} in {html}");
    }
    // Two live orders of two files each: four file links and two "download all" links, all signed;
    // nothing links into the revoked order.
    let files = links(&html, "/files/");
    assert_eq!(files.len(), 4, "{files:?}");
    assert!(files.iter().all(|l| l.contains("?e=") && l.contains("&s=")), "{files:?}");
    assert_eq!(links(&html, "/zip/").len(), 2);
    let revoked_id = second["id"].as_str().unwrap();
    assert!(!html.contains(&format!("/{revoked_id}")), "no link names the revoked order");
    assert!(links(&html, "before=").is_empty(), "one page only");

    // Another customer of the shop with no purchase sees the empty state.
    let other = unique_address("bob");
    let bob_order = purchase(&app, &shop, &other).await;
    let delete = "DELETE FROM emails WHERE order_id = $1";
    on_pool!(&app.state.db, pool => { sqlx::query(delete).bind(bob_order["id"].as_str().unwrap()).execute(pool).await.unwrap(); });
    for table in ["download_events", "order_releases", "order_files", "order_items", "orders"] {
        let column = if table == "orders" { "id" } else { "order_id" };
        let sql = sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE {column} = $1"));
        on_pool!(&app.state.db, pool => { sqlx::query(sql).bind(bob_order["id"].as_str().unwrap()).execute(pool).await.unwrap(); });
    }
    let cookie = sign_in(&app, &shop.m, &other).await;
    let (_, html) = page(&app, "/portal/acme-books", &cookie).await;
    assert!(html.contains("No purchases yet for this email"), "{html}");
}

/// Adds `n` orders of `customer_id` (one "Field Guide" with its files each, a second apart,
/// all older than now) in a few statements, copying the delivery of `template_order`. Order
/// `i` (1 = oldest) has id `00000000-0000-7000-8000-{100000000000 + i}` and is paid at
/// `start + i * 1000`; returns `start`.
pub async fn seed_orders(app: &TestApp, merchant_id: &str, template_order: &str, n: i64) -> i64 {
    let customer = "SELECT customer_id FROM orders WHERE id = $1";
    let (customer_id,): (String,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(customer).bind(template_order).fetch_one(pool).await.unwrap());
    let start = satchel::domain::now_millis() - (n + 10) * 1000;
    let orders = "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1) \
        INSERT INTO orders (id, merchant_id, customer_id, provider, payment_id, amount_minor, currency, status, \
        token_salt, token_hash, created_at) SELECT '00000000-0000-7000-8000-' || (100000000000 + i), $2, $3, 'api', \
        'seed-' || i, 1999, 'USD', 'paid', 'salt', 'seed-hash-' || i, $4 + i * 1000 FROM seq";
    let items = "INSERT INTO order_items (order_id, position, product_id, product_name, quantity, delivery_mode, \
        external_url, instructions) SELECT o.id, t.position, t.product_id, t.product_name, 1, t.delivery_mode, \
        t.external_url, t.instructions FROM orders o JOIN order_items t ON t.order_id = $1 \
        WHERE o.payment_id LIKE 'seed-%'";
    let files = "INSERT INTO order_files (order_id, position, item_position, blob_id, display_name, size, \
        content_type, sha256, storage_key) SELECT o.id, f.position, f.item_position, f.blob_id, f.display_name, \
        f.size, f.content_type, f.sha256, f.storage_key FROM orders o JOIN order_files f ON f.order_id = $1 \
        WHERE o.payment_id LIKE 'seed-%'";
    on_pool!(&app.state.db, pool => {
        sqlx::query(orders).bind(n).bind(merchant_id).bind(&customer_id).bind(start).execute(pool).await.unwrap();
        sqlx::query(items).bind(template_order).execute(pool).await.unwrap();
        sqlx::query(files).bind(template_order).execute(pool).await.unwrap();
    });
    start
}

/// The reference shown for seeded order `i`.
fn seeded(i: i64) -> String {
    (100_000_000_000 + i).to_string()
}

async fn portal_pages_through_10000_orders(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    let newest = purchase(&app, &shop, &email).await;
    let start = seed_orders(&app, &shop.m.id, newest["id"].as_str().unwrap(), 10_000).await;
    let cookie = sign_in(&app, &shop.m, &email).await;

    let started = Instant::now();
    let (status, html) = page(&app, "/portal/acme-books", &cookie).await;
    let first_page = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("class=\"card purchase").count(), 20, "20 a page");
    assert!(html.contains(&format!("Order {}", reference(&newest))), "the real (newest) order first");
    assert_eq!(links(&html, "/files/").len(), 40);

    // Follow "Older purchases" a few pages: the seeded orders come newest first, none twice.
    let mut shown = Vec::new();
    let mut html = html;
    for _ in 0..5 {
        shown.extend(html.split("<h2 id=\"order-").skip(1).map(|part| part.split('"').next().unwrap().to_owned()));
        let older = links(&html, "before=");
        assert_eq!(older.len(), 1, "an Older purchases link");
        html = page(&app, &older[0], &cookie).await.1;
    }
    let expected: Vec<String> = std::iter::once(reference(&newest)).chain((9_902..=10_000).rev().map(seeded)).collect();
    assert_eq!(shown, expected);

    // A page deep in the list costs what the first does (keyset on the index, not OFFSET).
    let after =
        |i: i64| format!("/portal/acme-books?before={}.00000000-0000-7000-8000-{}", start + i * 1000, seeded(i));
    let started = Instant::now();
    let (status, html) = page(&app, &after(26), &cookie).await;
    let deep_page = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("Order {}", seeded(25))) && html.contains(&format!("Order {}", seeded(6))));
    assert!(!html.contains(&format!("Order {}", seeded(26))) && !html.contains(&format!("Order {}", seeded(5))));
    let (_, html) = page(&app, &after(6), &cookie).await;
    assert_eq!(html.matches("class=\"card purchase").count(), 5, "the 5 oldest orders");
    assert!(links(&html, "before=").is_empty(), "no older page after the oldest");
    assert!(html.contains("Newest purchases"));
    println!("portal with 10,000 orders ({stack:?}): first page {first_page:?}, deep page {deep_page:?}");
    assert!(first_page.as_secs() < 5 && deep_page.as_secs() < 5);
}
