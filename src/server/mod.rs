//! The HTTP server loop. Our own accept loop on hyper, because `axum::serve` has no timeouts:
//! at most `server.max_connections` connections are open (past it, accept waits), each one is
//! watched for silence (request head, keep-alive idle, request body, unread responses: see
//! [`conn`]), hyper buffers at most `server.connection_buffer_bytes` per connection, and a stop
//! lets requests in flight finish for at most `server.shutdown_timeout_seconds`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::Service;

use crate::config::ServerConfig;

mod body;
mod conn;
pub mod exposure;

pub use conn::Timeouts;

/// How the loop serves, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Per-connection silence limits.
    pub timeouts: Timeouts,
    /// Connections open at once.
    pub max_connections: usize,
    /// Longest wait for requests in flight once stopped.
    pub shutdown: Duration,
    /// hyper's per-connection buffer.
    pub buffer_bytes: usize,
}

impl Limits {
    /// The limits `config` asks for (the buffer raised to hyper's minimum of 8 KiB, the
    /// connections lowered to what the open-file limit allows).
    pub fn from_config(config: &ServerConfig) -> Limits {
        let secs = Duration::from_secs;
        Limits {
            timeouts: Timeouts {
                header_read: secs(config.header_read_timeout_seconds),
                keep_alive: secs(config.keep_alive_timeout_seconds),
                body_read: secs(config.body_read_timeout_seconds),
                send: secs(config.send_timeout_seconds),
            },
            max_connections: fit_to_open_files(config.max_connections.max(1)),
            shutdown: secs(config.shutdown_timeout_seconds),
            buffer_bytes: config.connection_buffer_bytes.max(8192),
        }
    }
}

/// What open connections are told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Serving,
    /// Finish the request in flight, then close.
    Draining,
    /// Close now: the shutdown deadline has passed.
    Closing,
}

/// Serves `router` on `listener` until `stop` completes, then drains: no new connections,
/// requests in flight get `limits.shutdown` to finish, and whatever is still open after that
/// is closed. Handlers see the peer as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let permits = Arc::new(Semaphore::new(max as usize));
    let (phase, watched) = watch::channel(Phase::Serving);
    let mut http = http1::Builder::new();
    http.max_buf_size(limits.buffer_bytes).header_read_timeout(None);
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let connection = Connection { router: router.clone(), limits, permit, phase: watched.clone() };
                tokio::spawn(connection.run(http.clone(), stream, peer));
            }
            // A connection that died while queued concerns nobody else.
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                // Out of file descriptors (or similar): wait a moment instead of spinning.
                tracing::error!(error = %e, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    let _ = phase.send(Phase::Draining);
    if tokio::time::timeout(limits.shutdown, permits.acquire_many(max)).await.is_err() {
        let open = max as usize - permits.available_permits();
        tracing::warn!(open, "closing connections still busy at the shutdown deadline");
        let _ = phase.send(Phase::Closing);
        let _ = tokio::time::timeout(Duration::from_secs(1), permits.acquire_many(max)).await;
    }
    Ok(())
}

/// The highest number of connections the open-file limit leaves room for: the soft limit is
/// first raised to the hard one (as Go does at start), and a quarter of it is kept for files
/// being served, the database and the log. `wanted` when that is lower or the limit is unknown.
pub fn fit_to_open_files(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum {
            let raised = rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum };
            if setrlimit(Resource::Nofile, raised).is_err() {
                tracing::debug!("could not raise the open-file limit");
            }
        }
        if let Some(files) = getrlimit(Resource::Nofile).current {
            let room = usize::try_from(files / 4 * 3).unwrap_or(usize::MAX).max(16);
            if room < wanted {
                tracing::warn!(
                    max_connections = room,
                    configured = wanted,
                    open_file_limit = files,
                    "server.max_connections lowered to what the open-file limit allows (raise `ulimit -n`)"
                );
                return room;
            }
        }
    }
    wanted
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

/// One accepted connection and what it needs.
struct Connection {
    router: Router,
    limits: Limits,
    /// Returned (letting the next connection in) when the connection ends.
    permit: OwnedSemaphorePermit,
    phase: watch::Receiver<Phase>,
}

impl Connection {
    async fn run(mut self, http: http1::Builder, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let (io, activity) = conn::Watched::new(stream, self.limits.timeouts);
        let router = self.router;
        let body_read = self.limits.timeouts.body_read;
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = activity.begin();
            let request = request.map(|b| Body::new(body::Quiet::new(b, body_read)));
            let mut router = router.clone();
            async move {
                let response = router.call(request).await.unwrap_or_else(|never: Infallible| match never {});
                Ok::<_, Infallible>(response.map(|b| Body::new(body::Tracked::new(b, busy))))
            }
        });
        let connection = http.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                    break;
                }
                changed = self.phase.changed() => match changed.map(|()| *self.phase.borrow_and_update()) {
                    Ok(Phase::Draining) => connection.as_mut().graceful_shutdown(),
                    Ok(Phase::Serving) => {}
                    Ok(Phase::Closing) | Err(_) => break,
                },
            }
        }
        drop(self.permit);
    }
}
