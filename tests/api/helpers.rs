//! Spawning the app for a test, with its own database and store, and talking to it.
#![allow(dead_code)] // helpers serve many test modules; not every one uses each

use std::path::PathBuf;

use satchel::config::{Config, Secret, StorageBackend};
use satchel::state::AppState;
use tokio::sync::oneshot;

/// The two ways an operator runs Satchel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// SQLite + local files: the no-config default.
    Embedded,
    /// PostgreSQL + S3 (s3s-fs), as for several processes behind a load balancer.
    ScaledOut,
}

/// Defines `mod name { embedded(), scaled_out() }` tests calling `async fn name(stack: Stack)`.
macro_rules! on_both_stacks {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$name($crate::helpers::Stack::Embedded).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn scaled_out() {
                super::$name($crate::helpers::Stack::ScaledOut).await
            }
        }
    )*};
}
pub(crate) use on_both_stacks;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the tests with ./scripts/test"))
}

/// With `TEST_LOG` set, prints the app's logs (filtered by `RUST_LOG`, default `info`) into
/// each test's output, which the test harness shows for failing tests (or all, with
/// `--nocapture`): the logged cause of a 500 is then in the failure's output.
pub fn init_test_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("TEST_LOG").is_none() {
        return;
    }
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
        // Another subscriber may be installed already; the first one stays.
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    });
}

/// A local port that is bound, not listening, for as long as this lives: connecting to it is
/// refused, and the OS gives it to nobody else (a port released and guessed free could be
/// taken by a test running alongside). It is bound with `SO_REUSEADDR`, so a server told to
/// listen there (maildev, `satchel serve`: both set `SO_REUSEADDR` when they bind, as libuv
/// and tokio do on Unix) still can, while it is held: Linux lets sockets that all ask for
/// `SO_REUSEADDR` share a port as long as at most one of them listens.
pub struct ReservedPort {
    socket: socket2::Socket,
}

impl ReservedPort {
    /// A port of 127.0.0.1 the OS chose, bound for this test.
    pub fn new() -> ReservedPort {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("a socket");
        socket.set_reuse_address(true).expect("SO_REUSEADDR");
        let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket.bind(&any_port.into()).expect("a free port");
        ReservedPort { socket }
    }

    /// Its number.
    pub fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().as_socket().expect("an IP address").port()
    }
}

/// A running Satchel with its own database and storage; dropped → stopped and cleaned up.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// Direct access to the database and store.
    pub state: AppState,
    /// A client that does not follow redirects.
    pub client: reqwest::Client,
    /// The stack it runs on.
    pub stack: Stack,
    /// Folder holding the data directory (and local blobs).
    pub dir: tempfile::TempDir,
    /// The S3 bucket folder, when on S3.
    pub bucket_dir: Option<PathBuf>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    postgres_db: Option<String>,
}

/// A merchant made for a test, with an API key.
pub struct TestMerchant {
    /// Merchant id.
    pub id: String,
    /// URL slug.
    pub slug: String,
    /// `sk_…`
    pub api_key: String,
    /// Standard Webhooks secret.
    pub webhook_secret: String,
}

impl TestApp {
    /// Spawns the app on `stack` with default settings.
    pub async fn spawn(stack: Stack) -> TestApp {
        Self::spawn_with(stack, |_| {}).await
    }

    /// Spawns the app on `stack` after `adjust` changed its configuration.
    pub async fn spawn_with(stack: Stack, adjust: impl FnOnce(&mut Config)) -> TestApp {
        init_test_log();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.server.port = 0;
        config.data_dir = dir.path().join("data");
        let mut postgres_db = None;
        let mut bucket_dir = None;
        match stack {
            Stack::Embedded => config.storage.backend = StorageBackend::Local,
            Stack::ScaledOut => {
                let name = format!("satchel_test_{}", uuid::Uuid::new_v4().simple());
                let admin = env("SATCHEL_TEST_POSTGRES_URL");
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.expect("postgres");
                sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create database");
                let base = admin.rsplit_once('/').expect("url has a database").0;
                config.database.url = Some(Secret(format!("{base}/{name}")));
                postgres_db = Some(name);

                let bucket = format!("t-{}", uuid::Uuid::new_v4().simple());
                let path = PathBuf::from(env("SATCHEL_TEST_S3_ROOT")).join(&bucket);
                std::fs::create_dir_all(&path).expect("bucket folder");
                bucket_dir = Some(path);
                let s3 = &mut config.storage.s3;
                config.storage.backend = StorageBackend::S3;
                s3.endpoint = Some(env("SATCHEL_TEST_S3_ENDPOINT"));
                s3.bucket = bucket;
                s3.region = "us-east-1".into();
                s3.access_key_id = env("SATCHEL_TEST_S3_ACCESS_KEY");
                s3.secret_access_key = Secret(env("SATCHEL_TEST_S3_SECRET_KEY"));
                s3.allow_http = true;
            }
        }
        adjust(&mut config);
        Self::start(stack, config, dir, bucket_dir, postgres_db).await
    }

    /// A second process on this app's database, store and secrets (as behind a load balancer),
    /// after `adjust` changed its copy of the configuration. This app keeps owning (and drops)
    /// the database and bucket, so drop the second one first.
    pub async fn spawn_alongside(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.state.config.clone();
        adjust(&mut config);
        Self::start(self.stack, config, tempfile::tempdir().expect("temp dir"), None, None).await
    }

    async fn start(
        stack: Stack,
        config: Config,
        dir: tempfile::TempDir,
        bucket_dir: Option<PathBuf>,
        postgres_db: Option<String>,
    ) -> TestApp {
        let app = satchel::App::build(config).await.expect("app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp { address, state, client, stack, dir, bucket_dir, stop: Some(stop), server: Some(server), postgres_db }
    }

    /// Stops the server, waiting for requests in flight.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Sends `head` (a raw request announcing 20 MiB) and 8 MiB of body, waits until the upload
    /// is being staged, then cuts the connection and waits until nothing is left in the store.
    pub async fn cut_off_upload(&self, head: &str) {
        use tokio::io::AsyncWriteExt;
        let mut socket = tokio::net::TcpStream::connect(self.address.trim_start_matches("http://")).await.unwrap();
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut body = FileBytes::new(8 * 1024 * 1024, 4);
        loop {
            let chunk = body.next_chunk(64 * 1024);
            if chunk.is_empty() {
                break;
            }
            socket.write_all(&chunk).await.unwrap();
        }
        socket.flush().await.unwrap();
        // The upload is under way (so what follows is about cleaning up, not about never starting).
        let within = std::time::Duration::from_secs(10);
        eventually(within, "the upload is being staged", || async {
            (!self.leftovers().await.is_empty()).then_some(())
        })
        .await;
        drop(socket);
        eventually(within, "the cut-off upload is gone", || async { self.leftovers().await.is_empty().then_some(()) })
            .await;
    }

    /// Full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Creates a merchant (and an API key) directly through the library.
    pub async fn merchant(&self, name: &str) -> TestMerchant {
        let db = &self.state.db;
        let slug = satchel::domain::Slug::from_name(name).expect("slug");
        let email = satchel::domain::Email::parse("email", &format!("owner@{}.example", slug.as_str())).unwrap();
        let hash = satchel::domain::hash_password("correct horse battery").unwrap();
        let merchant = satchel::db::merchants::create(db, &slug, name, &email, &hash).await.expect("merchant");
        let (key, _) = satchel::db::api_keys::create(db, &merchant.id, "test").await.expect("api key");
        TestMerchant {
            id: merchant.id,
            slug: merchant.slug,
            api_key: key.expose().to_owned(),
            webhook_secret: merchant.standard_webhook_secret,
        }
    }

    /// A request with `merchant`'s API key.
    pub fn api(&self, merchant: &TestMerchant, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(&format!("/api/v1{path}"))).bearer_auth(&merchant.api_key)
    }

    /// Every object key in the blob store under `prefix`.
    pub async fn stored_keys(&self, prefix: &str) -> Vec<String> {
        self.state.blobs.list_keys(prefix).await.expect("list keys")
    }

    /// Everything the store holds for this app, in any state, looked at from underneath:
    /// the keys it lists, every file in its folder (local temp files and S3 objects alike) and,
    /// on S3, multipart uploads started and neither completed nor aborted (s3s-fs keeps a
    /// `.bucket-{base64 bucket}.object-{base64 key}.upload-{id}.metadata.json` for each).
    pub async fn leftovers(&self) -> Vec<String> {
        let mut found = self.stored_keys("").await;
        match &self.bucket_dir {
            None => found.extend(files_below(&self.state.config.blob_dir()).into_iter().map(|f| format!("file {f}"))),
            Some(bucket_dir) => {
                found.extend(files_below(bucket_dir).into_iter().map(|f| format!("object file {f}")));
                use base64::Engine;
                let bucket =
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.state.config.storage.s3.bucket);
                let marker = format!(".bucket-{bucket}.object-");
                let root = PathBuf::from(env("SATCHEL_TEST_S3_ROOT"));
                for entry in std::fs::read_dir(root).expect("s3 root").flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with(&marker) && name.contains(".upload-") {
                        found.push(format!("unfinished multipart upload {name}"));
                    }
                }
            }
        }
        found
    }

    /// Creates a product through the API and returns its JSON.
    pub async fn product(&self, merchant: &TestMerchant, name: &str) -> serde_json::Value {
        let response = self
            .api(merchant, reqwest::Method::POST, "/products")
            .json(&serde_json::json!({ "name": name, "price_minor": 1999, "currency": "USD" }))
            .send()
            .await
            .expect("create product");
        assert_eq!(response.status(), reqwest::StatusCode::CREATED, "creating product {name}");
        response.json().await.expect("product JSON")
    }

    /// Uploads `bytes` as a raw body and returns the file's JSON.
    pub async fn upload(&self, merchant: &TestMerchant, filename: &str, bytes: Vec<u8>) -> serde_json::Value {
        let response = self
            .api(merchant, reqwest::Method::POST, "/files")
            .query(&[("filename", filename)])
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .expect("upload");
        assert!(response.status().is_success(), "uploading {filename}: {}", response.status());
        response.json().await.expect("file JSON")
    }

    /// GET `path` of the API as `merchant`: status and JSON body (Null when there is none).
    pub async fn get_json(&self, merchant: &TestMerchant, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self.api(merchant, reqwest::Method::GET, path).send().await.expect("GET");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, if text.is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text).expect("JSON") })
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if let Some(bucket) = &self.bucket_dir {
            let _ = std::fs::remove_dir_all(bucket);
        }
        if let Some(name) = self.postgres_db.take() {
            // Drop runs outside async: a thread with its own runtime drops the database.
            let admin = env("SATCHEL_TEST_POSTGRES_URL");
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql)).await;
                    }
                });
            })
            .join();
        }
    }
}

/// SHA-256 hex of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Deterministic pseudo-random bytes (a different file per seed), cheap to make in bulk.
pub fn file_bytes(len: usize, seed: u64) -> Vec<u8> {
    FileBytes::new(len as u64, seed).next_chunk(len)
}

/// The bytes of [`file_bytes`], made a piece at a time: a big file never sits in memory whole.
/// Chunk sizes must be multiples of 8 (but the last) for the pieces to join up into the same file.
pub struct FileBytes {
    state: u64,
    remaining: u64,
}

impl FileBytes {
    /// The file `file_bytes(len, seed)` would make.
    pub fn new(len: u64, seed: u64) -> FileBytes {
        FileBytes {
            state: seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1,
            remaining: len,
        }
    }

    /// The next `max` bytes (fewer at the end, none when done).
    pub fn next_chunk(&mut self, max: usize) -> Vec<u8> {
        let len = (max as u64).min(self.remaining) as usize;
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            out.extend_from_slice(&self.state.to_le_bytes());
        }
        out.truncate(len);
        self.remaining -= len as u64;
        out
    }

    /// The whole file as a stream of 1 MiB chunks, for `reqwest::Body::wrap_stream`.
    pub fn stream(self) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
        futures_util::stream::unfold(self, |mut file| async move {
            let chunk = file.next_chunk(1 << 20);
            (!chunk.is_empty()).then(|| (Ok(bytes::Bytes::from(chunk)), file))
        })
    }

    /// SHA-256 hex of the whole file, made without holding it.
    pub fn sha256_hex(mut self) -> String {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        loop {
            let chunk = self.next_chunk(1 << 20);
            if chunk.is_empty() {
                return hex::encode(hasher.finalize());
            }
            hasher.update(&chunk);
        }
    }
}

/// The `error.code` of an API error body.
pub fn error_code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an API error: {body}"))
}

/// Polls `check` until it gives `Some`, for at most `within`; panics with `what` otherwise.
pub async fn eventually<T, F, Fut>(within: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up after {within:?} waiting until {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Every regular file below `root`, as paths relative to it (none if `root` is missing).
pub fn files_below(root: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path.strip_prefix(root).unwrap_or(&path).display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// Seconds since the Unix epoch, as webhook signers use.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

/// Signs `body` with the payment provider's own published library (tests/support/sign.mjs):
/// `args` are what follows the script name, e.g. `["standard", secret, msg_id, ts]` or
/// `["stripe", secret, ts]`. Returns the headers to send.
pub async fn sign_webhook(args: &[&str], body: &[u8]) -> Vec<(String, String)> {
    use tokio::io::AsyncWriteExt;
    let script = PathBuf::from(env("SATCHEL_TEST_NODE_SUPPORT")).join("sign.mjs");
    let mut child = tokio::process::Command::new("node")
        .arg(&script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (install Node.js, or run ./scripts/test)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(body).await.expect("body to sign.mjs");
    drop(stdin);
    let out = child.wait_with_output().await.expect("sign.mjs finishes");
    assert!(out.status.success(), "sign.mjs failed: {}", String::from_utf8_lossy(&out.stderr));
    let headers: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&out.stdout).expect("sign.mjs prints a JSON object");
    headers.into_iter().collect()
}

/// Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) for `body`.
pub async fn sign_standard(secret: &str, msg_id: &str, unix_ts: i64, body: &[u8]) -> Vec<(String, String)> {
    sign_webhook(&["standard", secret, msg_id, &unix_ts.to_string()], body).await
}

/// The `Stripe-Signature` header for `body`.
pub async fn sign_stripe(secret: &str, unix_ts: i64, body: &[u8]) -> Vec<(String, String)> {
    sign_webhook(&["stripe", secret, &unix_ts.to_string()], body).await
}
