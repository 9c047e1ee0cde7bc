//! Building and running the service: the listener, the background work, graceful shutdown.
//! The state handlers reach is [`crate::state`].

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::blobs::Blobs;
use crate::config::Config;
use crate::db::Db;
use crate::state::{AppState, Inner, Secrets};

/// Creates the data directory, private to this user (see [`crate::private_files`]).
fn create_data_dir(config: &Config) -> anyhow::Result<()> {
    crate::private_files::create_private_dir(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))
}

/// Connects to the database named by `config`, migrating the schema (the data directory is
/// created only when the database lives in it).
pub async fn connect_db(config: &Config) -> anyhow::Result<Db> {
    if config.database.url.is_none() {
        create_data_dir(config)?;
    }
    let db = Db::connect(&config.database_url(), config.database.max_connections, config.database.acquire_timeout())
        .await
        .context("connecting to the database")?;
    db.migrate().await.context("migrating the database")?;
    Ok(db)
}

/// Connects to the database and the blob store named by `config`, migrating the schema.
pub async fn connect(config: &Config) -> anyhow::Result<(Db, Blobs)> {
    create_data_dir(config)?;
    let db = connect_db(config).await?;
    let blobs = Blobs::from_config(config).context("opening the blob store")?;
    Ok((db, blobs))
}

/// A built service, bound to its port, ready to run.
pub struct App {
    listener: TcpListener,
    state: AppState,
}

impl App {
    /// Connects everything and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let instances = &config.instances;
        anyhow::ensure!(
            instances.stale_after_seconds >= 2 * instances.heartbeat_seconds.max(1),
            "instances.stale_after_seconds must be at least two heartbeats (2 × instances.heartbeat_seconds)"
        );
        let (db, blobs) = connect(&config).await?;
        anyhow::ensure!(
            config.server.role == crate::domain::Role::All || matches!(db, Db::Postgres(_)),
            "role {}: web and worker processes share a PostgreSQL database; SQLite serves one process, \
             which does everything (role all)",
            config.server.role
        );
        let secrets = match &config.signing_key {
            Some(key) => {
                anyhow::ensure!(
                    key.expose().len() >= 32 && hex::decode(key.expose()).is_ok(),
                    "signing_key must be at least 32 hex characters (e.g. `openssl rand -hex 32`)"
                );
                Secrets { signing_key: key.expose().to_owned() }
            }
            None => Secrets::load_or_create(&config.data_dir)?,
        };
        crate::signing_key::ensure_shared(&db, &secrets.key(), config.replace_signing_key.as_deref()).await?;
        let address = format!("{}:{}", config.server.host, config.server.port);
        let listener = TcpListener::bind(&address).await.with_context(|| format!("listening on {address}"))?;
        let port = listener.local_addr()?.port();
        let public_url = config.public_url(port);
        match blobs.remove_stale_uploads().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "removed uploads left unfinished by an earlier process"),
            Err(e) => tracing::warn!(error = %e, "could not look for unfinished uploads"),
        }
        crate::telemetry::install();
        let downloads = crate::download_log::DownloadLog::start(db.clone());
        let mail = crate::mail::Outbox::new(crate::mail::Transport::from_config(&config).context("setting up mail")?);
        let events_out = crate::webhooks_out::worker::EventsOut::new(&config.webhooks_out)
            .context("setting up the webhook delivery client")?;
        let instance = crate::instances::Instance::new(config.server.role, &config.instances);
        let order_cache =
            crate::order_cache::OrderCache::new(Duration::from_millis(config.database.order_cache_milliseconds));
        let rate_limits = crate::rate_limit::RateLimiter::new(db.clone());
        let state = AppState::new(Inner {
            db,
            blobs,
            config,
            public_url,
            secrets,
            downloads,
            order_cache,
            mail,
            events_out,
            rate_limits,
            instance,
            refused_deliveries: Default::default(),
        });
        Ok(App { listener, state })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The shared state (tests reach the database through it).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until Ctrl-C or SIGTERM; requests in flight finish first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes; requests in flight get `server.shutdown_timeout_seconds`
    /// to finish.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let state = self.state.clone();
        let role = state.instance.role();
        state.instance.register(&state.db).await.map_err(std::io::Error::other)?;
        let (stop_work, work_stopped) = tokio::sync::watch::channel(false);
        // The heartbeat outlives the worker: emails still being sent at shutdown stay this
        // process's until they are finished.
        let (stop_beating, beating_stopped) = tokio::sync::watch::channel(false);
        let heartbeat = state.instance.spawn_heartbeat(state.db.clone(), beating_stopped);
        // A web-only process leaves the mail and the sweeps to worker processes.
        let background = role.runs_worker().then(|| {
            let events_worker = crate::webhooks_out::worker::spawn_worker(state.clone(), work_stopped.clone());
            let mail_worker = crate::mail::outbox::spawn_worker(state.clone(), work_stopped);
            (mail_worker, events_worker, tokio::spawn(sweep_expired_sessions(state.db.clone())))
        });
        let cache_follower = crate::order_cache::follow_other_processes(state.clone());
        let checkpoints = tokio::spawn(crate::db::checkpoint::keep_log_short(state.db.clone()));
        let router =
            if role.serves_http() { crate::http::router(self.state) } else { crate::http::health_router(self.state) };
        tracing::info!(
            address = %self.listener.local_addr()?, public_url = %state.public_url,
            database = state.db.engine(), role = %role, "satchel is serving"
        );
        if crate::server::exposure::insecure_cookies_exposed(&state.config.server.host, &state.public_url) {
            tracing::warn!(
                host = %state.config.server.host, public_url = %state.public_url,
                "listening beyond this machine with an http:// public URL: sign-in cookies are sent without \
                 `Secure`; put Satchel behind HTTPS and set server.public_url to its https:// address"
            );
        }
        let limits = crate::server::Limits::from_config(&state.config.server);
        let result = crate::server::serve(self.listener, router, limits, stop).await;
        // The workers finish the emails and events they are sending; anything still queued
        // waits in the database for the next start. The instance's row goes last, once nothing it claimed
        // is being sent.
        let _ = stop_work.send(true);
        if let Some((mail_worker, events_worker, sweeper)) = background {
            let _ = mail_worker.await;
            let _ = events_worker.await;
            sweeper.abort();
        }
        cache_follower.abort();
        checkpoints.abort();
        let _ = stop_beating.send(true);
        let _ = heartbeat.await;
        state.instance.deregister(&state.db).await;
        state.db.close().await;
        result
    }
}

/// Deletes expired sessions and ended rate-limit windows once an hour, so the tables hold only
/// live ones, and trims the webhook deliveries log.
async fn sweep_expired_sessions(db: Db) {
    let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        match crate::db::sessions::sweep_expired(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "removed expired sessions"),
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
        if let Err(e) = crate::db::rate_limits::sweep_ended(&db, crate::domain::now_millis()).await {
            tracing::warn!(error = %e, "could not remove ended rate-limit windows");
        }
        if let Err(e) = crate::webhook_deliveries::trim(&db).await {
            tracing::warn!(error = %e, "could not trim the webhook deliveries log");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("stopping: finishing requests in flight");
}
