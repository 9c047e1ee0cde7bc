//! Body wrappers of the server loop: request bodies that fail after a silence, response bodies
//! that mark their request as finished when they are done.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use tokio::time::Sleep;

use super::conn::Busy;

/// A request body that fails when no bytes come for `limit` while the handler waits for them.
/// The clock runs only while the handler is waiting, and restarts with every piece, so a slow
/// but steady upload of any size goes through.
pub struct Quiet {
    body: Incoming,
    limit: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The handler is waiting for the next piece (the clock runs).
    waiting: bool,
}

impl Quiet {
    /// Wraps `body`.
    pub fn new(body: Incoming, limit: Duration) -> Quiet {
        Quiet { body, limit, sleep: None, waiting: false }
    }
}

/// The client stopped sending the request body.
#[derive(Debug, thiserror::Error)]
#[error("no bytes of the request body for {0} seconds")]
pub struct BodyTimedOut(u64);

impl HttpBody for Quiet {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            this.waiting = false;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = tokio::time::Instant::now() + this.limit;
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !this.waiting {
            // The wait starts now (the timer is reused, not re-made, for every piece).
            this.waiting = true;
            sleep.as_mut().reset(deadline);
        }
        ready!(sleep.as_mut().poll(cx));
        let limit = this.limit;
        Poll::Ready(Some(Err(Box::new(BodyTimedOut(limit.as_secs())))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A response body holding its request's [`Busy`] guard until it is done or dropped.
pub struct Tracked {
    body: Body,
    busy: Option<Busy>,
}

impl Tracked {
    /// Wraps `body`.
    pub fn new(body: Body, busy: Busy) -> Tracked {
        Tracked { body, busy: Some(busy) }
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.body).poll_frame(cx));
        if frame.is_none() {
            this.busy = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
