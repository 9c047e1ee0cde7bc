//! Faults of what Satchel depends on, made for one test app at a time: its PostgreSQL or its
//! S3 store cut off behind a proxy the test controls, its local store's disk full. Each answers
//! 503 with `Retry-After` (or 507 for the full disk), leaves nothing half done, and the app
//! recovers by itself once the dependency is back.

mod database;
mod disk;
mod store;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy in front of one dependency: forwards every connection while up; once
/// [`Proxy::cut`], closes the connections it carries and every new one at once (as a dependency
/// that went away does), until [`Proxy::restore`].
pub struct Proxy {
    /// `127.0.0.1:PORT` to connect to instead of the dependency.
    pub address: SocketAddr,
    cut: Arc<AtomicBool>,
    carried: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepting: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `target` (`host:port`).
    pub async fn to(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a proxy port");
        let address = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let carried: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (is_cut, connections) = (cut.clone(), carried.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if is_cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let carry = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections.lock().unwrap().push(carry);
            }
        });
        Proxy { address, cut, carried, accepting }
    }

    /// The dependency goes away: open connections break, new ones are closed at once.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for carry in self.carried.lock().unwrap().drain(..) {
            carry.abort();
        }
    }

    /// The dependency is back.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

/// `Retry-After` of a 503, in seconds (fails when missing).
pub fn retry_after(response: &reqwest::Response) -> u64 {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{response:?}");
    let value = response.headers().get("retry-after").expect("503 says when to retry");
    value.to_str().unwrap().parse().expect("Retry-After in seconds")
}
