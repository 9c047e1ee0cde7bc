//! The delivery worker: every event reaches the endpoints subscribed to it, signed so that the
//! official `standardwebhooks` library verifies it (tests/support/verify.mjs); a failing
//! endpoint gets the same event (same `webhook-id`) again until it answers 2xx; private
//! addresses get no connection unless the operator allows them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::endpoints::create;
use crate::fulfilment::{buy, shop};
use crate::helpers::{Stack, TestApp, TestMerchant, eventually, on_both_stacks};

on_both_stacks!(
    every_event_arrives_signed_to_exactly_the_subscribed_endpoints,
    a_failing_endpoint_gets_the_same_event_again_until_it_answers,
    private_addresses_get_no_connection_unless_allowed,
    an_endpoint_that_does_not_answer_in_time_is_tried_again,
    a_delivery_is_given_up_after_its_last_attempt,
);

pub(super) const WITHIN: std::time::Duration = std::time::Duration::from_secs(20);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: String,
}

/// What the receiver answers at a path: these (status, body) in turn, the last one from then on;
/// status 0 never answers (the request hangs until the sender gives up).
pub(super) type Answers = HashMap<String, VecDeque<(u16, String)>>;

/// A webhook receiver on 127.0.0.1, keeping every request's raw headers and body by path.
pub(super) struct Receiver {
    base: String,
    got: Arc<Mutex<Vec<(String, Received)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub(super) async fn start(answers: Answers) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let got: Arc<Mutex<Vec<(String, Received)>>> = Arc::default();
        let answers = Arc::new(Mutex::new(answers));
        let log = got.clone();
        let handler = move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (log, answers) = (log.clone(), answers.clone());
            async move {
                let headers =
                    headers.iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
                let body = String::from_utf8(body.to_vec()).expect("a UTF-8 body");
                log.lock().unwrap().push((uri.path().to_owned(), Received { headers, body }));
                let (status, text) = {
                    let mut answers = answers.lock().unwrap();
                    let queue = answers.entry(uri.path().to_owned()).or_default();
                    if queue.len() > 1 { queue.pop_front() } else { queue.front().cloned() }
                }
                .unwrap_or((200, "ok".into()));
                if status == 0 {
                    std::future::pending::<()>().await;
                }
                (axum::http::StatusCode::from_u16(status).unwrap(), text)
            }
        };
        let router = axum::Router::new().fallback(handler);
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Receiver { base, got, task }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(super) fn received(&self, path: &str) -> Vec<Received> {
        self.got.lock().unwrap().iter().filter(|(p, _)| p == path).map(|(_, r)| r.clone()).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs `verify.mjs`, the official `standardwebhooks` library, on `request` under `secret`.
async fn run_verify(secret: &str, request: &Received) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let support = std::env::var("SATCHEL_TEST_NODE_SUPPORT").expect("run the tests with ./scripts/test");
    let mut child = tokio::process::Command::new("node")
        .arg(std::path::Path::new(&support).join("verify.mjs"))
        .arg(secret)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let input = json!({"headers": request.headers, "body": request.body}).to_string();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

/// Verifies `request` with the official `standardwebhooks` library; returns the payload.
pub(crate) async fn verify(secret: &str, request: &Received) -> Value {
    let out = run_verify(secret, request).await;
    assert!(out.status.success(), "standardwebhooks refused it: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Adds an endpoint; returns its id and secret.
pub(super) async fn endpoint(app: &TestApp, m: &TestMerchant, url: &str, events: &[&str]) -> (String, String) {
    let (status, created) = create(app, m, json!({"url": url, "events": events})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (created["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

/// The endpoint's deliveries log, newest first.
pub(super) async fn log(app: &TestApp, m: &TestMerchant, id: &str) -> Vec<Value> {
    let (status, list) = app.get_json(m, &format!("/webhook-endpoints/{id}/deliveries")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

/// Waits until the endpoint's log has `count` deliveries, all delivered.
pub(super) async fn all_delivered(app: &TestApp, m: &TestMerchant, id: &str, count: usize) -> Vec<Value> {
    eventually(WITHIN, &format!("{count} deliveries are delivered"), || async {
        let rows = log(app, m, id).await;
        (rows.len() == count && rows.iter().all(|d| d["status"] == "delivered")).then_some(rows)
    })
    .await
}

pub(super) fn spawn_allowing_private(stack: Stack) -> impl std::future::Future<Output = TestApp> {
    TestApp::spawn_with(stack, |c| {
        c.webhooks_out.allow_private = true;
        c.webhooks_out.retry_base_milliseconds = 20;
    })
}

async fn every_event_arrives_signed_to_exactly_the_subscribed_endpoints(stack: Stack) {
    let receiver = Receiver::start(Answers::new()).await;
    let app = spawn_allowing_private(stack).await;
    let s = shop(&app, "Signed Shop", "guide.pdf", b"%PDF-1.7 guide".to_vec()).await;
    let m = &s.m;
    let subscribed = ["order.created", "order.revoked", "order.restored"];
    let (all, all_secret) = endpoint(&app, m, &receiver.url("/all"), &subscribed).await;
    let (created, created_secret) = endpoint(&app, m, &receiver.url("/created"), &["order.created"]).await;
    let (refunds, _) = endpoint(&app, m, &receiver.url("/refunds"), &["order.refunded"]).await;

    let order = buy(&app, m, &s.product_id, "ada@example.com").await;
    let order_id = order["id"].as_str().unwrap();
    for action in ["revoke", "restore"] {
        let response = app.api(m, Method::POST, &format!("/orders/{order_id}/{action}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{action}");
    }

    let rows = all_delivered(&app, m, &all, 3).await;
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for row in &rows {
        assert_eq!(row["attempts"], 1, "{row}");
        assert_eq!((&row["last_response_status"], &row["last_response_body"]), (&json!(200), &json!("ok")), "{row}");
        assert_eq!(row["last_error"], Value::Null, "{row}");
        assert_eq!(row["next_attempt_at"], Value::Null, "{row}");
        assert!(row["delivered_at"].is_string(), "{row}");
        expected.insert(row["event_id"].as_str().unwrap().into(), row["event_type"].as_str().unwrap().into());
    }
    let types: std::collections::BTreeSet<&str> = expected.values().map(String::as_str).collect();
    assert_eq!(types, subscribed.into_iter().collect());

    // Each request verifies with the official library and carries the event it names.
    let arrived = receiver.received("/all");
    assert_eq!(arrived.len(), 3, "one request per event: {arrived:?}");
    let mut seen = BTreeMap::new();
    for request in &arrived {
        let payload = verify(&all_secret, request).await;
        assert_eq!(payload, serde_json::from_str::<Value>(&request.body).unwrap());
        assert_eq!(request.headers["content-type"], "application/json");
        let id = &request.headers["webhook-id"];
        assert_eq!(payload["data"]["order_id"], order_id, "{payload}");
        seen.insert(id.clone(), payload["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, expected, "the ids and types of the log");
    let restored = arrived.iter().find(|r| r.body.contains("order.restored")).unwrap();
    let restored: Value = serde_json::from_str(&restored.body).unwrap();
    assert_eq!((&restored["data"]["status"], &restored["data"]["revoked_at"]), (&json!("paid"), &Value::Null));

    // The other endpoint got the same order.created event, under the same id, signed with its
    // own secret (the other endpoint's secret does not verify it).
    all_delivered(&app, m, &created, 1).await;
    let only = receiver.received("/created");
    assert_eq!(only.len(), 1, "{only:?}");
    assert_eq!(verify(&created_secret, &only[0]).await["type"], "order.created");
    assert_eq!(expected[&only[0].headers["webhook-id"]], "order.created");
    let crossed = verify_refused(&all_secret, &only[0]).await;
    assert!(crossed.contains("No matching signature found"), "{crossed}");
    // Nothing was queued for, nor sent to, the endpoint of refunds.
    assert_eq!(log(&app, m, &refunds).await, Vec::<Value>::new());
    assert!(receiver.received("/refunds").is_empty());
}

/// What the official library says refusing `request` under `secret`.
pub(super) async fn verify_refused(secret: &str, request: &Received) -> String {
    let out = run_verify(secret, request).await;
    assert_eq!(out.status.code(), Some(1), "refused");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn a_failing_endpoint_gets_the_same_event_again_until_it_answers(stack: Stack) {
    let long = "x".repeat(3000);
    let answers = Answers::from([
        ("/flaky".to_owned(), VecDeque::from([(500, "down for maintenance".to_owned()), (200, "thanks".to_owned())])),
        ("/down".to_owned(), VecDeque::from([(503, long.clone())])),
    ]);
    let receiver = Receiver::start(answers).await;
    let app = spawn_allowing_private(stack).await;
    let s = shop(&app, "Retry Shop", "guide.pdf", b"%PDF-1.7 guide".to_vec()).await;
    let m = &s.m;
    let (flaky, secret) = endpoint(&app, m, &receiver.url("/flaky"), &["order.created"]).await;
    let (down, _) = endpoint(&app, m, &receiver.url("/down"), &["order.created"]).await;
    buy(&app, m, &s.product_id, "ada@example.com").await;

    let rows = all_delivered(&app, m, &flaky, 1).await;
    let row = &rows[0];
    assert_eq!(row["attempts"], 2, "{row}");
    assert_eq!((&row["last_response_status"], &row["last_response_body"]), (&json!(200), &json!("thanks")));
    assert_eq!(row["last_error"], Value::Null, "{row}");
    let arrived = receiver.received("/flaky");
    assert_eq!(arrived.len(), 2, "{arrived:?}");
    assert_eq!(arrived[0].headers["webhook-id"], arrived[1].headers["webhook-id"], "the same event, the same id");
    assert_eq!(arrived[0].headers["webhook-id"], row["event_id"].as_str().unwrap());
    assert_eq!(arrived[0].body, arrived[1].body, "the same body");
    for request in &arrived {
        assert_eq!(verify(&secret, request).await["type"], "order.created");
    }

    // An endpoint that keeps failing: each attempt is recorded with the status, the first
    // kilobyte of the answer and the reason, and another is scheduled.
    let row = eventually(WITHIN, "the failing endpoint was tried twice", || async {
        let rows = log(&app, m, &down).await;
        rows.first().filter(|d| d["attempts"].as_i64() >= Some(2) && d["last_attempt_at"].is_string()).cloned()
    })
    .await;
    assert_eq!(row["status"], "pending", "{row}");
    assert_eq!(row["last_response_status"], 503);
    assert_eq!(row["last_response_body"], "x".repeat(1024));
    assert_eq!(row["last_error"], "the endpoint answered 503 Service Unavailable");
    assert!(row["next_attempt_at"].is_string(), "{row}");
    assert_eq!(row["delivered_at"], Value::Null);
}

async fn private_addresses_get_no_connection_unless_allowed(stack: Stack) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = TestApp::spawn_with(stack, |c| c.webhooks_out.retry_base_milliseconds = 20).await;
    assert!(!app.state.config.webhooks_out.allow_private, "refused by default");
    let s = shop(&app, "Guarded Shop", "guide.pdf", b"%PDF-1.7 guide".to_vec()).await;
    let m = &s.m;
    let (literal, _) = endpoint(&app, m, &format!("http://127.0.0.1:{port}/hook"), &["order.created"]).await;
    let (named, _) = endpoint(&app, m, &format!("http://localhost:{port}/hook"), &["order.created"]).await;
    buy(&app, m, &s.product_id, "ada@example.com").await;

    for (id, refusal) in [
        (literal, "refused: 127.0.0.1 is a private, loopback or reserved address"),
        (named, "refused: localhost resolves only to private, loopback or reserved addresses"),
    ] {
        let row = eventually(WITHIN, "the delivery was attempted", || async {
            log(&app, m, &id).await.first().filter(|d| d["last_error"].is_string()).cloned()
        })
        .await;
        let error = row["last_error"].as_str().unwrap();
        assert!(error.contains(refusal), "{error}");
        assert_eq!(row["status"], "pending", "tried again later (the operator may allow it): {row}");
        assert_eq!((&row["last_response_status"], &row["last_response_body"]), (&Value::Null, &Value::Null));
    }
    // No connection reached the listener: none is waiting to be accepted.
    let waiting = tokio::time::timeout(std::time::Duration::ZERO, listener.accept()).await;
    assert!(waiting.is_err(), "a connection was made: {waiting:?}");
}

/// Two processes on one database (PostgreSQL) share the outbox: each claims with a lease, so
/// every event is sent once, whichever process took the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_send_each_event_once() {
    use futures_util::StreamExt as _;
    let receiver = Receiver::start(Answers::new()).await;
    let first = spawn_allowing_private(Stack::ScaledOut).await;
    let second = first.spawn_alongside(|_| {}).await;
    let s = shop(&first, "Twin Hooks", "guide.pdf", b"%PDF-1.7 guide".to_vec()).await;
    let m = &s.m;
    let (hook, secret) = endpoint(&first, m, &receiver.url("/hook"), &["order.created"]).await;
    let (apps, product_id) = ([&first, &second], s.product_id.as_str());
    futures_util::stream::iter(0..60)
        .for_each_concurrent(8, |i| async move {
            buy(apps[i % 2], m, product_id, &format!("twin-{i}@example.com")).await;
        })
        .await;

    let rows = all_delivered(&first, m, &hook, 60).await;
    assert!(rows.iter().all(|d| d["attempts"] == 1), "one attempt each");
    let logged: std::collections::BTreeSet<&str> = rows.iter().map(|d| d["event_id"].as_str().unwrap()).collect();
    let arrived = receiver.received("/hook");
    let ids: Vec<&str> = arrived.iter().map(|r| r.headers["webhook-id"].as_str()).collect();
    assert_eq!(ids.len(), 60, "each event sent once: {} requests", ids.len());
    assert_eq!(ids.iter().copied().collect::<std::collections::BTreeSet<_>>(), logged);
    assert_eq!(verify(&secret, &arrived[0]).await["type"], "order.created");
    drop(second);
}

async fn an_endpoint_that_does_not_answer_in_time_is_tried_again(stack: Stack) {
    let answers = Answers::from([
        ("/slow".to_owned(), VecDeque::from([(0, String::new()), (204, String::new())])),
        ("/silent".to_owned(), VecDeque::from([(0, String::new())])),
    ]);
    let receiver = Receiver::start(answers).await;
    let app = TestApp::spawn_with(stack, |c| {
        c.webhooks_out.allow_private = true;
        c.webhooks_out.retry_base_milliseconds = 20;
        c.webhooks_out.timeout_milliseconds = 300;
    })
    .await;
    let s = shop(&app, "Slow Shop", "guide.pdf", b"%PDF-1.7 guide".to_vec()).await;
    let m = &s.m;
    let (slow, secret) = endpoint(&app, m, &receiver.url("/slow"), &["order.created"]).await;
    let (silent, _) = endpoint(&app, m, &receiver.url("/silent"), &["order.created"]).await;
    buy(&app, m, &s.product_id, "ada@example.com").await;

    let rows = all_delivered(&app, m, &slow, 1).await;
    assert_eq!((&rows[0]["attempts"], &rows[0]["last_response_status"]), (&json!(2), &json!(204)), "{}", rows[0]);
    let arrived = receiver.received("/slow");
    assert_eq!(arrived.len(), 2, "{arrived:?}");
    assert_eq!(arrived[0].headers["webhook-id"], arrived[1].headers["webhook-id"]);
    for request in &arrived {
        verify(&secret, request).await;
    }
    let row = eventually(WITHIN, "the silent endpoint timed out", || async {
        log(&app, m, &silent).await.first().filter(|d| d["last_error"].is_string()).cloned()
    })
    .await;
    let error = row["last_error"].as_str().unwrap();
    assert!(error.starts_with("no answer") && error.contains("timed out"), "{error}");
    assert_eq!((&row["status"], &row["last_response_status"]), (&json!("pending"), &Value::Null));
}

/// The whole schedule (14 attempts, ~3 days at the default base) run with a 1 ms base: then
/// the delivery is failed, and nothing more is sent.
async fn a_delivery_is_given_up_after_its_last_attempt(stack: Stack) {
    let answers = Answers::from([("/broken".to_owned(), VecDeque::from([(500, "broken".to_owned())]))]);
    let receiver = Receiver::start(answers).await;
    let app = TestApp::spawn_with(stack, |c| {
        c.webhooks_out.allow_private = true;
        c.webhooks_out.retry_base_milliseconds = 1;
    })
    .await;
    let s = shop(&app, "Broken Shop", "guide.pdf", b"%PDF-1.7 guide".to_vec()).await;
    let m = &s.m;
    let (broken, _) = endpoint(&app, m, &receiver.url("/broken"), &["order.created"]).await;
    buy(&app, m, &s.product_id, "ada@example.com").await;
    let row = eventually(WITHIN * 2, "the delivery is failed", || async {
        log(&app, m, &broken).await.first().filter(|d| d["status"] == "failed").cloned()
    })
    .await;
    assert_eq!(row["attempts"], 14, "{row}");
    assert_eq!((&row["next_attempt_at"], &row["delivered_at"]), (&Value::Null, &Value::Null), "{row}");
    assert_eq!(row["last_error"], "the endpoint answered 500 Internal Server Error");
    let arrived = receiver.received("/broken");
    assert_eq!(arrived.len(), 14);
    assert!(arrived.iter().all(|r| r.headers["webhook-id"] == row["event_id"].as_str().unwrap()));
}
