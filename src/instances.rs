//! This process in the `instances` table: registered when it starts serving, beating every
//! `instances.heartbeat_seconds`, removed on a clean shutdown. The emails a process claims
//! name it; once it has been silent for `instances.stale_after_seconds` (it crashed or was
//! killed), they are free for the other processes, which also remove its row.

use std::time::Duration;

use tokio::sync::watch;

use crate::config::InstancesConfig;
use crate::db::instances::{self, InstanceRow};
use crate::db::{Db, DbError};
use crate::domain::{Millis, Role, now_millis};

/// This process: who it is and how often it beats.
#[derive(Debug, Clone)]
pub struct Instance {
    id: String,
    role: Role,
    host: String,
    started_at: Millis,
    heartbeat: Duration,
    stale_after_ms: i64,
}

impl Instance {
    /// A new instance with role `role` (not registered yet).
    pub fn new(role: Role, config: &InstancesConfig) -> Instance {
        Instance {
            id: crate::db::new_id(),
            role,
            host: host_name(),
            started_at: now_millis(),
            heartbeat: Duration::from_secs(config.heartbeat_seconds.max(1)),
            stale_after_ms: config.stale_after_seconds.max(1) as i64 * 1000,
        }
    }

    /// Its id, recorded on the emails it claims.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What it does.
    pub fn role(&self) -> Role {
        self.role
    }

    /// How long an instance may be silent before it counts as dead.
    pub fn stale_after_ms(&self) -> i64 {
        self.stale_after_ms
    }

    fn row(&self) -> InstanceRow {
        InstanceRow {
            id: self.id.clone(),
            role: self.role,
            host: self.host.clone(),
            pid: i64::from(std::process::id()),
            started_at: self.started_at,
            heartbeat_at: now_millis(),
        }
    }

    /// Records this instance (its first beat). On SQLite, which one process serves at a
    /// time, every other instance ended: their rows go at once, and with them their claim on
    /// the emails they were sending, which this process sends without waiting for a lease.
    pub async fn register(&self, db: &Db) -> Result<(), DbError> {
        instances::beat(db, &self.row()).await?;
        if matches!(db, Db::Sqlite(_)) {
            for ended in instances::remove_all_but(db, &self.id).await? {
                tracing::info!(instance = %ended.id, pid = ended.pid, "an earlier process ended; its emails are taken over");
            }
        }
        tracing::info!(instance = %self.id, role = %self.role, host = %self.host, "instance registered");
        Ok(())
    }

    /// Beats every `heartbeat_seconds` until `stop` turns true, removing the rows of
    /// instances that stopped beating.
    pub fn spawn_heartbeat(&self, db: Db, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let instance = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(instance.heartbeat);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => instance.beat(&db).await,
                    _ = stop.changed() => return,
                }
            }
        })
    }

    async fn beat(&self, db: &Db) {
        if let Err(e) = instances::beat(db, &self.row()).await {
            // Silent for stale_after_seconds, this process's emails go to another: a second
            // copy of one being sent is possible then, a lost one is not.
            tracing::warn!(instance = %self.id, error = %e, "could not record the heartbeat");
            return;
        }
        match instances::remove_stale(db, crate::domain::alive_since(now_millis(), self.stale_after_ms)).await {
            Ok(dead) => {
                for dead in dead {
                    tracing::warn!(instance = %dead.id, host = %dead.host, pid = dead.pid, role = %dead.role,
                        "an instance stopped beating; its emails are taken over");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not remove stopped instances"),
        }
    }

    /// Removes this instance's row (a clean shutdown, once its work is finished).
    pub async fn deregister(&self, db: &Db) {
        match instances::remove(db, &self.id).await {
            Ok(()) => tracing::info!(instance = %self.id, "instance removed"),
            Err(e) => tracing::warn!(instance = %self.id, error = %e, "could not remove this instance's row"),
        }
    }
}

/// The machine's name, for operators reading the `instances` table.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
