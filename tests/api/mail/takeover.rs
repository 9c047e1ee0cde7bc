//! Crash takeover and roles on PostgreSQL: the emails of a killed process are sent by a
//! sibling within seconds (its heartbeat stops), a web-only process sends no mail, a
//! worker-only process (the real binary, `satchel serve --role worker`) does, and every
//! process has a row in `instances` while it runs.

use std::process::Child;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use satchel::config::Config;
use satchel::domain::Role;
use serde_json::{Value, json};

use super::processes::{kill, serve_with};
use super::{Maildev, WITHIN, fast_retries, send_to, smtp_port, unique_address};
use crate::fulfilment::{buy, product, set_delivery};
use crate::helpers::{ReservedPort, Stack, TestApp, TestMerchant, eventually, on_both_stacks};
use crate::portal::on_pool;

/// `satchel serve --role worker` (the real binary) on a test app's database and secrets.
struct WorkerProcess {
    child: Child,
    port: u16,
    _reserved: ReservedPort,
    _dir: tempfile::TempDir,
}

impl WorkerProcess {
    /// Starts it with mail going to the SMTP server on `smtp`, with the default heartbeat
    /// (5 s), stale threshold (15 s) and lease (5 minutes).
    async fn start(app: &TestApp, smtp: u16) -> WorkerProcess {
        let dir = tempfile::tempdir().unwrap();
        let reserved = ReservedPort::new();
        let port = reserved.port();
        let url = app.state.config.database.url.as_ref().expect("PostgreSQL").expose().to_owned();
        let toml = format!(
            "data_dir = {data:?}\nsigning_key = {key:?}\n[server]\nport = {port}\n[database]\nurl = {url:?}\n\
             [mail]\nfrom_address = \"shop@satchel.test\"\nretry_base_seconds = 1\nretry_cap_seconds = 2\n\
             [mail.smtp]\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n",
            data = dir.path().join("data").display().to_string(),
            key = app.state.secrets.signing_key,
        );
        let config = dir.path().join("satchel.toml");
        std::fs::write(&config, toml).unwrap();
        let child = serve_with(&config, port, &["--role", "worker"]).await;
        WorkerProcess { child, port, _reserved: reserved, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGTERM, and waits for the clean shutdown.
    fn stop(&mut self) {
        let status = std::process::Command::new("kill").arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success(), "SIGTERM sent");
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "a clean shutdown: {exit}");
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection of the test's own to the app's database (it outlives the app's pool).
async fn database(app: &TestApp) -> sqlx::PgPool {
    sqlx::PgPool::connect(app.state.config.database.url.as_ref().unwrap().expose()).await.unwrap()
}

/// The status, attempts and claiming instance of the one email to `to`.
async fn email_to(db: &sqlx::PgPool, to: &str) -> Option<(String, i64, Option<String>)> {
    sqlx::query_as("SELECT status, attempts, claimed_by FROM emails WHERE to_address = $1")
        .bind(to)
        .fetch_optional(db)
        .await
        .unwrap()
}

/// The registered instances: id, role and pid.
async fn instances(db: &sqlx::PgPool) -> Vec<(String, String, i64)> {
    sqlx::query_as("SELECT id, role, pid FROM instances ORDER BY started_at").fetch_all(db).await.unwrap()
}

fn web_only(config: &mut Config) {
    fast_retries(config);
    config.server.role = Role::Web;
}

/// A merchant and a product delivering a link, on `app`.
async fn shop(app: &TestApp, name: &str) -> (TestMerchant, String) {
    let m = app.merchant(name).await;
    let product_id = product(app, &m, "Atlas", json!({})).await;
    set_delivery(app, &m, &product_id, json!({"mode": "external_link", "external_url": "https://example.com/atlas"}))
        .await;
    (m, product_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_sending_a_sibling_sends_the_email_within_seconds() {
    let web = TestApp::spawn_with(Stack::ScaledOut, web_only).await;
    let db = database(&web).await;
    let (m, product_id) = shop(&web, "Takeover Press").await;
    // A worker process whose SMTP server accepts connections and never says a word: it
    // claims the email and is stuck sending it (for up to 60 s) when it is killed.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut doomed = WorkerProcess::start(&web, silent.local_addr().unwrap().port()).await;
    let to = unique_address("takeover");
    buy(&web, &m, &product_id, &to).await;
    let owner = eventually(WITHIN, "the worker process claims the email", || async {
        match email_to(&db, &to).await? {
            (status, 1, Some(owner)) if status == "sending" => Some(owner),
            _ => None,
        }
    })
    .await;
    let registered = instances(&db).await;
    assert!(
        registered.contains(&(owner.clone(), "worker".into(), i64::from(doomed.child.id()))),
        "the claim names the worker process's instance: {registered:?}"
    );

    // A sibling worker, running before the owner dies, with a working SMTP server.
    let sibling = web.spawn_alongside(|c| {
        send_to(c, smtp_port());
        c.server.role = Role::Worker;
    });
    let sibling = sibling.await;
    kill(&mut doomed.child);
    let killed = Instant::now();
    let sent = eventually(Duration::from_secs(25), "the sibling sends the email", || async {
        let (status, attempts, by) = email_to(&db, &to).await?;
        (status == "sent").then_some((attempts, by))
    })
    .await;
    let took = killed.elapsed();
    assert_eq!(sent, (2, Some(sibling.state.instance.id().to_owned())), "taken over by the sibling");
    // The owner beat at most 5 s before its death and counts as dead 15 s after its last beat:
    // not before 10 s (its claim held while it could still be alive), by about 15 s.
    assert!(took >= Duration::from_secs(9), "taken over only once the owner stopped beating: {took:?}");
    assert_eq!(Maildev::shared().wait_for(&to, 1).await.len(), 1, "one email");
    eventually(WITHIN, "the killed process's row is removed", || async {
        (!instances(&db).await.iter().any(|(id, _, _)| *id == owner)).then_some(())
    })
    .await;
    drop(silent);
    db.close().await;
    drop(sibling);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_process_sends_no_mail_and_a_worker_process_does() {
    let mut web = TestApp::spawn_with(Stack::ScaledOut, |c| {
        send_to(c, smtp_port());
        c.server.role = Role::Web;
    })
    .await;
    let db = database(&web).await;
    let ready: Value = web.client.get(web.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (&ready["mail"], &ready["events"]),
        (&json!("off"), &json!("off")),
        "a web process runs no workers: {ready}"
    );
    let (m, product_id) = shop(&web, "Split Roles").await;
    let to = unique_address("roles");
    buy(&web, &m, &product_id, &to).await;
    assert_eq!(email_to(&db, &to).await.map(|e| e.0), Some("queued".into()));

    let mut worker = WorkerProcess::start(&web, smtp_port()).await;
    let client = reqwest::Client::new();
    let ready = client.get(worker.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready = ready.json::<Value>().await.unwrap();
    assert_eq!((&ready["mail"], &ready["events"]), (&json!("ok"), &json!("ok")), "{ready}");
    for path in ["/api/v1/products", "/dashboard", "/buy/anything"] {
        let status = client.get(worker.url(path)).send().await.unwrap().status();
        assert_eq!(status, StatusCode::NOT_FOUND, "a worker process serves only health: {path}");
    }
    let (status, attempts, by) = eventually(WITHIN, "the worker process sends the email", || async {
        email_to(&db, &to).await.filter(|e| e.0 == "sent")
    })
    .await;
    assert_eq!((status.as_str(), attempts), ("sent", 1), "one attempt: the web process never tried");
    assert_eq!(Maildev::shared().wait_for(&to, 1).await.len(), 1);
    // An order taken by the web process while the worker runs reaches it too.
    let next = unique_address("roles-next");
    buy(&web, &m, &product_id, &next).await;
    assert_eq!(Maildev::shared().wait_for(&next, 1).await.len(), 1);

    // Both are registered, with their roles; each row goes on a clean shutdown.
    let registered = instances(&db).await;
    let worker_row = (by.clone().unwrap(), "worker".to_owned(), i64::from(worker.child.id()));
    assert_eq!(registered.len(), 2, "{registered:?}");
    assert!(registered.contains(&worker_row), "{registered:?}");
    let web_id = web.state.instance.id().to_owned();
    assert!(registered.iter().any(|(id, role, _)| *id == web_id && role == "web"), "{registered:?}");
    web.stop().await;
    assert_eq!(instances(&db).await, vec![worker_row], "the web process's row is gone");
    worker.stop();
    assert_eq!(instances(&db).await, vec![], "the worker process's row is gone");
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_refuses_split_roles_on_sqlite_and_a_stale_threshold_under_two_beats() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config { data_dir: dir.path().join("data"), ..Config::default() };
    config.server.port = 0;
    config.server.role = Role::Worker;
    let error = satchel::App::build(config.clone()).await.err().expect("refused on SQLite").to_string();
    assert!(error.contains("PostgreSQL"), "{error}");

    config.server.role = Role::All;
    config.instances.heartbeat_seconds = 10;
    let error = satchel::App::build(config).await.err().expect("a beat late is not a death").to_string();
    assert!(error.contains("stale_after_seconds"), "{error}");
}

on_both_stacks!(a_live_owner_keeps_its_claims_and_a_dead_one_loses_them);

/// The claim itself: emails being sent by a live instance stay its own; those of an instance
/// silent past the threshold, or whose row is gone, are taken; the old owner's late failure
/// then changes nothing.
async fn a_live_owner_keeps_its_claims_and_a_dead_one_loses_them(stack: Stack) {
    use satchel::db::{emails, instances};
    let mut app = TestApp::spawn_with(stack, fast_retries).await;
    let (m, product_id) = shop(&app, "Claims Kept").await;
    let recipients: Vec<String> = ["alive", "silent", "gone"].iter().map(|tag| unique_address(tag)).collect();
    let mut ids = Vec::new();
    for to in &recipients {
        let created = buy(&app, &m, &product_id, to).await;
        let order = crate::fulfilment::order(&app, &m, created["id"].as_str().unwrap()).await;
        ids.push(order["emails"][0]["id"].as_str().expect("the purchase email").to_owned());
    }
    app.stop().await;

    let db = satchel::app::connect_db(&app.state.config).await.unwrap();
    let now = satchel::domain::now_millis();
    let instance = |id: &str, heartbeat_at| instances::InstanceRow {
        id: id.into(),
        role: Role::All,
        host: "test".into(),
        pid: 1,
        started_at: now - 60_000,
        heartbeat_at,
    };
    instances::beat(&db, &instance("alive", now - 1_000)).await.unwrap();
    instances::beat(&db, &instance("silent", now - 20_000)).await.unwrap();
    // Each email is being sent, under a lease far from over, by one of the three owners.
    for (id, owner) in ids.iter().zip(["alive", "silent", "gone"]) {
        on_pool!(&db, pool => {
            sqlx::query("UPDATE emails SET status = 'sending', claimed_by = $1, locked_until = $2 WHERE id = $3")
                .bind(owner).bind(now + 300_000).bind(id).execute(pool).await.unwrap();
        });
    }
    let alive_since = satchel::domain::alive_since(now, 15_000);
    let claimed = emails::claim(&db, "taker", now, 300_000, alive_since, 32).await.unwrap();
    let mut taken: Vec<&str> = claimed.iter().map(|e| e.id.as_str()).collect();
    taken.sort();
    let mut expected = vec![ids[1].as_str(), ids[2].as_str()];
    expected.sort();
    assert_eq!(taken, expected, "the silent and the gone owners' emails, not the live one's");

    // The silent owner wakes up and records a failure: the email is the taker's now.
    emails::mark_failed_attempt(&db, "silent", &ids[1], "", "timed out", Some(now)).await.unwrap();
    let row = emails::of_merchant(&db, &m.id, &ids[1]).await.unwrap();
    assert_eq!(row.status, satchel::domain::EmailStatus::Sending, "unchanged by the old owner");
    emails::mark_failed_attempt(&db, "taker", &ids[1], "", "timed out", Some(now)).await.unwrap();
    let row = emails::of_merchant(&db, &m.id, &ids[1]).await.unwrap();
    assert_eq!(row.status, satchel::domain::EmailStatus::Retrying, "recorded by its owner");
    db.close().await;
}
