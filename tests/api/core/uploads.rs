//! Uploads stream to the store while hashed, are stored once per content, and leave nothing
//! behind when they are cut off or over the size limit.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{FileBytes, Stack, TestApp, error_code, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(
    large_upload_is_hashed_and_stored_once,
    multipart_upload_stores_every_file,
    cut_off_upload_leaves_nothing,
    upload_over_the_limit_is_refused_and_leaves_nothing,
    empty_files_are_refused_and_leave_nothing,
);

/// A body that never arrived (or a file saved before it was written) is refused, naming the
/// file, raw or multipart; a multipart request with one empty part keeps none of its parts.
async fn empty_files_are_refused_and_leave_nothing(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let raw = app.api(&m, Method::POST, "/files?filename=Book.pdf").send().await.unwrap();
    assert_eq!(raw.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["field"], "file", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("is empty"), "{body}");

    let form = reqwest::multipart::Form::new()
        .part("a", reqwest::multipart::Part::bytes(b"%PDF-1.7 chapter one".to_vec()).file_name("One.pdf"))
        .part("b", reqwest::multipart::Part::bytes(Vec::new()).file_name("Two.pdf"));
    let multipart = app.api(&m, Method::POST, "/files").multipart(form).send().await.unwrap();
    assert_eq!(multipart.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(multipart.json::<Value>().await.unwrap()["error"]["field"], "file");

    assert_eq!(app.get_json(&m, "/files").await.1, Value::Array(vec![]), "nothing listed");
    let within = Duration::from_secs(10);
    crate::helpers::eventually(within, "nothing left in the store", || async {
        app.leftovers().await.is_empty().then_some(())
    })
    .await;
}

/// A little over 100 MiB, and not a multiple of the 5 MiB part size.
const LARGE: u64 = 100 * 1024 * 1024 + 12_345;

async fn large_upload_is_hashed_and_stored_once(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let sha256 = FileBytes::new(LARGE, 7).sha256_hex();
    let upload = |announce_length: bool| {
        let request = app
            .api(&m, Method::POST, "/files?filename=Complete%20Works.zip")
            .header("content-type", "application/zip")
            .body(reqwest::Body::wrap_stream(FileBytes::new(LARGE, 7).stream()));
        // With a Content-Length the body is sent as is; without one it is chunked.
        if announce_length { request.header("content-length", LARGE) } else { request }.send()
    };

    let first = upload(true).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["sha256"], sha256.as_str());
    assert_eq!(first["size"], LARGE);
    assert_eq!(first["filename"], "Complete Works.zip");
    assert_eq!(first["content_type"], "application/zip");

    let second = upload(false).await.unwrap();
    assert_eq!(second.status(), StatusCode::OK, "the same content again is the same file");
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["sha256"], sha256.as_str());

    let (status, listed) = app.get_json(&m, "/files").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // One object, under the merchant's prefix, and no staging copy of either upload left.
    assert_eq!(app.stored_keys("").await, [format!("m/{}/{sha256}", m.id)]);
}

async fn multipart_upload_stores_every_file(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let (a, b) = (file_bytes(200_003, 2), file_bytes(6 * 1024 * 1024 + 1, 3));
    let form = reqwest::multipart::Form::new()
        .text("note", "a field without a file name is not a file")
        .part(
            "file",
            reqwest::multipart::Part::bytes(a.clone()).file_name("Book.pdf").mime_str("application/pdf").unwrap(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(b.clone()).file_name("Book.epub").mime_str("application/epub+zip").unwrap(),
        );
    let response = app.api(&m, Method::POST, "/files").multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let files = body["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    for (file, (bytes, name, content_type)) in
        files.iter().zip([(&a, "Book.pdf", "application/pdf"), (&b, "Book.epub", "application/epub+zip")])
    {
        assert_eq!(file["sha256"], sha256_hex(bytes));
        assert_eq!(file["size"], bytes.len());
        assert_eq!(file["filename"], name);
        assert_eq!(file["content_type"], content_type);
        let (status, got) = app.get_json(&m, &format!("/files/{}", file["id"].as_str().unwrap())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&got, file);
    }
    let mut expected = vec![format!("m/{}/{}", m.id, sha256_hex(&a)), format!("m/{}/{}", m.id, sha256_hex(&b))];
    expected.sort();
    let mut stored = app.stored_keys("").await;
    stored.sort();
    assert_eq!(stored, expected);
}

async fn cut_off_upload_leaves_nothing(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let head = format!(
        "POST /api/v1/files?filename=x.bin HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 20971520\r\n\r\n",
        m.api_key
    );
    app.cut_off_upload(&head).await;
    let (status, listed) = app.get_json(&m, "/files").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed, Value::Array(vec![]));
}

async fn upload_over_the_limit_is_refused_and_leaves_nothing(stack: Stack) {
    const LIMIT: u64 = 1024 * 1024;
    let app = TestApp::spawn_with(stack, |config| config.storage.max_upload_bytes = LIMIT).await;
    let m = app.merchant("Acme Books").await;
    // 2 MiB fits in the sockets' buffers; 16 MiB does not: the client is still sending when refused.
    for too_big in [2 * LIMIT, 16 * LIMIT] {
        let announced = app.api(&m, Method::POST, "/files?filename=big.bin").body(file_bytes(too_big as usize, 5));
        let streamed = app
            .api(&m, Method::POST, "/files?filename=big.bin")
            .body(reqwest::Body::wrap_stream(FileBytes::new(too_big, 5).stream()));
        for (how, request) in [("with a Content-Length", announced), ("streamed, without a Content-Length", streamed)] {
            let how = format!("{too_big} bytes {how}");
            let response = request.send().await.unwrap_or_else(|e| panic!("{how}: no answer: {e:?}"));
            assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{how}");
            // The body may not have been read to its end: the connection must not be reused.
            assert_eq!(response.headers()["connection"], "close", "{how}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(error_code(&body), "too_large", "{how}");
            assert_eq!(app.leftovers().await, Vec::<String>::new(), "{how}");
            assert_eq!(app.get_json(&m, "/files").await.1, Value::Array(vec![]), "{how}");
        }
    }

    // A client that waits for `100 Continue` before sending is refused at once, body unsent.
    let mut socket = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /api/v1/files?filename=big.bin HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        m.api_key,
        2 * LIMIT
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "answered and closed without waiting for the body");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.contains("too_large"), "{answer}");

    // The limit itself is allowed.
    let at_limit = app.api(&m, Method::POST, "/files?filename=fits.bin").body(file_bytes(LIMIT as usize, 6));
    assert_eq!(at_limit.send().await.unwrap().status(), StatusCode::CREATED);
}
