//! `/d/{token}/files/{n}`: real download clients resuming and splitting, and HTTP semantics.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use futures_util::future::join_all;

use super::{buy, delivery_url, flush_download_log, order, set_delivery, settings, shop, upload};
use crate::helpers::{Stack, TestApp, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(
    curl_resume_and_aria2c_split_count_one_download_each,
    split_download_opened_at_once_counts_once,
    file_answers_like_a_static_file_server,
    the_log_names_the_client_behind_a_trusted_proxy_only,
    dates_preconditions_and_names_work_with_real_clients,
);

/// The address the download log recorded for the download that sent `forwarded_for`.
async fn logged_address(app: &TestApp, forwarded_for: &str) -> String {
    let shop = shop(app, "Proxy Goods", "a.bin", file_bytes(1000, 3)).await;
    let order = buy(app, &shop.m, &shop.product_id, "proxy@buyer.example").await;
    let file_url = format!("{}/files/1", delivery_url(&order));
    let response = app.client.get(&file_url).header("x-forwarded-for", forwarded_for).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let logged = flush_download_log(app, &shop.m, order["id"].as_str().unwrap(), &file_url).await;
    let first = logged["downloads"].as_array().unwrap().iter().find(|d| d["status"] == 200 && d["counted"] == true);
    first.expect("the download was logged")["ip"].as_str().unwrap().to_owned()
}

async fn the_log_names_the_client_behind_a_trusted_proxy_only(stack: Stack) {
    let direct = TestApp::spawn(stack).await;
    assert_eq!(logged_address(&direct, "6.6.6.6").await, "127.0.0.1", "no proxy trusted: a claim is ignored");
    let proxied = TestApp::spawn_with(stack, |c| c.server.trusted_proxies = 1).await;
    let ip = logged_address(&proxied, "6.6.6.6, 203.0.113.7").await;
    assert_eq!(ip, "203.0.113.7", "the address our proxy saw, not what the client claimed");
}

/// Runs a download client, failing the test with its output if it fails.
pub(super) async fn run(program: &str, args: &[&str]) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program} runs (./scripts/test installs it): {e}"));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{program} {args:?} failed: {}\n{stdout}\n{stderr}", out.status);
}

fn sha256_of(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).expect("downloaded file"))
}

fn download_count(order: &Value) -> i64 {
    order["files"][0]["download_count"].as_i64().unwrap()
}

async fn curl_resume_and_aria2c_split_count_one_download_each(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let size = 50 * 1024 * 1024 + 12_345;
    let shop = shop(&app, "Big Files", "Dataset.bin", file_bytes(size, 31)).await;
    let order = buy(&app, &shop.m, &shop.product_id, "grace@example.com").await;
    let id = order["id"].as_str().unwrap();
    let url = format!("{}/files/1", delivery_url(&order));
    let want = sha256_hex(&shop.bytes);
    let dir = tempfile::tempdir().unwrap();

    // curl: the first 16 MiB, then `-C -` resumes from the size of the file on disk.
    let out = dir.path().join("curl.bin");
    let out_arg = out.to_str().unwrap();
    run("curl", &["-sS", "-f", "-r", "0-16777215", "-o", out_arg, &url]).await;
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 16 * 1024 * 1024, "the first part only");
    run("curl", &["-sS", "-f", "-C", "-", "-o", out_arg, &url]).await;
    assert_eq!(sha256_of(&out), want);
    let after_curl = flush_download_log(&app, &shop.m, id, &url).await;
    let resumed = after_curl["downloads"].as_array().unwrap().iter().filter(|d| d["range_start"] == 16 * 1024 * 1024);
    assert_eq!(resumed.count(), 1, "curl resumed with a Range: {after_curl:#}");
    assert_eq!(download_count(&after_curl), 1, "curl's two requests are one download: {after_curl:#}");

    // aria2c: four connections, each fetching ranges of the same file.
    let dir_arg = dir.path().to_str().unwrap();
    let aria2 = [
        "-x4",
        "-s4",
        "-k1M",
        "-q",
        "--file-allocation=none",
        "--allow-overwrite=true",
        "--auto-file-renaming=false",
        "--max-tries=1",
        "-d",
        dir_arg,
        "-o",
        "aria2.bin",
        &url,
    ];
    run("aria2c", &aria2).await;
    assert_eq!(sha256_of(&dir.path().join("aria2.bin")), want);
    let after_aria2 = flush_download_log(&app, &shop.m, id, &url).await;
    let downloads = after_aria2["downloads"].as_array().unwrap();
    let aria2_requests: Vec<&Value> =
        downloads.iter().filter(|d| d["user_agent"].as_str().unwrap().starts_with("aria2")).collect();
    let split = aria2_requests.iter().filter(|d| d["range_start"].as_i64().is_some_and(|s| s > 0)).count();
    assert!(split >= 2, "aria2c split the download over several ranges: {aria2_requests:#?}");
    assert_eq!(download_count(&after_aria2), 2, "aria2c's connections are one download: {aria2_requests:#?}");
}

/// A download manager that knows the size (from an earlier HEAD, or a metalink) opens all its
/// connections at once: `bytes=0-` and three ranges further on. That is one download, with
/// or without a download limit, and no connection may be refused.
async fn split_download_opened_at_once_counts_once(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let size = 4 * 1024 * 1024;
    let shop = shop(&app, "Split Files", "Dataset.bin", file_bytes(size, 34)).await;
    let unlimited = buy(&app, &shop.m, &shop.product_id, "grace@example.com").await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 2})).await;
    let limited = buy(&app, &shop.m, &shop.product_id, "ada@example.com").await;
    assert_eq!(limited["max_downloads_per_file"], 2);

    let quarter = size / 4;
    for order_json in [&unlimited, &limited] {
        let url = format!("{}/files/1", delivery_url(order_json));
        let parts = join_all((0..4).map(|i| {
            let (start, end) = (i * quarter, (i + 1) * quarter - 1);
            let request = app.client.get(&url).header("range", format!("bytes={start}-{end}"));
            async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "part {i}");
                response.bytes().await.unwrap()
            }
        }))
        .await;
        assert_eq!(sha256_hex(&parts.concat()), sha256_hex(&shop.bytes));
        let id = order_json["id"].as_str().unwrap();
        let detail = flush_download_log(&app, &shop.m, id, &url).await;
        assert_eq!(download_count(&detail), 1, "four parts of one download: {:#}", detail["downloads"]);
    }
    // The limited order has one download left, then none.
    let url = format!("{}/files/1", delivery_url(&limited));
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), StatusCode::GONE);
    let id = limited["id"].as_str().unwrap();
    assert_eq!(download_count(&order(&app, &shop.m, id).await), 2);
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).unwrap_or_else(|| panic!("{name} is missing")).to_str().unwrap()
}

async fn file_answers_like_a_static_file_server(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let bytes = file_bytes(100_000, 32);
    let shop = shop(&app, "Semantic Web", "first-draft.bin", file_bytes(1_000, 33)).await;
    let m = &shop.m;
    let file = upload(&app, m, "menu.pdf", "application/pdf", &bytes).await;
    let named = json!([{"file_id": file["id"], "display_name": "Café – menu.pdf"}]);
    set_delivery(&app, m, &shop.product_id, json!({"mode": "files", "files": named})).await;
    let order = buy(&app, m, &shop.product_id, "grace@example.com").await;
    let url = format!("{}/files/1", delivery_url(&order));
    let size = bytes.len().to_string();
    let etag = format!("\"{}\"", sha256_hex(&bytes));

    let whole = app.client.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(header(&whole, "content-length"), size);
    assert_eq!(header(&whole, "content-type"), "application/pdf");
    assert_eq!(header(&whole, "accept-ranges"), "bytes");
    assert_eq!(header(&whole, "etag"), etag);
    assert_eq!(header(&whole, "x-content-type-options"), "nosniff");
    assert_eq!(header(&whole, "cache-control"), "private");
    let disposition = header(&whole, "content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''Caf%C3%A9%20%E2%80%93%20menu.pdf"), "{disposition}");
    assert_eq!(whole.bytes().await.unwrap(), bytes);

    let head = app.client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header(&head, "content-length"), size);
    assert_eq!(header(&head, "etag"), etag);
    assert!(head.bytes().await.unwrap().is_empty());

    let part = app.client.get(&url).header("range", "bytes=1000-1999").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&part, "content-range"), format!("bytes 1000-1999/{size}"));
    assert_eq!(header(&part, "content-length"), "1000");
    assert_eq!(part.bytes().await.unwrap(), bytes[1000..2000]);

    let tail = app.client.get(&url).header("range", "bytes=-100").send().await.unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.unwrap(), bytes[bytes.len() - 100..]);

    let beyond = app.client.get(&url).header("range", "bytes=999999999-").send().await.unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&beyond, "content-range"), format!("bytes */{size}"));

    for malformed in ["bytes=abc", "bytes=5-3", "pages=1-2", "bytes 0-10"] {
        let answer = app.client.get(&url).header("range", malformed).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "Range: {malformed}");
        assert!(answer.headers().get("content-range").is_none());
        assert_eq!(answer.bytes().await.unwrap(), bytes, "Range: {malformed}");
    }

    let cached = app.client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&cached, "etag"), etag);
    assert!(cached.bytes().await.unwrap().is_empty());
    let other = app.client.get(&url).header("if-none-match", "\"something-else\"").send().await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);

    let stale = app.client.get(&url).header("range", "bytes=500-").header("if-range", "\"0ld\"").send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.bytes().await.unwrap(), bytes);
    let fresh = app.client.get(&url).header("range", "bytes=500-").header("if-range", &etag).send().await.unwrap();
    assert_eq!(fresh.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(fresh.bytes().await.unwrap(), bytes[500..]);
}

/// Last-Modified is the order's payment time (whole seconds); If-Modified-Since, If-Unmodified-
/// Since, If-Match and a date in If-Range are honoured as RFC 9110 (and nginx) do, and `curl -OJ`
/// saves a non-ASCII name transliterated rather than as underscores.
async fn dates_preconditions_and_names_work_with_real_clients(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Names", "Résumé – 東京.pdf", file_bytes(70_000, 35)).await;
    let order = buy(&app, &shop.m, &shop.product_id, "grace@example.com").await;
    let url = format!("{}/files/1", delivery_url(&order));
    let etag = format!("\"{}\"", sha256_hex(&shop.bytes));
    let whole = app.client.get(&url).send().await.unwrap();
    let paid = httpdate::parse_http_date(header(&whole, "last-modified")).expect("an HTTP-date");
    let age = std::time::SystemTime::now().duration_since(paid).expect("not in the future");
    assert!(age < std::time::Duration::from_secs(120), "the payment time, moments ago: {age:?}");
    let (at, before, after) = (
        httpdate::fmt_http_date(paid),
        httpdate::fmt_http_date(paid - std::time::Duration::from_secs(1)),
        httpdate::fmt_http_date(paid + std::time::Duration::from_secs(86_400)),
    );
    let get = |name: &'static str, value: String| app.client.get(&url).header(name, value);

    let cases = [
        (get("if-modified-since", at.clone()), StatusCode::NOT_MODIFIED),
        (get("if-modified-since", after.clone()), StatusCode::NOT_MODIFIED),
        (get("if-modified-since", before.clone()), StatusCode::OK),
        (get("if-modified-since", at.clone()).header("if-none-match", "\"other\""), StatusCode::OK),
        (get("if-match", "\"other\"".into()), StatusCode::PRECONDITION_FAILED),
        (get("if-match", format!("\"other\", {etag}")), StatusCode::OK),
        (get("if-match", "*".into()), StatusCode::OK),
        (get("if-unmodified-since", before.clone()), StatusCode::PRECONDITION_FAILED),
        (get("if-unmodified-since", at.clone()), StatusCode::OK),
        (get("if-range", at.clone()).header("range", "bytes=100-"), StatusCode::PARTIAL_CONTENT),
        (get("if-range", before.clone()).header("range", "bytes=100-"), StatusCode::OK),
    ];
    for (request, want) in cases {
        let shown = format!("{request:?}");
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), want, "{shown}");
        let body = response.bytes().await.unwrap();
        match want {
            StatusCode::OK => assert_eq!(body, shop.bytes, "{shown}"),
            StatusCode::PARTIAL_CONTENT => assert_eq!(body, shop.bytes[100..], "{shown}"),
            _ => assert!(body.is_empty(), "{shown}"),
        }
    }

    // curl reads the ASCII `filename=`; `filename*` keeps the exact name for browsers.
    let dir = tempfile::tempdir().unwrap();
    run("curl", &["-sS", "-f", "-O", "-J", "--output-dir", dir.path().to_str().unwrap(), &url]).await;
    let saved: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(saved, ["Resume - Dong Jing.pdf"]);
    assert_eq!(std::fs::read(dir.path().join(&saved[0])).unwrap(), shop.bytes);
    let disposition = header(&whole, "content-disposition");
    assert!(
        disposition.ends_with("filename*=UTF-8''R%C3%A9sum%C3%A9%20%E2%80%93%20%E6%9D%B1%E4%BA%AC.pdf"),
        "{disposition}"
    );
}
