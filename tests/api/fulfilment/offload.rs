//! Storage offload (`[storage.s3] offload = true`, S3 only): after the link, policy and count
//! checks, a file download is a 302 to a presigned URL of the store, which sends the bytes.
//! s3s-fs checks the signature (which covers `response-content-disposition` and
//! `response-content-type`), answers with those two overrides (as S3 does), and serves ranges.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::{buy, delivery_url, flush_download_log, settings, shop};
use crate::helpers::{Stack, TestApp, file_bytes, sha256_hex};
use crate::portal;

/// The name of the offloaded file: non-ASCII, so the disposition needs its ASCII fallback.
const NAME: &str = "Résumé – 東京.pdf";
/// Its `Content-Disposition`, as Satchel sends it when it streams the file.
const DISPOSITION: &str = "attachment; filename=\"Resume - Dong Jing.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%E2%80%93%20%E6%9D%B1%E4%BA%AC.pdf";

async fn offloading() -> TestApp {
    TestApp::spawn_with(Stack::ScaledOut, |c| c.storage.s3.offload = true).await
}

/// The presigned URL a 302 sends to, after checking the redirect's own headers.
fn store_url(response: &Response) -> url::Url {
    assert_eq!(response.status(), StatusCode::FOUND, "{response:?}");
    let headers = response.headers();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let location = url::Url::parse(headers["location"].to_str().unwrap()).unwrap();
    let endpoint = url::Url::parse(&std::env::var("SATCHEL_TEST_S3_ENDPOINT").unwrap()).unwrap();
    assert_eq!(location.origin(), endpoint.origin(), "the store itself: {location}");
    location
}

fn query(url: &url::Url, name: &str) -> String {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// `url` with the value of query parameter `name` replaced by `encoded`, byte for byte
/// otherwise (so only that change can break the signature).
fn edit_query(url: &url::Url, name: &str, encoded: &str) -> String {
    let (base, query) = url.as_str().split_once('?').unwrap();
    let parts: Vec<String> = query
        .split('&')
        .map(|part| match part.split_once('=') {
            Some((key, _)) if key == name => format!("{key}={encoded}"),
            _ => part.to_owned(),
        })
        .collect();
    assert!(parts.iter().any(|p| p.starts_with(&format!("{name}="))), "{url}");
    format!("{base}?{}", parts.join("&"))
}

fn download_count(order: &Value) -> i64 {
    order["files"][0]["download_count"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offloaded_download_redirects_to_the_store_and_counts_once() {
    let app = offloading().await;
    let size = 3 * 1024 * 1024 + 17;
    let shop = shop(&app, "Offloaded Goods", NAME, file_bytes(size, 51)).await;
    let order = buy(&app, &shop.m, &shop.product_id, "olga@example.com").await;
    let (id, url) = (order["id"].as_str().unwrap(), format!("{}/files/1", delivery_url(&order)));

    let redirect = app.client.get(&url).send().await.unwrap();
    let store = store_url(&redirect);
    assert_eq!(query(&store, "response-content-disposition"), DISPOSITION);
    assert_eq!(query(&store, "response-content-type"), "application/pdf");
    // Five minutes plus the file at 1 Mbit/s.
    let lifetime = 300 + (size as u64).div_ceil(128 * 1024);
    assert_eq!(query(&store, "X-Amz-Expires"), lifetime.to_string());

    let plain = reqwest::Client::new();
    let fetched = plain.get(store.clone()).send().await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.headers()["content-disposition"], DISPOSITION, "the name Satchel gives it");
    assert_eq!(fetched.headers()["content-type"], "application/pdf");
    assert_eq!(sha256_hex(&fetched.bytes().await.unwrap()), sha256_hex(&shop.bytes), "the exact bytes");
    let ranged = plain.get(store.clone()).header("range", "bytes=1000000-1999999").send().await.unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.headers()["content-range"], format!("bytes 1000000-1999999/{size}").as_str());
    assert_eq!(ranged.bytes().await.unwrap(), shop.bytes[1_000_000..2_000_000]);
    // The name and type are signed: an edited one is refused.
    let edited = edit_query(&store, "response-content-type", "text%2Fhtml");
    assert_eq!(plain.get(edited).send().await.unwrap().status(), StatusCode::FORBIDDEN);

    // Coming back to Satchel with a Range that resumes: a redirect again, not a new download.
    let resumed = app.client.get(&url).header("range", "bytes=2000000-").send().await.unwrap();
    store_url(&resumed);
    // HEAD carries no bytes: answered here (a presigned GET cannot answer it); it flushes the log.
    let detail = flush_download_log(&app, &shop.m, id, &url).await;
    assert_eq!(download_count(&detail), 1, "{:#}", detail["downloads"]);
    let redirects: Vec<&Value> =
        detail["downloads"].as_array().unwrap().iter().filter(|d| d["status"] == 302).collect();
    assert_eq!(redirects.len(), 2, "{:#}", detail["downloads"]);
    let full = redirects.iter().find(|d| d["range_start"].is_null()).expect("the full download");
    assert_eq!((full["counted"].as_bool(), full["bytes_requested"].as_i64()), (Some(true), Some(size as i64)));
    let resume = redirects.iter().find(|d| d["range_start"] == 2_000_000).expect("the resume");
    assert_eq!(resume["counted"], false);
    assert_eq!(resume["bytes_requested"], size as i64 - 2_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn used_up_and_revoked_links_are_refused_without_a_redirect() {
    let app = offloading().await;
    let shop = shop(&app, "Capped Offload", "guide.pdf", file_bytes(300_000, 52)).await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 1})).await;
    let order = buy(&app, &shop.m, &shop.product_id, "carl@example.com").await;
    let url = format!("{}/files/1", delivery_url(&order));

    store_url(&app.client.get(&url).send().await.unwrap());
    // One copy's worth of resuming is allowed under the cap, as when streaming.
    store_url(&app.client.get(&url).header("range", "bytes=1-").send().await.unwrap());
    for range in [None, Some("bytes=1-"), Some("bytes=0-")] {
        let request = app.client.get(&url);
        let request = if let Some(range) = range { request.header("range", range) } else { request };
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::GONE, "{range:?} past the cap");
        assert!(refused.headers().get("location").is_none());
    }

    let order = buy(&app, &shop.m, &shop.product_id, "carl@example.com").await;
    let url = format!("{}/files/1", delivery_url(&order));
    let id = order["id"].as_str().unwrap();
    let revoke = app.api(&shop.m, reqwest::Method::POST, &format!("/orders/{id}/revoke")).send().await.unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    let refused = app.client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert!(refused.headers().get("location").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_and_aria2c_follow_the_redirect_and_count_one_download_each() {
    let app = offloading().await;
    let size = 5 * 1024 * 1024 + 3;
    let shop = shop(&app, "Curl Offload", "Dataset.bin", file_bytes(size, 53)).await;
    let order = buy(&app, &shop.m, &shop.product_id, "cora@example.com").await;
    let (id, url) = (order["id"].as_str().unwrap(), format!("{}/files/1", delivery_url(&order)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("curl.bin");
    let out_arg = out.to_str().unwrap();

    super::downloads::run("curl", &["-sS", "-f", "-L", "-r", "0-1048575", "-o", out_arg, &url]).await;
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 1024 * 1024, "the first part only");
    super::downloads::run("curl", &["-sS", "-f", "-L", "-C", "-", "-o", out_arg, &url]).await;
    assert_eq!(sha256_hex(&std::fs::read(&out).unwrap()), sha256_hex(&shop.bytes));
    let detail = flush_download_log(&app, &shop.m, id, &url).await;
    assert_eq!(download_count(&detail), 1, "curl's two requests are one download: {:#}", detail["downloads"]);

    // aria2c: four connections; whichever come back to Satchel with a Range are not counted.
    let aria2 = ["-x4", "-s4", "-k1M", "-q", "--file-allocation=none", "--allow-overwrite=true"];
    let dir_arg = dir.path().to_str().unwrap();
    let target = ["--auto-file-renaming=false", "--max-tries=1", "-d", dir_arg, "-o", "aria2.bin", &url];
    super::downloads::run("aria2c", &[&aria2[..], &target[..]].concat()).await;
    assert_eq!(sha256_hex(&std::fs::read(dir.path().join("aria2.bin")).unwrap()), sha256_hex(&shop.bytes));
    let detail = flush_download_log(&app, &shop.m, id, &url).await;
    assert_eq!(download_count(&detail), 2, "aria2c's connections are one download: {:#}", detail["downloads"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_file_links_redirect_and_download_all_still_streams() {
    let app = offloading().await;
    let shop = portal::shop(&app, "Offload Books").await;
    let email = crate::mail::unique_address("ada");
    let order = portal::purchase(&app, &shop, &email).await;
    let order_id = order["id"].as_str().unwrap();
    let cookie = portal::sign_in(&app, &shop.m, &email).await;
    let (_, html) = portal::page(&app, "/portal/offload-books", &cookie).await;

    let file = portal::links(&html, "/files/").into_iter().find(|l| l.contains(&format!("{order_id}/1?"))).unwrap();
    let store = store_url(&app.client.get(app.url(&file)).send().await.unwrap());
    assert!(query(&store, "response-content-disposition").contains("filename*=UTF-8''guide.pdf"));
    let fetched = reqwest::get(store).await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.headers()["content-type"], "application/pdf");
    assert!(fetched.headers()["content-disposition"].to_str().unwrap().contains("filename*=UTF-8''guide.pdf"));
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), shop.pdf.as_slice());
    let head = app.client.head(app.url(&file)).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK, "HEAD is answered here");

    let zip = portal::links(&html, "/zip/");
    let response = app.client.get(app.url(&zip[0])).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the ZIP is not offloaded");
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.len() > shop.pdf.len() + shop.notes.len(), "both files inside");
    assert!(bytes.windows(shop.notes.len()).any(|w| w == shop.notes.as_slice()), "stored entries, streamed");
}
