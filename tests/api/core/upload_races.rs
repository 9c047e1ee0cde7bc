//! Uploads against deletes of the same content, and what a raw upload may be named.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::fulfilment::{buy, delivery_url, download, product, set_delivery};
use crate::helpers::{Stack, TestApp, TestMerchant, error_code, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(deleting_while_the_same_bytes_arrive_never_loses_the_object);

/// Blobs are content-addressed per merchant, so a DELETE and a POST of the same bytes race for
/// one object: whatever the order, every file listed afterwards has its object. Four contents
/// race at once, each round one DELETE against two uploads, so that the race is hit on both
/// stacks (before the fix, PostgreSQL + S3 lost an object in only about 1 of 150 single pairs).
async fn deleting_while_the_same_bytes_arrive_never_loses_the_object(stack: Stack) {
    let s3 = std::env::var("SATCHEL_TEST_S3_ENDPOINT").unwrap_or_default();
    let slow_s3 = if stack == Stack::ScaledOut { Some(slow_object_deletes(&s3).await) } else { None };
    let app =
        TestApp::spawn_with(stack, |config| config.storage.s3.endpoint = slow_s3.or(config.storage.s3.endpoint.take()))
            .await;
    let m = app.merchant("Race Books").await;
    let contents: Vec<Vec<u8>> = (0..4).map(|seed| file_bytes(300_000, 51 + seed)).collect();
    join_all(contents.iter().map(|bytes| race(&app, &m, bytes))).await;
    // What is listed sells and downloads byte for byte.
    let (_, listed) = app.get_json(&m, "/files").await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), contents.len(), "{listed:?}");
    let product_id = product(&app, &m, "Race Guide", json!({})).await;
    let files: Vec<Value> = listed.iter().map(|f| json!({"file_id": f["id"]})).collect();
    set_delivery(&app, &m, &product_id, json!({"mode": "files", "files": files})).await;
    let order = buy(&app, &m, &product_id, "ada@example.com").await;
    for (n, file) in listed.iter().enumerate() {
        let got = download(&app, &format!("{}/files/{}", delivery_url(&order), n + 1)).await;
        assert_eq!(sha256_hex(&got), file["sha256"], "file {n}");
    }
}

/// 150 rounds of deleting the file of `bytes` while two uploads of the same bytes arrive.
async fn race(app: &TestApp, m: &TestMerchant, bytes: &[u8]) {
    let sha256 = sha256_hex(bytes);
    let (folder, key) = (format!("m/{}/", m.id), format!("m/{}/{sha256}", m.id));
    let upload = || app.api(m, Method::POST, "/files?filename=race.bin").body(bytes.to_vec()).send();
    let mut id = app.upload(m, "race.bin", bytes.to_vec()).await["id"].as_str().unwrap().to_owned();
    for round in 0..150 {
        let delete = app.api(m, Method::DELETE, &format!("/files/{id}")).send();
        let (deleted, first, second) = tokio::join!(delete, upload(), upload());
        let deleted = deleted.unwrap().status();
        assert!([StatusCode::NO_CONTENT, StatusCode::NOT_FOUND].contains(&deleted), "round {round}: {deleted}");
        for uploaded in [first.unwrap(), second.unwrap()] {
            assert!(uploaded.status().is_success(), "round {round}: upload {}", uploaded.status());
        }
        // Nothing else touches this content now: if its file is listed, its object is stored.
        let (_, listed) = app.get_json(m, "/files").await;
        let mine: Vec<&Value> = listed.as_array().unwrap().iter().filter(|f| f["sha256"] == sha256).collect();
        assert!(mine.len() <= 1, "round {round}: {mine:?}");
        match mine.first() {
            Some(file) => {
                let keys = app.stored_keys(&folder).await;
                assert!(keys.contains(&key), "round {round}: file {} is listed, its object is gone", file["id"]);
                id = file["id"].as_str().unwrap().to_owned();
            }
            // Both uploads answered with the row the delete removed: start again.
            None => id = app.upload(m, "race.bin", bytes.to_vec()).await["id"].as_str().unwrap().to_owned(),
        }
    }
}

/// The address of a TCP proxy to the S3 server at `upstream` that holds each request deleting a
/// merchant's object (`m/…`) for 30 ms: a slow store, which widens the window between
/// a file's row and its object going away. Bytes pass unchanged, so request signatures hold.
async fn slow_object_deletes(upstream: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let upstream = upstream.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else { return };
            tokio::spawn(async move {
                let ((mut from_client, mut to_client), (mut from_server, mut to_server)) =
                    (client.into_split(), server.into_split());
                let requests = async {
                    let (mut buf, mut held) = (vec![0; 64 * 1024], Vec::new());
                    while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                        held.extend_from_slice(&buf[..n]);
                        let line = held.split(|&b| b == b'\n').next().unwrap_or_default();
                        // object_store deletes through `POST /{bucket}?delete`, keys in the body.
                        let bulk = line.starts_with(b"POST ") && contains(line, b"?delete");
                        if bulk && !contains(&held, b"</Delete>") {
                            continue;
                        }
                        let single = line.starts_with(b"DELETE ") && contains(line, b"/m/");
                        if single || (bulk && contains(&held, b"<Key>m/")) {
                            tokio::time::sleep(Duration::from_millis(30)).await;
                        }
                        if to_server.write_all(&held).await.is_err() {
                            break;
                        }
                        held.clear();
                    }
                    let _ = to_server.shutdown().await;
                };
                let _ = tokio::join!(requests, tokio::io::copy(&mut from_server, &mut to_client));
            });
        }
    });
    format!("http://{address}")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `?filename=` is decoded strictly and its refusals say what is wrong with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_upload_names_must_be_utf8_and_refusals_name_the_field() {
    let app = TestApp::spawn(Stack::Embedded).await;
    let m = app.merchant("Name Books").await;
    let refused = [
        ("?filename=%FF%FE.bin", "UTF-8"),
        ("?filename=caf%E9.pdf", "UTF-8"),
        ("", "give the file name as ?filename="),
        ("?filename=", "must not be empty"),
        ("?filename=+", "must not be empty"),
        ("?filename=a%00b.pdf", "control characters"),
        ("?filename=a.pdf&filename=b.pdf", "once"),
    ];
    for (query, says) in refused {
        let response = app.api(&m, Method::POST, &format!("/files{query}")).body("x").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "invalid_field", "{query}");
        assert_eq!(body["error"]["field"], "filename", "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("filename: ") && message.contains(says), "{query}: {message}");
    }
    assert_eq!(app.get_json(&m, "/files").await.1, json!([]), "nothing was stored");
    let response = app.api(&m, Method::POST, "/files?other=1&filename=caf%C3%A9+menu.pdf").body("x").send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.json::<Value>().await.unwrap()["filename"], "café menu.pdf");
}
