//! The server loop under slow and idle clients: header, keep-alive and body timeouts, the
//! connection cap, and a stop that does not wait forever. Timeouts are configured short.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Stack, TestApp, eventually, on_both_stacks};

on_both_stacks!(
    slow_steady_bodies_go_through_and_stalled_ones_are_cut,
    stop_waits_for_requests_only_until_the_deadline
);

/// Generous bound for things that must happen (a debug build on a busy machine).
const WITHIN: Duration = Duration::from_secs(15);

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection (or fails it); what came, and when.
async fn until_closed(socket: &mut TcpStream) -> (String, Instant) {
    let mut got = Vec::new();
    let read = tokio::time::timeout(WITHIN, async {
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server never closed the connection; it sent: {}", String::from_utf8_lossy(&got));
    (String::from_utf8_lossy(&got).into_owned(), Instant::now())
}

/// Reads one `GET /healthz` answer ("ok", two bytes of body) off a kept-alive connection.
async fn read_health(socket: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"\r\n\r\nok") {
        let n = tokio::time::timeout(WITHIN, socket.read(&mut buf)).await.expect("an answer").unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_request_heads_are_closed_while_others_are_served() {
    let app = TestApp::spawn_with(Stack::Embedded, |c| c.server.header_read_timeout_seconds = 1).await;
    let opened = Instant::now();
    let mut silent = connect(&app).await;
    let mut halves = Vec::new();
    for _ in 0..20 {
        let mut socket = connect(&app).await;
        socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.unwrap();
        halves.push(socket);
    }
    let normal = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(normal.status(), StatusCode::OK, "a normal client is served meanwhile");
    for socket in halves.iter_mut().chain([&mut silent]) {
        let (sent, closed) = until_closed(socket).await;
        assert!(!sent.contains(" 200 "), "no answer to half a request: {sent}");
        assert!(closed - opened >= Duration::from_millis(900), "closed only after the timeout");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    let app = TestApp::spawn_with(Stack::Embedded, |c| {
        c.server.keep_alive_timeout_seconds = 1;
        c.server.header_read_timeout_seconds = 30;
    })
    .await;
    let mut socket = connect(&app).await;
    for _ in 0..2 {
        socket.write_all(HEALTH).await.unwrap();
        assert!(read_health(&mut socket).await.starts_with("HTTP/1.1 200"), "kept alive between requests");
    }
    let answered = Instant::now();
    let (sent, closed) = until_closed(&mut socket).await;
    assert_eq!(sent, "", "nothing more was sent");
    assert!(closed - answered >= Duration::from_millis(900), "idle for the keep-alive timeout first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_connection_cap_the_next_one_waits_and_is_served() {
    let app = TestApp::spawn_with(Stack::Embedded, |c| c.server.max_connections = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut socket = connect(&app).await;
        socket.write_all(HEALTH).await.unwrap();
        read_health(&mut socket).await;
        held.push(socket);
    }
    let third = tokio::spawn({
        let (client, url) = (app.client.clone(), app.url("/healthz"));
        async move { client.get(url).send().await.map(|r| r.status()) }
    });
    // Waiting is the behaviour under test: the third is neither served nor refused yet.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!third.is_finished(), "the third connection waits while two are open");
    drop(held.pop());
    let status = tokio::time::timeout(WITHIN, third).await.expect("served once one closed").unwrap().unwrap();
    assert_eq!(status, StatusCode::OK);
}

/// The head of a raw upload of `len` bytes.
fn upload_head(api_key: &str, name: &str, len: usize) -> String {
    format!(
        "POST /api/v1/files?filename={name} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {api_key}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
}

async fn slow_steady_bodies_go_through_and_stalled_ones_are_cut(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| c.server.body_read_timeout_seconds = 1).await;
    let m = app.merchant("Trickle Goods").await;
    let (piece, pieces) = (1024, 12);

    let mut steady = connect(&app).await;
    let mut stalled = connect(&app).await;
    steady.write_all(upload_head(&m.api_key, "steady.bin", piece * pieces).as_bytes()).await.unwrap();
    stalled.write_all(upload_head(&m.api_key, "stalled.bin", piece * pieces).as_bytes()).await.unwrap();
    stalled.write_all(&vec![b's'; piece]).await.unwrap();
    let started = Instant::now();
    // One piece every 300 ms: always under the 1 s limit, 3.6 s in all.
    for _ in 0..pieces {
        steady.write_all(&vec![b'x'; piece]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (answer, _) = until_closed(&mut steady).await;
    assert!(started.elapsed() > Duration::from_secs(3), "the upload took well over the limit in all");
    assert!(answer.starts_with("HTTP/1.1 201"), "a slow but steady upload is kept: {answer}");

    let (answer, _) = until_closed(&mut stalled).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "the stalled upload is cut off: {answer}");
    assert!(answer.contains("upload_cut_off") && answer.contains("no bytes of the request body"), "{answer}");
    let (status, listed) = app.get_json(&m, "/files").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = listed.as_array().unwrap().iter().filter_map(|f| f["filename"].as_str()).collect();
    assert_eq!(names, ["steady.bin"], "only the complete upload became a file");
}

async fn stop_waits_for_requests_only_until_the_deadline(stack: Stack) {
    let mut app = TestApp::spawn_with(stack, |c| c.server.shutdown_timeout_seconds = 2).await;
    let m = app.merchant("Closing Time").await;
    let len = 4096;
    let mut finishing = connect(&app).await;
    let mut endless = connect(&app).await;
    finishing.write_all(upload_head(&m.api_key, "last.bin", len).as_bytes()).await.unwrap();
    finishing.write_all(&vec![b'f'; len / 2]).await.unwrap();
    endless.write_all(upload_head(&m.api_key, "never.bin", 1 << 30).as_bytes()).await.unwrap();
    // The endless upload keeps sending a byte now and then, so no silence timeout ends it.
    let trickle = tokio::spawn(async move {
        while endless.write_all(b"e").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        endless
    });
    eventually(WITHIN, "both uploads are being staged", || async { (app.leftovers().await.len() >= 2).then_some(()) })
        .await;

    let stopping = Instant::now();
    let stop = app.stop();
    let finish = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        finishing.write_all(&vec![b'f'; len / 2]).await.unwrap();
        until_closed(&mut finishing).await.0
    };
    let ((), answer) = tokio::time::timeout(WITHIN, async { tokio::join!(stop, finish) })
        .await
        .expect("the stop did not wait forever for the endless upload");
    assert!(stopping.elapsed() < Duration::from_secs(5), "stopped by the 2 s deadline: {:?}", stopping.elapsed());
    assert!(answer.starts_with("HTTP/1.1 201"), "the request in flight finished: {answer}");
    let endless = tokio::time::timeout(WITHIN, trickle).await.expect("the endless upload was cut").unwrap();
    drop(endless);
}

on_both_stacks!(every_kind_of_page_carries_security_headers);

async fn every_kind_of_page_carries_security_headers(stack: Stack) {
    use crate::dashboard::Dashboard;
    use crate::fulfilment::{buy, delivery_url, settings, shop};
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Header Goods", "guide.pdf", b"%PDF-1.4 headers".to_vec()).await;
    settings(&app, &shop.m, serde_json::json!({"test_mode": true})).await;
    let order = buy(&app, &shop.m, &shop.product_id, "reader@headers.example").await;
    let delivery = delivery_url(&order);
    let dashboard = Dashboard::sign_in(&app, &shop.m).await;
    let mailbox = eventually(WITHIN, "the purchase email is in the mailbox", || async {
        let (_, html) = dashboard.get("/dashboard/mailbox").await;
        let start = html.find(r#"href="/dashboard/mailbox/"#)? + 6;
        Some(html[start..].split('"').next().unwrap().to_owned())
    })
    .await;

    let strict = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                  frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
    let inline_styles = strict.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");
    let pages = [
        (app.client.get(&delivery), strict.to_owned(), "no-referrer"),
        (app.client.get(app.url(&format!("/buy/{}", shop.product_id))), strict.to_owned(), "same-origin"),
        (app.client.get(app.url(&format!("/portal/{}", shop.m.slug))), strict.to_owned(), "same-origin"),
        (app.client.get(app.url("/dashboard/sign-in")), strict.to_owned(), "same-origin"),
        (dashboard.client.get(app.url("/dashboard/products")), strict.to_owned(), "same-origin"),
        (dashboard.client.get(app.url(&mailbox)), inline_styles.clone(), "same-origin"),
        (app.client.get(app.url("/api/docs/")), inline_styles, "same-origin"),
    ];
    for (request, policy, referrer) in pages {
        let response = request.send().await.unwrap();
        let url = response.url().to_string();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        assert!(header("content-type").unwrap().starts_with("text/html"), "{url}");
        assert_eq!(header("content-security-policy").as_deref(), Some(policy.as_str()), "{url}");
        assert_eq!(header("referrer-policy").as_deref(), Some(referrer), "{url}");
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{url}");
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{url}");
    }

    let file = app.client.get(format!("{delivery}/files/1")).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["referrer-policy"], "no-referrer", "downloads behind a token too");
    assert!(file.headers().get("content-security-policy").is_none(), "files are not pages");
    let json = app.api(&shop.m, reqwest::Method::GET, "/products").send().await.unwrap();
    assert_eq!(json.headers()["x-content-type-options"], "nosniff");
    assert!(json.headers().get("referrer-policy").is_none());
}
