//! The download cap against ranges: resuming is never a new download (rule 4), but ranges do
//! not yield copy after copy either: about one copy's worth per counted download, then 410.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{buy, delivery_url, flush_download_log, settings, shop};
use crate::helpers::{Stack, TestApp, eventually, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(
    ranges_past_the_cap_give_at_most_one_more_copy,
    interrupted_capped_download_resumes_uncounted,
    a_range_held_open_across_a_counted_download_refunds_nothing,
);

fn download_count(order: &Value) -> i64 {
    order["files"][0]["download_count"].as_i64().unwrap()
}

async fn status_of(app: &TestApp, url: &str, range: Option<&str>) -> StatusCode {
    let request = app.client.get(url);
    let request = if let Some(range) = range { request.header("range", range) } else { request };
    let response = request.send().await.unwrap();
    let status = response.status();
    response.bytes().await.unwrap();
    status
}

async fn ranges_past_the_cap_give_at_most_one_more_copy(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Capped Goods", "guide.pdf", file_bytes(300_000, 41)).await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 1})).await;
    let order = buy(&app, &shop.m, &shop.product_id, "eve@example.com").await;
    let url = format!("{}/files/1", delivery_url(&order));

    assert_eq!(status_of(&app, &url, None).await, StatusCode::OK, "the one download");
    let resumed = app.client.get(&url).header("range", "bytes=1-").send().await.unwrap();
    assert_eq!(resumed.status(), StatusCode::PARTIAL_CONTENT, "one copy's worth of resuming is allowed");
    assert_eq!(resumed.bytes().await.unwrap(), shop.bytes[1..]);
    for range in ["bytes=1-", "bytes=150000-", "bytes=0-", "bytes=-10"] {
        assert_eq!(status_of(&app, &url, Some(range)).await, StatusCode::GONE, "{range} past the cap");
    }
    assert_eq!(status_of(&app, &url, None).await, StatusCode::GONE);
    let id = order["id"].as_str().unwrap();
    // HEAD is never charged: it also flushes the log, so the count is final here.
    let detail = flush_download_log(&app, &shop.m, id, &url).await;
    assert_eq!(download_count(&detail), 1, "{:#}", detail["downloads"]);

    // Under the cap, ranges past one copy's worth count as a new download instead.
    settings(&app, &shop.m, json!({"max_downloads_per_file": 2})).await;
    let order = buy(&app, &shop.m, &shop.product_id, "eve@example.com").await;
    let url = format!("{}/files/1", delivery_url(&order));
    assert_eq!(status_of(&app, &url, None).await, StatusCode::OK);
    assert_eq!(status_of(&app, &url, Some("bytes=1-")).await, StatusCode::PARTIAL_CONTENT, "uncounted");
    assert_eq!(status_of(&app, &url, Some("bytes=1-")).await, StatusCode::PARTIAL_CONTENT, "counted: 2 of 2");
    assert_eq!(status_of(&app, &url, Some("bytes=1-")).await, StatusCode::GONE);
    let detail = flush_download_log(&app, &shop.m, order["id"].as_str().unwrap(), &url).await;
    assert_eq!(download_count(&detail), 2, "{:#}", detail["downloads"]);
}

/// The bytes of order `id`'s first file charged to its uncounted allowance.
async fn uncounted_bytes(app: &TestApp, id: &str) -> i64 {
    let sql = "SELECT uncounted_bytes FROM order_files WHERE order_id = $1 AND position = 1";
    match &app.state.db {
        satchel::db::Db::Sqlite(sqlite) => sqlx::query_scalar(sql).bind(id).fetch_one(sqlite.pool()).await.unwrap(),
        satchel::db::Db::Postgres(pool) => sqlx::query_scalar(sql).bind(id).fetch_one(pool).await.unwrap(),
    }
}

/// A download cut off, resumed, cut off again, and resumed by `curl -C -` to its end: one
/// download, under a cap of one. Only bytes actually sent are charged, so the second resume
/// fits in the allowance although the two resumes asked for more than the file together.
async fn interrupted_capped_download_resumes_uncounted(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    const MIB: usize = 1024 * 1024;
    let size = 48 * MIB + 7;
    let shop = shop(&app, "Capped Big Files", "Dataset.bin", file_bytes(size, 42)).await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 1})).await;
    let order = buy(&app, &shop.m, &shop.product_id, "grace@example.com").await;
    let id = order["id"].as_str().unwrap();
    let url = format!("{}/files/1", delivery_url(&order));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("Dataset.bin");
    let out_arg = out.to_str().unwrap();

    // The first 16 MiB (a download cut off there), then a resume cut off after 4 MiB more.
    super::downloads::run("curl", &["-sS", "-f", "-r", "0-16777215", "-o", out_arg, &url]).await;
    let mut response = app.client.get(&url).header("range", format!("bytes={}-", 16 * MIB)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let mut received = Vec::new();
    while received.len() < 4 * MIB {
        received.extend_from_slice(&response.chunk().await.unwrap().expect("more bytes"));
    }
    drop(response);
    let mut file = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    std::io::Write::write_all(&mut file, &received).unwrap();
    drop(file);
    // The server gives back what it never sent once it sees the connection gone.
    let asked = (size - 16 * MIB) as i64;
    eventually(Duration::from_secs(15), "the unsent bytes are given back", || async {
        (uncounted_bytes(&app, id).await < asked).then_some(())
    })
    .await;

    super::downloads::run("curl", &["-sS", "-f", "-C", "-", "-o", out_arg, &url]).await;
    assert_eq!(sha256_hex(&std::fs::read(&out).unwrap()), sha256_hex(&shop.bytes));
    let detail = flush_download_log(&app, &shop.m, id, &url).await;
    assert_eq!(download_count(&detail), 1, "one download: {:#}", detail["downloads"]);
    // The cap is used up and one copy's worth was resumed: another copy is refused.
    assert_eq!(status_of(&app, &url, Some("bytes=1-")).await, StatusCode::GONE);
}

/// Reads `response` until at least `at_least` bytes arrived; returns how many did.
async fn read_some(response: &mut reqwest::Response, at_least: usize) -> usize {
    let mut received = 0;
    while received < at_least {
        received += response.chunk().await.unwrap().expect("more bytes").len();
    }
    received
}

/// A range charged to one allowance gives nothing back to the next. Abuse: open a resume and
/// leave it unread, use up the cap with a whole download, take the one copy's worth of ranges
/// past it, then drop the first resume: its unsent bytes must not pay for yet another copy.
async fn a_range_held_open_across_a_counted_download_refunds_nothing(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    const MIB: usize = 1024 * 1024;
    let size = 32 * MIB + 3;
    let shop = shop(&app, "Capped Held Open", "Held.bin", file_bytes(size, 43)).await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 2})).await;
    let order = buy(&app, &shop.m, &shop.product_id, "mallory@example.com").await;
    let id = order["id"].as_str().unwrap();
    let url = format!("{}/files/1", delivery_url(&order));
    let resume = || app.client.get(&url).header("range", "bytes=1-").send();

    assert_eq!(status_of(&app, &url, None).await, StatusCode::OK, "download 1 of 2");
    let held = resume().await.unwrap();
    assert_eq!(held.status(), StatusCode::PARTIAL_CONTENT, "charged to the first allowance, then left unread");
    assert_eq!(status_of(&app, &url, None).await, StatusCode::OK, "download 2 of 2: a new allowance");
    let mut past_cap = resume().await.unwrap();
    assert_eq!(past_cap.status(), StatusCode::PARTIAL_CONTENT, "one copy's worth past the cap");
    let full_charge = (size - 1) as i64;
    assert_eq!(uncounted_bytes(&app, id).await, full_charge);
    drop(held);
    let received = read_some(&mut past_cap, 4 * MIB).await as i64;
    drop(past_cap);
    // The second resume's unsent bytes come back to its own allowance; the first one's never do.
    let left = eventually(Duration::from_secs(15), "the second resume's unsent bytes are given back", || async {
        let left = uncounted_bytes(&app, id).await;
        (left < full_charge).then_some(left)
    })
    .await;
    assert!(left >= received, "charged {left} bytes, fewer than the {received} sent");
    assert_eq!(status_of(&app, &url, Some("bytes=1-")).await, StatusCode::GONE, "no second copy past the cap");
    let detail = flush_download_log(&app, &shop.m, id, &url).await;
    assert_eq!(download_count(&detail), 2, "{:#}", detail["downloads"]);
}
