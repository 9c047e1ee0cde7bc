//! The S3 store cut off from one app (behind a proxy): downloads and uploads answer 503 with
//! `Retry-After`, an upload refused so leaves nothing behind, and all works again once it is back.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{Proxy, retry_after};
use crate::fulfilment::{buy, delivery_url, download, settings, shop};
use crate::helpers::{Stack, TestApp, file_bytes, sha256_hex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_down_answers_503_and_keeps_nothing() {
    let endpoint = reqwest::Url::parse(&std::env::var("SATCHEL_TEST_S3_ENDPOINT").expect("./scripts/test")).unwrap();
    let proxy = Proxy::to(format!("{}:{}", endpoint.host_str().unwrap(), endpoint.port().unwrap())).await;
    let through = format!("http://{}", proxy.address);
    let app = TestApp::spawn_with(Stack::ScaledOut, |c| c.storage.s3.endpoint = Some(through)).await;
    let shop = shop(&app, "Store Outage", "Atlas.pdf", file_bytes(30_000, 51)).await;
    // One download per file: the one refused during the outage must not use it up.
    settings(&app, &shop.m, serde_json::json!({"max_downloads_per_file": 1})).await;
    let order = buy(&app, &shop.m, &shop.product_id, "store-outage@buyer.example").await;
    let file_url = format!("{}/files/1", delivery_url(&order));
    let before = app.leftovers().await;

    proxy.cut();
    let started = std::time::Instant::now();
    let refused = app.client.get(&file_url).send().await.unwrap();
    assert!(retry_after(&refused) >= 1);
    let resumed = app.client.get(&file_url).header("range", "bytes=100-").send().await.unwrap();
    assert!(retry_after(&resumed) >= 1, "a resume is refused too");
    let upload = |bytes: Vec<u8>| {
        app.api(&shop.m, Method::POST, "/files")
            .query(&[("filename", "New.pdf")])
            .header("content-type", "application/pdf")
            .body(bytes)
            .send()
    };
    let refused = upload(file_bytes(200_000, 52)).await.unwrap();
    assert!(retry_after(&refused) >= 1);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unavailable", "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "answered within seconds: {:?}", started.elapsed());
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json::<Value>().await.unwrap()["blobs"], "unavailable");

    proxy.restore();
    assert_eq!(app.leftovers().await, before, "the refused upload left nothing");
    let (_, files) = app.get_json(&shop.m, "/files").await;
    assert_eq!(files.as_array().map(Vec::len), Some(1), "no row for the refused upload: {files}");
    assert_eq!(
        sha256_hex(&download(&app, &file_url).await),
        sha256_hex(&shop.bytes),
        "the one download is still there"
    );
    let used_up = app.client.get(&file_url).send().await.unwrap();
    assert_eq!(used_up.status(), StatusCode::GONE, "and it was the only one");
    let stored = upload(file_bytes(200_000, 52)).await.unwrap();
    assert_eq!(stored.status(), StatusCode::CREATED);
}
