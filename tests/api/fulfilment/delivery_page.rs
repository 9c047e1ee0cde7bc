//! The customer's delivery page (`/d/{token}`): reference, total, where the email went, the
//! downloads left, where external links go, "Download all"; and the download log's refusals.

use reqwest::{Method, StatusCode};
use satchel::db::Db;
use serde_json::{Value, json};

use super::{delivery_url, flush_download_log, get, order, product, set_delivery, settings, upload, wait_for_order};
use crate::helpers::{Stack, TestApp, TestMerchant, eventually, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(
    delivery_page_shows_reference_total_address_downloads_left_and_link_host,
    download_all_is_the_portals_zip_with_the_exact_bytes,
    a_capped_download_all_counts_each_file_once,
    refused_downloads_are_logged_with_their_answer_and_bounded,
);

/// A shop selling "Harbor Charts" (two files) and "Atlas" (an external link).
struct Charts {
    m: TestMerchant,
    charts: String,
    atlas: String,
    chart: Vec<u8>,
    notes: Vec<u8>,
}

async fn charts_shop(app: &TestApp, name: &str) -> Charts {
    let m = app.merchant(name).await;
    let (chart, notes) = (file_bytes(40_000, 71), b"Tide tables: see page 3.\n".to_vec());
    let first = upload(app, &m, "chart.pdf", "application/pdf", &chart).await;
    let second = upload(app, &m, "notes.txt", "text/plain", &notes).await;
    let charts = product(app, &m, "Harbor Charts", json!({})).await;
    let files = json!([{"file_id": first["id"]}, {"file_id": second["id"]}]);
    set_delivery(app, &m, &charts, json!({"mode": "files", "files": files})).await;
    let atlas = product(app, &m, "Atlas", json!({})).await;
    let link = "https://downloads.example.org/atlas/v3.zip?key=a1b2";
    set_delivery(app, &m, &atlas, json!({"mode": "external_link", "external_url": link})).await;
    Charts { m, charts, atlas, chart, notes }
}

/// Buys the given products in one order.
async fn buy_all(app: &TestApp, m: &TestMerchant, products: &[&str], email: &str) -> Value {
    let items: Vec<Value> = products.iter().map(|p| json!({"product_id": p})).collect();
    let body = json!({"customer": {"email": email, "name": "Grace"}, "items": items,
                      "amount_minor": 3998, "currency": "USD"});
    let response = app.api(m, Method::POST, "/orders").json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn html(app: &TestApp, url: &str) -> (StatusCode, String) {
    let response = get(app, url).await;
    (response.status(), response.text().await.unwrap())
}

async fn delivery_page_shows_reference_total_address_downloads_left_and_link_host(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = charts_shop(&app, "Harbor Maps").await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 2})).await;
    let bought = buy_all(&app, &shop.m, &[&shop.charts, &shop.atlas], "grace.hopper@example.com").await;
    let id = bought["id"].as_str().unwrap();
    let page = delivery_url(&bought);
    let token = page.rsplit_once("/d/").unwrap().1;

    let (status, html_now) = html(&app, &page).await;
    assert_eq!(status, StatusCode::OK);
    let reference = id.rsplit('-').next().unwrap().to_uppercase();
    for expected in [
        format!("Order {reference} · $39.98"),
        "We emailed these links to <strong>g•••@example.com</strong>".to_owned(),
        "<strong class=\"link-host\">downloads.example.org</strong>".to_owned(),
        format!("href=\"/d/{token}/zip\""),
        "Download all <span class=\"muted\">(ZIP · 2 files, ".to_owned(),
    ] {
        assert!(html_now.contains(&expected), "{expected} in {html_now}");
    }
    assert!(!html_now.contains("grace.hopper"), "the address is masked: anyone with the link sees the page");
    assert!(!html_now.contains("a1b2"), "the link's secret query stays behind the redirect");
    assert_eq!(html_now.matches("2 of 2 downloads left").count(), 2, "{html_now}");

    assert_eq!(get(&app, &format!("{page}/files/1")).await.bytes().await.unwrap(), shop.chart);
    let (_, after) = html(&app, &page).await;
    assert!(after.contains("1 of 2 downloads left") && after.contains("2 of 2 downloads left"), "{after}");
    assert_eq!(get(&app, &format!("{page}/files/1")).await.status(), StatusCode::OK);
    let (_, used_up) = html(&app, &page).await;
    assert!(used_up.contains("No downloads left") && used_up.contains("Get it from your purchases"), "{used_up}");
    assert!(!used_up.contains("Download all"), "a ZIP would be refused: not offered");
}

/// The names and SHA-256 of the entries of a ZIP, read by Python's zipfile.
fn zip_entries(zip: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.zip");
    std::fs::write(&path, zip).unwrap();
    let check = "import sys, zipfile, hashlib, json\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        assert z.testzip() is None\n\
        print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))\n";
    let listed = std::process::Command::new("python3").arg("-c").arg(check).arg(&path).output().unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    serde_json::from_slice(&listed.stdout).unwrap()
}

async fn download_all_is_the_portals_zip_with_the_exact_bytes(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = charts_shop(&app, "Harbor Maps").await;
    let bought = buy_all(&app, &shop.m, &[&shop.charts], "grace@example.com").await;
    let id = bought["id"].as_str().unwrap();
    let zip_url = format!("{}/zip", delivery_url(&bought));

    let head = app.client.head(&zip_url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    let response = get(&app, &zip_url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let reference = id.rsplit('-').next().unwrap().to_uppercase();
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains(&format!("{}-order-{reference}.zip", shop.m.slug)), "{disposition}");
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    let zip = response.bytes().await.unwrap();
    let expected = json!({"chart.pdf": sha256_hex(&shop.chart), "notes.txt": sha256_hex(&shop.notes)});
    assert_eq!(zip_entries(&zip), expected);

    // The ZIP counts as one download of each file, and is logged per file.
    let detail = wait_for_order(&app, &shop.m, id, "the ZIP's counts", |o| {
        o["files"].as_array().unwrap().iter().all(|f| f["download_count"] == 1)
    })
    .await;
    let logged = detail["downloads"].as_array().unwrap();
    assert_eq!(logged.iter().filter(|d| d["status"] == 200 && d["counted"] == true).count(), 2, "{logged:#?}");

    // An unknown token's ZIP is the same 404 as its page.
    let unknown = format!("{}/zip", app.url(&format!("/d/{}", "A".repeat(43))));
    assert_eq!(get(&app, &unknown).await.status(), StatusCode::NOT_FOUND);
}

async fn a_capped_download_all_counts_each_file_once(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = charts_shop(&app, "Harbor Maps").await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 1})).await;
    let bought = buy_all(&app, &shop.m, &[&shop.charts], "grace@example.com").await;
    let (id, page) = (bought["id"].as_str().unwrap(), delivery_url(&bought));

    let zip = get(&app, &format!("{page}/zip")).await;
    assert_eq!(zip.status(), StatusCode::OK);
    assert_eq!(zip_entries(&zip.bytes().await.unwrap())["notes.txt"], sha256_hex(&shop.notes).as_str());
    let counts =
        |o: &Value| o["files"].as_array().unwrap().iter().map(|f| f["download_count"].clone()).collect::<Vec<_>>();
    assert_eq!(counts(&order(&app, &shop.m, id).await), [json!(1), json!(1)]);
    for url in [format!("{page}/zip"), format!("{page}/files/1"), format!("{page}/files/2")] {
        let (status, body) = html(&app, &url).await;
        assert_eq!(status, StatusCode::GONE, "{url}");
        assert!(body.contains("download limit is reached"), "{body}");
    }
    // A refused ZIP used up nothing, and is logged as one refusal naming no file.
    assert_eq!(counts(&order(&app, &shop.m, id).await), [json!(1), json!(1)]);
    let detail = wait_for_order(&app, &shop.m, id, "the refused ZIP in the log", |o| {
        o["downloads"].as_array().unwrap().iter().any(|d| d["status"] == 410 && d["file_position"].is_null())
    })
    .await;
    let zips = detail["downloads"].as_array().unwrap().iter().filter(|d| d["file_position"].is_null()).count();
    assert_eq!(zips, 1, "{detail:#}");
}

/// Rows of the order's download log answered `status`.
async fn logged(app: &TestApp, order_id: &str, status: i64) -> i64 {
    let sql = "SELECT COUNT(*) FROM download_events WHERE order_id = $1 AND status = $2";
    match &app.state.db {
        Db::Sqlite(db) => sqlx::query_scalar(sql).bind(order_id).bind(status).fetch_one(db.pool()).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).bind(order_id).bind(status).fetch_one(pool).await.unwrap(),
    }
}

async fn refused_downloads_are_logged_with_their_answer_and_bounded(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = charts_shop(&app, "Harbor Maps").await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 1})).await;
    let bought = buy_all(&app, &shop.m, &[&shop.charts], "grace@example.com").await;
    let (id, page) = (bought["id"].as_str().unwrap(), delivery_url(&bought));
    let file = format!("{page}/files/1");
    assert_eq!(get(&app, &file).await.status(), StatusCode::OK);
    assert_eq!(get(&app, &file).await.status(), StatusCode::GONE);

    // The refusal is in the order's log (API) with its answer, uncounted.
    let detail = flush_download_log(&app, &shop.m, id, &file).await;
    let refused: Vec<&Value> = detail["downloads"].as_array().unwrap().iter().filter(|d| d["status"] == 410).collect();
    assert_eq!(refused.len(), 1, "{detail:#}");
    assert_eq!((refused[0]["file_position"].as_i64(), refused[0]["counted"].as_bool()), (Some(1), Some(false)));

    // A client hammering the used-up link replaces the oldest refusals instead of adding rows.
    let kept = satchel::db::downloads::REFUSED_KEPT;
    for _ in 0..kept + 25 {
        assert_eq!(
            app.client.get(&file).header("user-agent", "hammer/1").send().await.unwrap().status(),
            StatusCode::GONE
        );
    }
    flush_download_log(&app, &shop.m, id, &file).await;
    assert_eq!(logged(&app, id, 410).await, kept, "refusals kept");
    assert_eq!(logged(&app, id, 200).await, 3, "the download and the two HEAD markers are all kept");

    // An expired link's tries are logged too (410); a revoked order's are logged with the 404 it answers.
    let expiring = buy_all(&app, &shop.m, &[&shop.charts], "ada@example.com").await;
    let expiring_id = expiring["id"].as_str().unwrap();
    let sql = "UPDATE orders SET link_expires_at = 1 WHERE id = $1";
    let changed = match &app.state.db {
        Db::Sqlite(db) => sqlx::query(sql).bind(expiring_id).execute(db.pool()).await.unwrap().rows_affected(),
        Db::Postgres(pool) => sqlx::query(sql).bind(expiring_id).execute(pool).await.unwrap().rows_affected(),
    };
    assert_eq!(changed, 1);
    let expired_file = format!("{}/files/2", delivery_url(&expiring));
    let within = satchel::order_cache::TTL + std::time::Duration::from_secs(3);
    eventually(within, "the expired link answers 410", || async {
        (get(&app, &expired_file).await.status() == StatusCode::GONE).then_some(())
    })
    .await;
    wait_for_order(&app, &shop.m, expiring_id, "the expired link's refusal", |o| {
        o["downloads"].as_array().unwrap().iter().any(|d| d["status"] == 410 && d["file_position"] == 2)
    })
    .await;
}
