//! Exactly one email per order across process deaths and several processes: the real binary
//! killed with SIGKILL right after answering a webhook, and two processes on one PostgreSQL.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use super::{Maildev, WITHIN, fast_retries, send_to, smtp_port, unique_address};
use crate::fulfilment::{dodo_payment, product, set_delivery};
use crate::helpers::{ReservedPort, Stack, TestApp, eventually, sign_standard, unix_now};

/// `satchel ARGS…` with `config` and nothing from the test's environment.
pub(super) fn satchel(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_satchel"));
    command.env_remove("SATCHEL_MERCHANT_PASSWORD").env("SATCHEL_CONFIG", config);
    for (name, _) in std::env::vars() {
        if name.starts_with("SATCHEL__") {
            command.env_remove(name);
        }
    }
    command
}

fn run(config: &Path, args: &[&str]) -> String {
    let output = satchel(config).args(args).output().expect("satchel runs");
    assert!(output.status.success(), "satchel {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

async fn serve(config: &Path, port: u16) -> Child {
    serve_with(config, port, &[]).await
}

/// `satchel serve ARGS…` with `config`, once it answers `/healthz` on `port`.
pub(super) async fn serve_with(config: &Path, port: u16, args: &[&str]) -> Child {
    let mut child =
        satchel(config).arg("serve").args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let client = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/healthz");
    eventually(WITHIN, "satchel serve answers", || {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("satchel serve exited early ({status})");
        }
        let request = client.get(&health).send();
        async move { (request.await.ok()?.status() == StatusCode::OK).then_some(()) }
    })
    .await;
    child
}

/// `satchel serve` as an operator deploys it: a config file, a SQLite data directory, a
/// merchant and API key made with the CLI, and a product delivering a link.
struct Deployment {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    port: u16,
    /// `satchel serve` binds the port its config names (it cannot be handed a listening
    /// socket), and is killed and started again on it: the port stays reserved for it between.
    _reserved: ReservedPort,
    base: String,
    key: String,
    secret: String,
    product_id: String,
    client: reqwest::Client,
}

impl Deployment {
    /// Sets up the data directory with mail going to `smtp` (the lease is `lease` seconds).
    async fn new(smtp: u16, lease: u64) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let reserved = ReservedPort::new();
        let port = reserved.port();
        let config = dir.path().join("satchel.toml");
        let mut deployment = Deployment {
            base: format!("http://127.0.0.1:{port}"),
            config,
            dir,
            port,
            _reserved: reserved,
            key: String::new(),
            secret: String::new(),
            product_id: String::new(),
            client: reqwest::Client::new(),
        };
        deployment.configure(smtp, lease);
        let config = &deployment.config;
        let created =
            run(config, &["merchant", "create", "--name", "Crash Test Press", "--email", "crash@example.com"]);
        deployment.secret = created
            .split("(secret ")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .unwrap_or_else(|| panic!("the webhook secret is printed: {created}"))
            .to_owned();
        deployment.key = run(config, &["api-key", "create", "--merchant", "crash-test-press"]).trim().to_owned();
        let mut server = serve(config, port).await;
        let product: serde_json::Value = deployment
            .api(reqwest::Method::POST, "/products")
            .json(&json!({"name": "Atlas", "price_minor": 900, "currency": "USD"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        deployment.product_id = product["id"].as_str().unwrap().to_owned();
        let response = deployment
            .api(reqwest::Method::PUT, &format!("/products/{}/delivery", deployment.product_id))
            .json(&json!({"mode": "external_link", "external_url": "https://example.com/atlas.zip"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        server.kill().unwrap();
        server.wait().unwrap();
        deployment
    }

    /// Writes the config file: mail to `smtp`, retries a second apart, a lease of `lease` s.
    fn configure(&self, smtp: u16, lease: u64) {
        let toml = format!(
            "data_dir = {data:?}\n[server]\nport = {port}\n\
             [mail]\nfrom_address = \"shop@satchel.test\"\nretry_base_seconds = 1\nretry_cap_seconds = 2\n\
             poll_seconds = 1\nlease_seconds = {lease}\n\
             [mail.smtp]\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n",
            data = self.dir.path().join("data").display().to_string(),
            port = self.port,
        );
        std::fs::write(&self.config, toml).unwrap();
    }

    async fn serve(&self) -> Child {
        serve(&self.config, self.port).await
    }

    fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}/api/v1{path}", self.base)).bearer_auth(&self.key)
    }

    /// Sends a signed `payment.succeeded` for the product to `to`; returns its status.
    async fn pay(&self, payment_id: &str, to: &str) -> StatusCode {
        let body = dodo_payment(payment_id, &self.product_id, to);
        let headers = sign_standard(&self.secret, &format!("msg_{payment_id}"), unix_now(), body.as_bytes()).await;
        let mut request = self.client.post(format!("{}/webhooks/crash-test-press/standard", self.base)).body(body);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        request.header("content-type", "application/json").send().await.unwrap().status()
    }

    /// The emails of the one order made for `to` (None until the order is listed).
    async fn emails_to(&self, to: &str) -> Option<Vec<serde_json::Value>> {
        let orders: Vec<serde_json::Value> =
            self.api(reqwest::Method::GET, &format!("/orders?email={to}")).send().await.ok()?.json().await.ok()?;
        let id = orders.first()?["id"].as_str()?.to_owned();
        let detail: serde_json::Value =
            self.api(reqwest::Method::GET, &format!("/orders/{id}")).send().await.ok()?.json().await.ok()?;
        let emails = detail["emails"].as_array()?.clone();
        assert_eq!(emails.len(), 1, "one email row for the order: {detail}");
        Some(emails)
    }

    /// Waits until the order's email is marked sent, and returns it.
    async fn sent_email(&self, to: &str) -> serde_json::Value {
        eventually(WITHIN, "the email is marked sent", || async {
            let email = self.emails_to(to).await?.remove(0);
            (email["status"] == "sent").then_some(email)
        })
        .await
    }
}

pub(super) fn kill(server: &mut Child) {
    server.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix: no shutdown code runs
    server.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_right_after_the_webhook_the_email_still_goes_out_once() {
    let deployment = Deployment::new(smtp_port(), 3).await;
    let mut server = deployment.serve().await;
    let to = unique_address("crash");
    assert_eq!(deployment.pay("pay_crash_1", &to).await, StatusCode::OK, "the webhook is accepted");
    kill(&mut server);

    let mut server = deployment.serve().await;
    let maildev = Maildev::shared();
    let received = maildev.wait_for(&to, 1).await;
    assert_eq!(received[0]["subject"], "Your purchase from Crash Test Press: Atlas");
    // Once the outbox says sent, nothing else can be on its way: then count again.
    deployment.sent_email(&to).await;
    assert_eq!(maildev.to(&to).await.len(), 1, "exactly one email");

    // The webhook retried by the provider after the crash changes nothing either.
    assert_eq!(deployment.pay("pay_crash_1", &to).await, StatusCode::OK);
    assert_eq!(deployment.emails_to(&to).await.unwrap().len(), 1);
    kill(&mut server);
    assert_eq!(maildev.to(&to).await.len(), 1, "still exactly one email");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_sending_a_restart_sends_the_email_at_once() {
    // An SMTP server that accepts connections and never says a word: the worker is stuck in
    // the middle of sending (its timeout is half the lease, at most 60 s) when the process is
    // killed. The lease is five minutes, as by default.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let deployment = Deployment::new(silent.local_addr().unwrap().port(), 300).await;
    let mut server = deployment.serve().await;
    let to = unique_address("mid-send");
    assert_eq!(deployment.pay("pay_mid_send", &to).await, StatusCode::OK);
    let claimed = eventually(WITHIN, "the worker is sending", || async {
        let email = deployment.emails_to(&to).await?.remove(0);
        (email["status"] == "sending").then_some(email)
    })
    .await;
    kill(&mut server);
    let attempts = claimed["attempts"].as_i64().unwrap();

    // Back with a working server: SQLite serves one process, so the one that claimed the
    // email ended, and the email is taken over at once (within WITHIN, far less than the
    // lease), and sent once.
    deployment.configure(smtp_port(), 300);
    let mut server = deployment.serve().await;
    let email = deployment.sent_email(&to).await;
    assert_eq!(email["attempts"], attempts + 1, "the interrupted attempt counts: {email}");
    assert_eq!(Maildev::shared().wait_for(&to, 1).await.len(), 1);
    kill(&mut server);
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_send_each_email_once() {
    let first = TestApp::spawn_with(Stack::ScaledOut, |c| send_to(c, smtp_port())).await;
    let second = first.spawn_alongside(fast_retries).await;
    let m = first.merchant("Twin Shops").await;
    let product_id = product(&first, &m, "Almanac", json!({})).await;
    set_delivery(&first, &m, &product_id, json!({"mode": "external_link", "external_url": "https://example.com/a"}))
        .await;

    let run = uuid::Uuid::new_v4().simple().to_string();
    let recipients: Vec<String> = (0..200).map(|i| format!("twin-{i}-{run}@example.com")).collect();
    let apps = [&first, &second];
    futures_util::stream::iter(recipients.iter().enumerate())
        .for_each_concurrent(16, |(i, to)| {
            let app = apps[i % 2];
            let body = json!({"customer": {"email": to}, "items": [{"product_id": product_id}]});
            let request = app.api(&m, reqwest::Method::POST, "/orders").json(&body).send();
            async move {
                let response = request.await.unwrap();
                assert_eq!(response.status(), StatusCode::CREATED, "order {i}");
            }
        })
        .await;

    let satchel::db::Db::Postgres(pool) = &first.state.db else { panic!("the scaled-out stack runs on PostgreSQL") };
    eventually(WITHIN * 2, "all 200 emails are marked sent", || async {
        let (sent, total): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE status = 'sent'), COUNT(*) FROM emails WHERE merchant_id = $1",
        )
        .bind(&m.id)
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(total, 200, "one email row per order");
        (sent == 200).then_some(())
    })
    .await;
    let maildev = Maildev::shared();
    for to in &recipients {
        assert_eq!(maildev.to(to).await.len(), 1, "exactly one email to {to}");
    }
    drop(second);
}

/// Update emails (issue 16): one per order granted the release, whatever the process does
/// between the publish and the sending. Killed with SIGKILL right after the publish answers,
/// started again: each order gets exactly one, and publishing again queues nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_right_after_a_publish_each_order_gets_one_update_email() {
    let deployment = Deployment::new(smtp_port(), 3).await;
    let mut server = deployment.serve().await;
    let maildev = Maildev::shared();
    let buyers: Vec<String> = (0..4).map(|n| unique_address(&format!("update-crash-{n}"))).collect();
    for (n, to) in buyers.iter().enumerate() {
        assert_eq!(deployment.pay(&format!("pay_update_crash_{n}"), to).await, StatusCode::OK);
    }
    for to in &buyers {
        maildev.wait_for(to, 1).await;
    }
    let product = format!("/products/{}", deployment.product_id);
    let response = deployment
        .api(reqwest::Method::PUT, &format!("{product}/delivery"))
        .json(&json!({"mode": "external_link", "external_url": "https://example.com/atlas-2.zip"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = json!({"label": "2", "audience": "all", "email": {"subject": "Atlas 2 is out", "message": "New maps."}});
    let publish = || deployment.api(reqwest::Method::POST, &format!("{product}/releases")).json(&body).send();
    let response = publish().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    kill(&mut server);

    let mut server = deployment.serve().await;
    for to in &buyers {
        let received = maildev.wait_for(to, 2).await;
        assert_eq!(received.iter().filter(|e| e["subject"] == "Atlas 2 is out").count(), 1, "{to}");
    }
    // Once the outbox says every update email is sent, nothing else is on its way: count again.
    eventually(WITHIN, "the update emails are marked sent", || async {
        let release: serde_json::Value = deployment
            .api(reqwest::Method::GET, &format!("{product}/releases/2"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (release["emails"] == json!({"queued": 0, "sent": 4, "failed": 0, "unsubscribed": 0})).then_some(())
    })
    .await;
    // A repeated publish (a client retrying after the crash) is refused and queues nothing.
    assert_eq!(publish().await.unwrap().status(), StatusCode::CONFLICT);
    for to in &buyers {
        assert_eq!(maildev.to(to).await.len(), 2, "exactly one update email to {to}");
    }
    kill(&mut server);
}
