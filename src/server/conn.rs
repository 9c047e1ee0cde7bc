//! A TCP stream that closes itself on silence. hyper's own header timer also runs while a
//! kept-alive connection waits, so the two could not be set apart; here the stream knows
//! (from [`Activity`], which the service updates) whether a request is in flight, and allows:
//! - a new connection, or one that has started sending a request head, `header_read` to send
//!   the whole head;
//! - a kept-alive connection `keep_alive` of idleness before its next request;
//! - a response `send` of the client reading nothing at all.
//!
//! Silence inside a request body is timed per read by [`super::body::Quiet`].
//!
//! Closing lingers, as nginx's `lingering_close` does: when a response ends the connection
//! while the client is still sending (a 413 before the body was read), the stream sends FIN and
//! reads and discards what keeps coming for a short while. Closing at once would make the
//! kernel answer the unread bytes with a reset, and the client would see "connection reset"
//! instead of the answer it was sent.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// The longest a closing connection is read from, and how much, before it is closed anyway.
const LINGER_TIME: Duration = Duration::from_secs(5);
const LINGER_BYTES: u64 = 64 * 1024 * 1024;

/// The silence each phase of a connection may have.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the connection's start, or a request's first byte, to its complete head.
    pub header_read: Duration,
    /// Between a response and the next request's first byte.
    pub keep_alive: Duration,
    /// Between two pieces of a request body.
    pub body_read: Duration,
    /// While the client reads none of the response.
    pub send: Duration,
}

/// Requests of one connection, as its service sees them.
#[derive(Default)]
pub struct Activity {
    /// Requests whose head arrived.
    started: AtomicU64,
    /// Requests whose response is not sent yet.
    in_flight: AtomicUsize,
    /// The connection's task, woken when it goes idle so the idle timer starts.
    waker: AtomicWaker,
}

impl Activity {
    /// A request's head arrived; the request is in flight until the guard is dropped.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0
    }
}

/// Held while a request is in flight (by its response body once there is one).
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.waker.wake();
        }
    }
}

/// A [`TcpStream`] that fails with `TimedOut` when a phase's silence runs out.
pub struct Watched {
    io: TcpStream,
    timeouts: Timeouts,
    activity: Arc<Activity>,
    read_timer: Timer,
    write_timer: Timer,
    /// `started` as last seen: a change means a request head completed.
    seen_started: u64,
    was_busy: bool,
    /// At least one response was sent (later waits are keep-alive waits).
    served: bool,
    /// When the connection last became idle (or opened).
    idle_since: Instant,
    /// First byte of the next request, once it came.
    head_since: Option<Instant>,
    /// When a write first found the client not reading.
    blocked_since: Option<Instant>,
    /// Once the write side is shut: until when, and how much, was read and discarded.
    linger: Option<(Instant, u64)>,
}

impl Watched {
    /// Wraps a freshly accepted stream; the service reports requests to the [`Activity`].
    pub fn new(io: TcpStream, timeouts: Timeouts) -> (Watched, Arc<Activity>) {
        let activity = Arc::new(Activity::default());
        let watched = Watched {
            io,
            timeouts,
            activity: activity.clone(),
            read_timer: Timer::default(),
            write_timer: Timer::default(),
            seen_started: 0,
            was_busy: false,
            served: false,
            idle_since: Instant::now(),
            head_since: None,
            blocked_since: None,
            linger: None,
        };
        (watched, activity)
    }

    /// Brings the phase up to date with what the service reported.
    fn observe(&mut self, cx: &Context<'_>) {
        self.activity.waker.register(cx.waker());
        let started = self.activity.started.load(Ordering::SeqCst);
        let busy = self.activity.busy();
        if started != self.seen_started {
            self.seen_started = started;
            self.head_since = None;
            self.was_busy = true;
        }
        if busy {
            self.was_busy = true;
        } else if self.was_busy {
            self.was_busy = false;
            self.served = true;
            self.idle_since = Instant::now();
            self.head_since = None;
        }
    }

    /// When a pending read must have brought something, if ever (no limit while a request is
    /// in flight: its body has its own, and the handler may be busy).
    fn read_deadline(&self) -> Option<Instant> {
        if self.activity.busy() {
            return None;
        }
        Some(match self.head_since {
            Some(since) => since + self.timeouts.header_read,
            None if self.served => self.idle_since + self.timeouts.keep_alive,
            None => self.idle_since + self.timeouts.header_read,
        })
    }

    fn wrote(&mut self, n: usize) {
        if n > 0 {
            self.blocked_since = None;
            if !self.activity.busy() {
                // Still flushing the end of a response: idleness starts after it.
                self.idle_since = Instant::now();
            }
        }
    }

    fn write_blocked(&mut self, cx: &mut Context<'_>) -> bool {
        let since = *self.blocked_since.get_or_insert_with(Instant::now);
        self.write_timer.expired(since + self.timeouts.send, cx)
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_owned())
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.observe(cx);
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before && !this.activity.busy() && this.head_since.is_none() {
                    this.head_since = Some(Instant::now());
                }
                this.read_timer.disarm();
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.read_deadline() {
                Some(deadline) if this.read_timer.expired(deadline, cx) => {
                    Poll::Ready(Err(timed_out("the client sent no request in time")))
                }
                Some(_) => Poll::Pending,
                None => {
                    this.read_timer.disarm();
                    Poll::Pending
                }
            },
            ready => ready,
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.observe(cx);
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.wrote(n);
                Poll::Ready(Ok(n))
            }
            Poll::Pending if this.write_blocked(cx) => Poll::Ready(Err(timed_out("the client read nothing in time"))),
            other => other,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.observe(cx);
        match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                this.wrote(n);
                Poll::Ready(Ok(n))
            }
            Poll::Pending if this.write_blocked(cx) => Poll::Ready(Err(timed_out("the client read nothing in time"))),
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.linger.is_none() {
            std::task::ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
            this.linger = Some((Instant::now() + LINGER_TIME, 0));
        }
        let Some((until, drained)) = this.linger.as_mut() else { unreachable!("set above") };
        let mut scratch = [0u8; 8192];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() && *drained < LINGER_BYTES => {
                    *drained += buf.filled().len() as u64;
                }
                // The client closed too (or failed, or sent more than we will read).
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending if this.read_timer.expired(*until, cx) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A sleep made on first use and moved rather than re-made.
#[derive(Default)]
struct Timer {
    sleep: Option<Pin<Box<Sleep>>>,
    armed_for: Option<Instant>,
}

impl Timer {
    /// Whether `deadline` has passed; if not, wakes the task when it does.
    fn expired(&mut self, deadline: Instant, cx: &mut Context<'_>) -> bool {
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if self.armed_for != Some(deadline) {
            sleep.as_mut().reset(deadline);
            self.armed_for = Some(deadline);
        }
        sleep.as_mut().poll(cx).is_ready()
    }

    fn disarm(&mut self) {
        self.armed_for = None;
    }
}
