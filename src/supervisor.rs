//! What the background workers (the email outbox, the events-out delivery worker) share: a
//! supervisor that starts a worker again should it die, and the relay that wakes a worker when
//! another process queues work for it (PostgreSQL `LISTEN`).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// A supervised worker's name (for the log), the flag that says whether it runs, and the
/// metrics that say the same outside the process.
#[derive(Clone)]
pub(crate) struct Watched {
    /// `mail`, `events-out`: how the log names it.
    pub(crate) name: &'static str,
    /// True while a worker runs.
    pub(crate) running: Arc<AtomicBool>,
    /// The gauge set to 1 while it runs, 0 otherwise.
    pub(crate) up_gauge: &'static str,
    /// The counter of restarts after it died.
    pub(crate) restarts_counter: &'static str,
}

/// Runs `worker` in a task of its own until it returns (it was asked to stop). If it dies
/// instead (a panic), that is logged and counted, and it is started again after `pause`.
/// `watched.running` (and its gauge) tell whether a worker runs.
pub(crate) async fn supervise<F, Fut>(watched: Watched, mut stop: watch::Receiver<bool>, pause: Duration, mut worker: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let set_running = |up: bool| {
        watched.running.store(up, Ordering::SeqCst);
        metrics::gauge!(watched.up_gauge).set(if up { 1.0 } else { 0.0 });
    };
    loop {
        set_running(true);
        let ended = tokio::spawn(worker()).await;
        set_running(false);
        match ended {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(worker = watched.name, error = %e, "a worker died; starting it again");
                metrics::counter!(watched.restarts_counter).increment(1);
            }
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Keeps `listen` running until `stop`: it wakes a worker on each notification, returns
/// `Ok(())` when there is nothing to listen to (SQLite), and on an error is started again after
/// `pause` (the worker's poll stays meanwhile). `what` names the work in the log.
pub(crate) async fn relay<L, Fut>(what: &'static str, mut stop: watch::Receiver<bool>, pause: Duration, mut listen: L)
where
    L: FnMut() -> Fut,
    Fut: Future<Output = Result<(), crate::db::DbError>>,
{
    loop {
        tokio::select! {
            ended = listen() => match ended {
                Ok(()) => return,
                Err(e) => tracing::warn!(error = %e, "not listening for queued {what}; polling only"),
            },
            _ = stop.changed() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_worker_that_dies_is_started_again_until_stopped() {
        let running = Arc::new(AtomicBool::new(false));
        let watched =
            Watched { name: "test", running: running.clone(), up_gauge: "test_up", restarts_counter: "test_restarts" };
        let (stop, stopped) = watch::channel(false);
        let (started, mut starts) = tokio::sync::mpsc::unbounded_channel();
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (counter, quit) = (runs.clone(), stopped.clone());
        let supervisor = tokio::spawn(supervise(watched, stopped, Duration::from_millis(10), move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (started, mut quit) = (started.clone(), quit.clone());
            async move {
                let _ = started.send(n);
                if n < 2 {
                    panic!("worker {n} dies");
                }
                let _ = quit.wait_for(|stop| *stop).await;
            }
        }));
        for expected in 0..3 {
            assert_eq!(starts.recv().await, Some(expected), "worker {expected} is started");
        }
        assert!(running.load(Ordering::SeqCst), "the third worker runs");
        stop.send(true).unwrap();
        supervisor.await.unwrap();
        assert!(!running.load(Ordering::SeqCst), "stopped");
        assert_eq!(runs.load(Ordering::SeqCst), 3, "not started again after a clean stop");
    }

    #[tokio::test]
    async fn a_relay_that_fails_listens_again_until_stopped() {
        let (stop, stopped) = watch::channel(false);
        let tries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = tries.clone();
        let relaying = tokio::spawn(relay("tests", stopped, Duration::from_millis(5), move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { Err(crate::db::DbError::NotFound) } else { std::future::pending().await } }
        }));
        while tries.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.send(true).unwrap();
        relaying.await.unwrap();
        assert_eq!(tries.load(Ordering::SeqCst), 3);
        // On SQLite there is nothing to listen to: it returns at once.
        let (_stop, stopped) = watch::channel(false);
        relay("tests", stopped, Duration::from_millis(5), || async { Ok(()) }).await;
    }
}
