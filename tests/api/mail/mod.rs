//! Email: the purchase email through a real SMTP server (maildev), retries, crashes, several
//! processes, escaping, resends, and the file mailbox.
//!
//! Every test talks to the one maildev that `./scripts/test` starts and reads only the mail of
//! its own, unique recipients, since tests run side by side.

mod mailbox;
mod names;
mod processes;
mod purchase;
mod retries;
mod takeover;
mod test_checkout;
mod updates;

use std::time::Duration;

use satchel::config::{Config, SmtpConfig, SmtpTls};
use serde_json::Value;

use crate::helpers::{ReservedPort, eventually};

/// Long enough for a busy two-core machine; mail normally arrives well within a second.
pub const WITHIN: Duration = Duration::from_secs(30);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the tests with ./scripts/test"))
}

/// The SMTP port of the shared maildev.
pub fn smtp_port() -> u16 {
    env("SATCHEL_TEST_SMTP_PORT").parse().expect("a port number")
}

/// Points `config` at an SMTP server on 127.0.0.1:`port` (no TLS), with retries a second apart.
pub fn send_to(config: &mut Config, port: u16) {
    config.mail.smtp =
        Some(SmtpConfig { host: "127.0.0.1".into(), port: Some(port), tls: SmtpTls::None, user: None, password: None });
    fast_retries(config);
}

/// Retry timings for tests: about a second between attempts.
pub fn fast_retries(config: &mut Config) {
    config.mail.retry_base_seconds = 1;
    config.mail.retry_cap_seconds = 2;
    config.mail.give_up_after_seconds = 600;
    config.mail.poll_seconds = 1;
    config.mail.lease_seconds = 5;
    config.mail.from_address = "shop@satchel.test".into();
}

/// A recipient no other test uses.
pub fn unique_address(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A maildev's REST API.
pub struct Maildev {
    url: String,
    client: reqwest::Client,
}

impl Maildev {
    /// The maildev `./scripts/test` started.
    pub fn shared() -> Maildev {
        Maildev::at(&env("SATCHEL_TEST_MAILDEV_URL"))
    }

    /// The maildev whose web API is at `url`.
    pub fn at(url: &str) -> Maildev {
        Maildev { url: url.trim_end_matches('/').to_owned(), client: reqwest::Client::new() }
    }

    /// Every email received for `address` (maildev's JSON: subject, text, html, to, headers…).
    pub async fn to(&self, address: &str) -> Vec<Value> {
        self.try_to(address).await.expect("maildev answers")
    }

    async fn try_to(&self, address: &str) -> Option<Vec<Value>> {
        let response =
            self.client.get(format!("{}/api/email", self.url)).query(&[("to.address", address)]).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }

    /// Waits until `address` has received `n` emails (no more), and returns them.
    pub async fn wait_for(&self, address: &str, n: usize) -> Vec<Value> {
        eventually(WITHIN, &format!("{n} email(s) reach {address}"), || async move {
            let emails = self.try_to(address).await?;
            assert!(emails.len() <= n, "{} emails reached {address}, expected {n}", emails.len());
            (emails.len() == n).then_some(emails)
        })
        .await
    }

    /// The raw message (RFC 5322, as received over SMTP) of the email maildev calls `id`.
    pub async fn source(&self, id: &str) -> String {
        let response =
            self.client.get(format!("{}/api/email/{id}/source", self.url)).send().await.expect("maildev answers");
        assert!(response.status().is_success(), "the source of {id}: {}", response.status());
        response.text().await.unwrap()
    }

    /// Whether its API answers.
    pub async fn is_up(&self) -> bool {
        matches!(self.client.get(format!("{}/api/email", self.url)).send().await, Ok(r) if r.status().is_success())
    }
}

/// A maildev of a test's own, on the SMTP port it is given; stopped when dropped.
pub struct OwnMaildev {
    /// Its API.
    pub api: Maildev,
    _process: tokio::process::Child,
    _web_port: ReservedPort,
}

impl OwnMaildev {
    /// Starts maildev with SMTP on `smtp_port` (a [`ReservedPort`] the caller holds) and waits
    /// until it answers. maildev takes port numbers, not a listening socket, so its ports are
    /// reserved ones: bound by the test until maildev listens there too, never given to another
    /// process in between.
    pub async fn start(smtp_port: u16) -> OwnMaildev {
        let web = ReservedPort::new();
        let web_port = web.port();
        let bin = std::path::PathBuf::from(env("SATCHEL_TEST_NODE_SUPPORT")).join("node_modules/.bin/maildev");
        let process = tokio::process::Command::new(bin)
            .args(["--smtp", &smtp_port.to_string(), "--web", &web_port.to_string()])
            .args(["--ip", "127.0.0.1", "--web-ip", "127.0.0.1", "--silent"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("maildev starts (run the tests with ./scripts/test)");
        let api = Maildev::at(&format!("http://127.0.0.1:{web_port}"));
        eventually(WITHIN, "our own maildev answers", || async {
            let smtp_up = tokio::net::TcpStream::connect(("127.0.0.1", smtp_port)).await.is_ok();
            (smtp_up && api.is_up().await).then_some(())
        })
        .await;
        OwnMaildev { api, _process: process, _web_port: web }
    }
}

/// The links in the text of a received email that start with `prefix`.
pub fn links(email: &Value, prefix: &str) -> Vec<String> {
    let text = email["text"].as_str().expect("a text part");
    text.split_whitespace()
        .filter(|w| w.starts_with(prefix))
        .map(|w| w.trim_end_matches(['.', ',', ')']).to_owned())
        .collect()
}
