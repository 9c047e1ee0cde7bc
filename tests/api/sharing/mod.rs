//! The link-sharing brake (issue 17, item 2): downloads through an order's email link from many
//! networks, simulated with `server.trusted_proxies` and `X-Forwarded-For`; the policy off,
//! notify and lock; the locked page, the portal that keeps working, unlock and a new link.

mod brake;
mod browser;
mod policy;

use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub(crate) use crate::events_out::delivery::{Received, verify};
use crate::helpers::{TestApp, TestMerchant, eventually};
use crate::portal::on_pool;

/// Long enough for a busy two-core machine.
pub const WITHIN: std::time::Duration = std::time::Duration::from_secs(20);

/// GET `url` as a client at `ip` (behind our one trusted proxy).
pub async fn get_from(app: &TestApp, url: &str, ip: &str) -> reqwest::Response {
    app.client.get(url).header("x-forwarded-for", ip).header("user-agent", "curl/8.5.0").send().await.unwrap()
}

/// Downloads `url` from `ip`, expecting 200 and `bytes`.
pub async fn download_from(app: &TestApp, url: &str, ip: &str, bytes: &[u8]) {
    let response = get_from(app, url, ip).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {url} from {ip}");
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes, "from {ip}");
}

/// `PATCH /api/v1/settings` with the brake's fields; expects 200.
pub async fn set_policy(app: &TestApp, m: &TestMerchant, mode: &str, networks: i64, hours: i64) -> Value {
    let change = json!({"sharing_mode": mode, "sharing_max_networks": networks, "sharing_window_hours": hours});
    crate::fulfilment::settings(app, m, change).await
}

/// The `link_networks` rows of an order: (network, agent, downloads), by network.
pub async fn networks(app: &TestApp, order_id: &str) -> Vec<(String, String, i64)> {
    let sql = "SELECT network, agent, downloads FROM link_networks WHERE order_id = $1 ORDER BY network, agent";
    on_pool!(&app.state.db, pool => {
        sqlx::query_as(sql).bind(order_id).fetch_all(pool).await.unwrap()
    })
}

/// A webhook receiver on 127.0.0.1 answering 200 to everything, keeping every request.
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/events", listener.local_addr().unwrap().port());
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = got.clone();
        let handler = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let headers =
                    headers.iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
                log.lock().unwrap().push(Received { headers, body: String::from_utf8(body.to_vec()).unwrap() });
                "ok"
            }
        };
        let router = axum::Router::new().fallback(handler);
        let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Receiver { url, got, task }
    }

    /// Waits until `n` requests arrived (no more), and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        eventually(WITHIN, &format!("{n} events arrive"), || async {
            let got = self.got.lock().unwrap().clone();
            assert!(got.len() <= n, "{} events arrived, expected {n}: {got:?}", got.len());
            (got.len() == n).then_some(got)
        })
        .await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Subscribes a new endpoint at `url` to `events`; returns its id and `whsec_` secret.
pub async fn subscribe(app: &TestApp, m: &TestMerchant, url: &str, events: &[&str]) -> (String, String) {
    let response =
        app.api(m, Method::POST, "/webhook-endpoints").json(&json!({"url": url, "events": events})).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    (created["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

/// The event types queued for endpoint `id`, sorted (events of one moment have no order).
pub async fn queued(app: &TestApp, m: &TestMerchant, id: &str) -> Vec<String> {
    let (status, log) = app.get_json(m, &format!("/webhook-endpoints/{id}/deliveries")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let mut types: Vec<String> =
        log.as_array().unwrap().iter().map(|d| d["event_type"].as_str().unwrap().into()).collect();
    types.sort();
    types
}
