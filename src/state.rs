//! What every request handler and service can reach: the shared state of a running process,
//! and the server secrets it signs with. Kept apart from `app` (which builds the router), so
//! handlers and services depend on the state, not on the code that wires them together.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::blobs::Blobs;
use crate::config::Config;
use crate::db::Db;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The parts of [`AppState`].
pub struct Inner {
    /// Database pool.
    pub db: Db,
    /// Blob store.
    pub blobs: Blobs,
    /// Configuration in force.
    pub config: Config,
    /// Base URL for links (no trailing slash).
    pub public_url: String,
    /// Server secrets (generated once into the data directory).
    pub secrets: Secrets,
    /// Where download attempts are recorded.
    pub downloads: crate::download_log::DownloadLog,
    /// Orders behind download tokens, kept briefly in memory (forgotten in every process when
    /// one changes an order's access).
    pub order_cache: crate::order_cache::OrderCache,
    /// The email outbox: wake it after queueing mail.
    pub mail: crate::mail::Outbox,
    /// The events-out delivery worker: wake it after queueing events.
    pub events_out: crate::webhooks_out::worker::EventsOut,
    /// Attempt counters for sign-in forms and the test checkout, shared through the database.
    pub rate_limits: crate::rate_limit::RateLimiter,
    /// This process: its role, and the id its claimed emails carry.
    pub instance: crate::instances::Instance,
    /// Refused webhook deliveries each shop may still log this minute.
    pub refused_deliveries: crate::webhook_deliveries::RefusedBudget,
}

impl AppState {
    /// Shares `inner` with every handler and task of the process.
    pub(crate) fn new(inner: Inner) -> AppState {
        AppState(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Keys the server generates once and keeps in `data_dir/secrets.json` (mode 0600).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Secrets {
    /// HMAC key for signed portal URLs and sessions, hex.
    pub signing_key: String,
}

impl Secrets {
    /// The signing key's bytes.
    pub fn key(&self) -> Vec<u8> {
        hex::decode(&self.signing_key).unwrap_or_else(|_| self.signing_key.as_bytes().to_vec())
    }

    /// Loads the secrets file, creating it with fresh random keys on first start.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Secrets> {
        let path = data_dir.join("secrets.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            return serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()));
        }
        let secrets = Secrets { signing_key: hex::encode(rand::random::<[u8; 32]>()) };
        let text = serde_json::to_string_pretty(&secrets)?;
        write_private(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        Ok(secrets)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
