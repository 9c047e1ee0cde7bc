//! The `satchel` command as an operator runs it: creating a merchant and an API key that works,
//! and `satchel serve` with no configuration at all (embedded stack only).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use satchel::config::Secret;

use crate::helpers::{Stack, TestApp, eventually};

/// `satchel ARGS…` run in `dir` with no configuration from the environment.
fn satchel(dir: &Path, args: &[&str]) -> Output {
    let output = command(dir).args(args).output().expect("satchel runs");
    assert!(
        output.status.success(),
        "satchel {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_satchel"));
    command.current_dir(dir).env_remove("SATCHEL_CONFIG").env_remove("SATCHEL_MERCHANT_PASSWORD");
    for (name, _) in std::env::vars() {
        if name.starts_with("SATCHEL__") {
            command.env_remove(name);
        }
    }
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_and_api_key_are_created_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("x.db").display());

    let created = satchel(
        dir.path(),
        &["--database-url", &url, "merchant", "create", "--name", "Acme Books", "--email", "a@example.com"],
    );
    let stdout = String::from_utf8(created.stdout).unwrap();
    assert!(stdout.contains("acme-books"), "the slug is printed: {stdout}");
    let password = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("password:"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("a password is printed: {stdout}"))
        .to_owned();

    let key = satchel(dir.path(), &["--database-url", &url, "api-key", "create", "--merchant", "acme-books"]);
    let key = String::from_utf8(key.stdout).unwrap();
    let key = key.trim();
    assert!(key.starts_with("sk_") && !key.contains(char::is_whitespace), "stdout is the key alone: {key:?}");
    // The merchant can be named by the email it signs in with, as well as by its slug.
    let by_email = satchel(dir.path(), &["--database-url", &url, "api-key", "create", "--merchant", "A@Example.com"]);
    assert!(String::from_utf8(by_email.stdout).unwrap().trim().starts_with("sk_"));
    let unknown = command(dir.path())
        .args(["--database-url", &url, "api-key", "create", "--merchant", "b@example.com"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("no merchant has the slug, id or user email b@example.com"), "{stderr}");

    let app = TestApp::spawn_with(Stack::Embedded, |config| config.database.url = Some(Secret(url.clone()))).await;
    let response = app.client.get(app.url("/api/v1/products")).bearer_auth(key).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the printed key opens the API");
    let other_key = app.client.get(app.url("/api/v1/products")).bearer_auth(format!("{key}0")).send().await.unwrap();
    assert_eq!(other_key.status(), StatusCode::UNAUTHORIZED);

    // The printed password is the one stored for the merchant's user.
    let satchel::db::Db::Sqlite(sqlite) = &app.state.db else { panic!("embedded stack runs on SQLite") };
    let pool = sqlite.pool();
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM merchant_users WHERE email = $1")
        .bind("a@example.com")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(satchel::domain::verify_password(&password, &hash), "the printed password signs in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_with_no_configuration_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = command(dir.path())
        .arg("serve")
        .env("SATCHEL__SERVER__PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("satchel serve starts");
    let client = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/healthz");
    eventually(Duration::from_secs(30), "satchel serve answers /healthz", || {
        if let Some(status) = server.try_wait().unwrap() {
            panic!("satchel serve exited early ({status})");
        }
        let request = client.get(&health).send();
        async move { (request.await.ok()?.status() == StatusCode::OK).then_some(()) }
    })
    .await;

    let data = dir.path().join("satchel-data");
    assert!(data.join("satchel.db").is_file(), "./satchel-data/satchel.db is created");
    let secrets = data.join("secrets.json");
    assert!(secrets.is_file(), "./satchel-data/secrets.json is created");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "secrets.json is private to its owner (mode {mode:o})");
    }

    let kill = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().expect("kill runs");
    assert!(kill.success());
    let status = eventually(Duration::from_secs(15), "satchel serve exits after SIGTERM", || {
        let exited = server.try_wait().unwrap();
        async move { exited }
    })
    .await;
    let mut log = String::new();
    if let Some(mut stderr) = server.stderr.take() {
        use std::io::Read;
        let _ = stderr.read_to_string(&mut log);
    }
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM; log:\n{log}");
}
