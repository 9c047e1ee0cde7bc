//! Exactly one email per order across process deaths and several processes: the real binary
//! killed with SIGKILL right after answering a webhook, and two processes on one PostgreSQL.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use super::{Maildev, WITHIN, fast_retries, free_port, send_to, smtp_port, unique_address};
use crate::fulfilment::{dodo_payment, product, set_delivery};
use crate::helpers::{Stack, TestApp, eventually, sign_standard, unix_now};

/// `satchel ARGS…` with `config` and nothing from the test's environment.
fn satchel(config: &Path) -> Command {
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
    let mut child = satchel(config).arg("serve").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_right_after_the_webhook_the_email_still_goes_out_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("satchel.toml");
    let toml = format!(
        "data_dir = {data:?}\n[server]\nport = {port}\n\
         [mail]\nfrom_address = \"shop@satchel.test\"\nretry_base_seconds = 1\nretry_cap_seconds = 2\n\
         poll_seconds = 1\nlease_seconds = 3\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n",
        data = dir.path().join("data").display().to_string(),
        smtp = smtp_port(),
    );
    std::fs::write(&config, toml).unwrap();
    let created = run(&config, &["merchant", "create", "--name", "Crash Test Press", "--email", "crash@example.com"]);
    let secret = created
        .split("(secret ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("the webhook secret is printed: {created}"))
        .to_owned();
    let key = run(&config, &["api-key", "create", "--merchant", "crash-test-press"]).trim().to_owned();

    let mut server = serve(&config, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let product: serde_json::Value = client
        .post(format!("{base}/api/v1/products"))
        .bearer_auth(&key)
        .json(&json!({"name": "Atlas", "price_minor": 900, "currency": "USD"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product_id = product["id"].as_str().unwrap();
    let response = client
        .put(format!("{base}/api/v1/products/{product_id}/delivery"))
        .bearer_auth(&key)
        .json(&json!({"mode": "external_link", "external_url": "https://example.com/atlas.zip"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let to = unique_address("crash");
    let body = dodo_payment("pay_crash_1", product_id, &to);
    let headers = sign_standard(&secret, "msg_crash_1", unix_now(), body.as_bytes()).await;
    let mut request = client.post(format!("{base}/webhooks/crash-test-press/standard")).body(body.clone());
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    let response = request.header("content-type", "application/json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the webhook is accepted");
    server.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix: no shutdown code runs
    server.wait().unwrap();

    let mut server = serve(&config, port).await;
    let maildev = Maildev::shared();
    let received = maildev.wait_for(&to, 1).await;
    assert_eq!(received[0]["subject"], "Your purchase from Crash Test Press: Atlas");
    // Once the outbox says sent, nothing else can be on its way: then count again.
    eventually(WITHIN, "the email is marked sent", || {
        let request = client.get(format!("{base}/api/v1/orders?email={to}")).bearer_auth(&key).send();
        let client = client.clone();
        let (base, key) = (base.clone(), key.clone());
        async move {
            let orders: Vec<serde_json::Value> = request.await.ok()?.json().await.ok()?;
            let id = orders.first()?["id"].as_str()?.to_owned();
            let detail: serde_json::Value = client
                .get(format!("{base}/api/v1/orders/{id}"))
                .bearer_auth(&key)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let emails = detail["emails"].as_array()?;
            assert_eq!(emails.len(), 1, "one email row for the order: {detail}");
            (emails[0]["status"] == "sent").then_some(())
        }
    })
    .await;
    assert_eq!(maildev.to(&to).await.len(), 1, "exactly one email");

    // The webhook retried by the provider after the crash changes nothing either.
    let response = client
        .post(format!("{base}/webhooks/crash-test-press/standard"))
        .headers(headers.iter().map(|(n, v)| (n.parse().unwrap(), v.parse().unwrap())).collect())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(maildev.to(&to).await.len(), 1, "still exactly one email");
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
