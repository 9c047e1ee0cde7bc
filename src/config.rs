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
}

/// Database settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite:path/to/file.db` or `postgres://user@host/db`. Defaults to SQLite in `data_dir`.
    pub url: Option<Secret>,
    /// Pool size.
    pub max_connections: u32,
}

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
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { host: "127.0.0.1".into(), port: 8080, public_url: None }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { url: None, max_connections: 16 }
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
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("pw@h"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
    fn environment_overrides_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("satchel.toml", "[server]\nport = 9000\nhost = \"0.0.0.0\"\n")?;
            jail.set_env("SATCHEL__SERVER__PORT", "9100");
            jail.set_env("SATCHEL__STORAGE__MAX_UPLOAD_BYTES", "1024");
            let config = Config::load(Path::new("satchel.toml")).expect("config loads");
            assert_eq!(config.server.port, 9100);
            assert_eq!(config.server.host, "0.0.0.0");
            assert_eq!(config.storage.max_upload_bytes, 1024);
            assert_eq!(config.storage.backend, StorageBackend::Local);
            Ok(())
        });
    }
}
