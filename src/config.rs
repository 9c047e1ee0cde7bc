//! Configuration: built-in defaults < `satchel.toml` < `SATCHEL__SECTION__KEY` environment variables.
//!
//! With no configuration at all Satchel runs on 127.0.0.1:8080 and keeps everything (SQLite
//! database, files, mailbox, generated secrets) in `./satchel-data/`.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything Satchel can be told at start-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the HTTP server listens and how it is reached from outside.
    pub server: ServerConfig,
    /// Folder for the embedded defaults: SQLite database, local files, mailbox, secrets.
    pub data_dir: PathBuf,
    /// Which database to use.
    pub database: DatabaseConfig,
    /// Where uploaded files are kept.
    pub storage: StorageConfig,
    /// Key that download links and signed URLs are derived from (64 hex characters). When
    /// unset, one is generated once into `data_dir/secrets.json`; set it (the same on every
    /// process) when several processes serve one database.
    pub signing_key: Option<Secret>,
    /// Replaces the signing key this database's processes use with this process's own, on
    /// purpose: set to this process's key fingerprint (the refusal to start prints it); any
    /// other value changes nothing. See the README's "Changing the signing key".
    pub replace_signing_key: Option<String>,
    /// How email goes out.
    pub mail: MailConfig,
    /// Who may read `/metrics`.
    pub metrics: MetricsConfig,
    /// How processes tell each other they are alive.
    pub instances: InstancesConfig,
    /// Signed webhooks to the shops' own endpoints.
    pub webhooks_out: WebhooksOutConfig,
}

/// Signed webhooks to the shops' own endpoints (`[webhooks_out]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhooksOutConfig {
    /// Lets deliveries reach loopback, private, link-local and unique-local addresses (a
    /// receiver on the operator's own network, or tests). Off: such addresses are refused,
    /// whatever name resolves to them.
    pub allow_private: bool,
    /// Delay after the first failed attempt, milliseconds (default 30 s); the later delays are
    /// multiples of it (2 min, 10 min, 1 h, 4 h, then every 8 h, ~3 days in all at the default).
    pub retry_base_milliseconds: u64,
    /// Deliveries sent at the same time by one process.
    pub concurrency: usize,
    /// Time allowed for one delivery, answer included, milliseconds (default 15 s); connecting
    /// gets at most 5 s of it. An endpoint slower than that has failed the attempt.
    pub timeout_milliseconds: u64,
    /// An endpoint whose attempts have all failed for this long (no 2xx since the first of
    /// them), milliseconds, is disabled and its shop's owner emailed (default 3 days).
    pub disable_after_milliseconds: u64,
}

impl Default for WebhooksOutConfig {
    fn default() -> Self {
        WebhooksOutConfig {
            allow_private: false,
            retry_base_milliseconds: 30_000,
            concurrency: 16,
            timeout_milliseconds: 15_000,
            disable_after_milliseconds: 3 * 24 * 3600 * 1000,
        }
    }
}

/// The heartbeat every process keeps in the `instances` table: work (a claimed email) held
/// by a process that stopped beating is taken over by another.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct InstancesConfig {
    /// How often a process records that it is alive, seconds.
    pub heartbeat_seconds: u64,
    /// A process silent this long is taken for dead, seconds: its emails are sent by another.
    /// Keep it a few heartbeats long, so a slow beat is not taken for a death.
    pub stale_after_seconds: u64,
}

impl Default for InstancesConfig {
    fn default() -> Self {
        InstancesConfig { heartbeat_seconds: 5, stale_after_seconds: 15 }
    }
}

/// Access to `GET /metrics`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsConfig {
    /// Bearer token a scraper must send; none (the default) turns `/metrics` off (404).
    pub token: Option<Secret>,
}

/// HTTP listener settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Interface to bind; loopback by default so nothing is exposed by accident.
    pub host: String,
    /// TCP port; 0 picks a free one (tests).
    pub port: u16,
    /// The address customers use, for links in emails (e.g. `https://files.example.com`).
    /// Defaults to `http://{host}:{port}`.
    pub public_url: Option<String>,
    /// Reverse proxies in front of Satchel that append the client's address to
    /// `X-Forwarded-For` (0: clients connect directly; their address is the connection's).
    pub trusted_proxies: u8,
    /// Seconds a client has to send a complete request head, counted from the connection's
    /// start (or its first byte after a kept-alive response).
    pub header_read_timeout_seconds: u64,
    /// Seconds a kept-alive connection may wait idle for its next request.
    pub keep_alive_timeout_seconds: u64,
    /// Seconds of silence allowed while a request body is read (a slow but steady upload is
    /// fine; one that stops sending is cut off).
    pub body_read_timeout_seconds: u64,
    /// Seconds a client may leave a response unread before the connection is closed.
    pub send_timeout_seconds: u64,
    /// Connections open at once; past it, new ones wait to be accepted. Lowered at start to
    /// what the open-file limit allows.
    pub max_connections: usize,
    /// Seconds requests in flight get to finish after SIGTERM before connections are closed.
    pub shutdown_timeout_seconds: u64,
    /// Bytes hyper may buffer per connection (response bytes queued for a slow reader, and the
    /// largest request head); at least 8192.
    pub connection_buffer_bytes: usize,
    /// What this process does: `all` (default), `web` (HTTP only, no mail worker) or `worker`
    /// (the mail worker; HTTP only for health and metrics). `satchel serve --role` overrides it.
    pub role: crate::domain::Role,
}

/// Database settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite:path/to/file.db` or `postgres://user@host/db`. Defaults to SQLite in `data_dir`.
    pub url: Option<Secret>,
    /// Pool size.
    pub max_connections: u32,
    /// How long a process trusts an order it read behind a download link, in milliseconds.
    /// Changes of access made through Satchel reach every process at once regardless.
    pub order_cache_milliseconds: u64,
    /// How long a request waits for a pooled connection (default 5 s; a database that is down
    /// is answered with 503 after this long, so keep it short).
    pub acquire_timeout_secs: u64,
}

/// The default of [`DatabaseConfig::order_cache_milliseconds`]: long enough to spare a download
/// its database round trips, short enough that a change made by hand in the database shows soon.
pub const ORDER_CACHE_MILLISECONDS: u64 = 2_000;

/// Which blob store holds uploaded files.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// Files under a local folder (default: `data_dir/blobs`).
    Local,
    /// An S3-compatible object store.
    S3,
    /// Kept in memory and lost on exit; for tests.
    Memory,
}

/// Blob storage settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageConfig {
    /// Which store to use.
    pub backend: StorageBackend,
    /// Folder for the local store; defaults to `data_dir/blobs`.
    pub path: Option<PathBuf>,
    /// Largest accepted upload, in bytes (default 5 GiB).
    pub max_upload_bytes: u64,
    /// S3 settings, used when `backend = "s3"`.
    pub s3: S3Config,
}

/// Settings of an S3-compatible store.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct S3Config {
    /// e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    /// Bucket name.
    pub bucket: String,
    /// Region (`us-east-1` when the server does not care).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (never printed).
    pub secret_access_key: Secret,
    /// Allow plain-http endpoints (local servers).
    pub allow_http: bool,
    /// Answer file downloads (after the link, policy and count checks) with a redirect to a
    /// short-lived presigned URL of the store, so file bytes leave the store directly rather
    /// than through Satchel. Off by default; the portal's "Download all" ZIP still streams.
    pub offload: bool,
}

/// Email settings. With no `[mail.smtp]` section, mail is written as `.eml` files into
/// `data_dir/mailbox/` (the embedded default: nothing is sent anywhere).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// Sender address when the merchant has not set one.
    pub from_address: String,
    /// Sender name when the merchant has not set one (default: the merchant's name).
    pub from_name: Option<String>,
    /// The SMTP server; none means the file mailbox.
    pub smtp: Option<SmtpConfig>,
    /// Delay after the first failed attempt, seconds; it doubles after each failure.
    pub retry_base_seconds: u64,
    /// Longest delay between two attempts, seconds.
    pub retry_cap_seconds: u64,
    /// Time after which an email that keeps failing is marked failed, seconds.
    pub give_up_after_seconds: u64,
    /// How often the outbox is checked for due emails besides being woken by new orders, seconds.
    pub poll_seconds: u64,
    /// How long a worker owns an email it is sending, seconds; after that another worker takes
    /// it over. A crashed process's emails are taken over sooner, once it stops beating
    /// (`[instances]`); this is the backstop. Must be longer than one SMTP exchange can take.
    pub lease_seconds: u64,
    /// Emails sent at the same time by one process.
    pub concurrency: usize,
    /// Update emails (a published release announced to past buyers) sent at most per minute,
    /// by all processes together; purchase and sign-in emails are never held behind them.
    pub update_emails_per_minute: u64,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a relay on the same host, or a test server).
    None,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// An SMTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpConfig {
    /// Host name (also the name its TLS certificate must carry).
    pub host: String,
    /// Port; defaults to 25, 587 or 465 after `tls`.
    pub port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    pub tls: SmtpTls,
    /// User name, when the server wants one.
    pub user: Option<String>,
    /// Password (never printed).
    pub password: Option<Secret>,
}

impl SmtpConfig {
    /// The port in force.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        })
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig { host: "localhost".into(), port: None, tls: SmtpTls::Starttls, user: None, password: None }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            from_address: "satchel@localhost".into(),
            from_name: None,
            smtp: None,
            retry_base_seconds: 60,
            retry_cap_seconds: 4 * 3600,
            give_up_after_seconds: 3 * 86_400,
            poll_seconds: 15,
            lease_seconds: 300,
            concurrency: 4,
            update_emails_per_minute: 600,
        }
    }
}

/// A value that must never reach a log line or a terminal.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig::default(),
            data_dir: PathBuf::from("./satchel-data"),
            database: DatabaseConfig::default(),
            storage: StorageConfig::default(),
            signing_key: None,
            replace_signing_key: None,
            mail: MailConfig::default(),
            metrics: MetricsConfig::default(),
            instances: InstancesConfig::default(),
            webhooks_out: WebhooksOutConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".into(),
            port: 8080,
            public_url: None,
            trusted_proxies: 0,
            header_read_timeout_seconds: 10,
            keep_alive_timeout_seconds: 60,
            body_read_timeout_seconds: 60,
            send_timeout_seconds: 60,
            max_connections: 10_000,
            shutdown_timeout_seconds: 20,
            connection_buffer_bytes: 64 * 1024,
            role: crate::domain::Role::All,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            max_connections: 16,
            order_cache_milliseconds: ORDER_CACHE_MILLISECONDS,
            acquire_timeout_secs: 5,
        }
    }
}

impl DatabaseConfig {
    /// [`DatabaseConfig::acquire_timeout_secs`], at least one second.
    pub fn acquire_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.acquire_timeout_secs.max(1))
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: StorageBackend::Local,
            path: None,
            max_upload_bytes: 5 * 1024 * 1024 * 1024,
            s3: S3Config::default(),
        }
    }
}

impl Config {
    /// Defaults, then the TOML file if it exists, then `SATCHEL__…` environment variables
    /// (`SATCHEL__SERVER__PORT=9000`, `SATCHEL__STORAGE__S3__BUCKET=files`).
    pub fn load(file: &Path) -> Result<Config, Box<figment::Error>> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("SATCHEL__").split("__"))
            .extract()
            .map_err(Box::new)
    }

    /// The database URL in force: the configured one or SQLite inside `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite:{}", self.data_dir.join("satchel.db").display()),
        }
    }

    /// The folder of the local blob store.
    pub fn blob_dir(&self) -> PathBuf {
        self.storage.path.clone().unwrap_or_else(|| self.data_dir.join("blobs"))
    }

    /// The folder of the file mailbox.
    pub fn mailbox_dir(&self) -> PathBuf {
        self.data_dir.join("mailbox")
    }

    /// The base URL customers reach, without a trailing slash.
    pub fn public_url(&self, bound_port: u16) -> String {
        match &self.server.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}:{}", self.server.host, bound_port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_not_printed() {
        let mut config = Config::default();
        config.storage.s3.secret_access_key = Secret("hunter2".into());
        config.database.url = Some(Secret("postgres://u:pw@h/db".into()));
        config.mail.smtp = Some(SmtpConfig { password: Some(Secret("smtp-pass".into())), ..Default::default() });
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("pw@h"));
        assert!(!printed.contains("smtp-pass"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
    fn environment_overrides_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("satchel.toml", "[server]\nport = 9000\nhost = \"0.0.0.0\"\n")?;
            jail.set_env("SATCHEL__SERVER__PORT", "9100");
            jail.set_env("SATCHEL__STORAGE__MAX_UPLOAD_BYTES", "1024");
            jail.set_env("SATCHEL__MAIL__SMTP__HOST", "smtp.example.com");
            jail.set_env("SATCHEL__MAIL__SMTP__TLS", "tls");
            let defaults = Config::load(Path::new("satchel.toml")).expect("config loads");
            assert!(!defaults.webhooks_out.allow_private, "private addresses are refused by default");
            assert_eq!(defaults.mail.update_emails_per_minute, 600);
            jail.set_env("SATCHEL__MAIL__UPDATE_EMAILS_PER_MINUTE", "30");
            jail.set_env("SATCHEL__WEBHOOKS_OUT__ALLOW_PRIVATE", "true");
            let config = Config::load(Path::new("satchel.toml")).expect("config loads");
            assert!(config.webhooks_out.allow_private);
            assert_eq!(config.mail.update_emails_per_minute, 30);
            assert_eq!(config.server.port, 9100);
            assert_eq!(config.server.host, "0.0.0.0");
            assert_eq!(config.storage.max_upload_bytes, 1024);
            assert_eq!(config.storage.backend, StorageBackend::Local);
            let smtp = config.mail.smtp.expect("an SMTP section from the environment alone");
            assert_eq!((smtp.host.as_str(), smtp.port()), ("smtp.example.com", 465));
            Ok(())
        });
    }
}
