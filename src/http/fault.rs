//! Which failures are not bugs: a dependency that is down for a while (the database, the S3
//! store) answers 503 with `Retry-After`, so clients and payment providers come back; a full disk
//! answers 507. Everything else that fails inside stays a logged 500.
//!
//! Errors reach the HTTP layer wrapped (in `anyhow`, in `std::io::Error`, in the store's retry
//! error), so the whole chain of causes is looked at, in one place: [`of`].

use std::error::Error as StdError;

use crate::db::DbError;

/// Seconds a client is told to wait (`Retry-After`) before trying a 503 again: about the time a
/// restarted database or store takes to come back, and short enough for a payment provider's
/// first retry.
pub(crate) const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// A failure that is not a bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// 503: the database or the blob store cannot be reached or refuses work for now.
    Unavailable,
    /// 507: no room left to store a file (ENOSPC, EDQUOT, EFBIG).
    StorageFull,
}

/// The fault behind `error`, if any of its causes is one.
pub(crate) fn of(error: &anyhow::Error) -> Option<Fault> {
    let root: &(dyn StdError + 'static) = error.as_ref();
    of_chain(root)
}

fn of_chain(error: &(dyn StdError + 'static)) -> Option<Fault> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(fault) = of_one(error) {
            return Some(fault);
        }
        next = error.source();
    }
    None
}

fn of_one(error: &(dyn StdError + 'static)) -> Option<Fault> {
    if let Some(e) = error.downcast_ref::<DbError>() {
        return db_fault(e);
    }
    if let Some(e) = error.downcast_ref::<sqlx::Error>() {
        return crate::db::sqlx_unavailable(e).then_some(Fault::Unavailable);
    }
    if let Some(e) = error.downcast_ref::<object_store::client::HttpError>() {
        // The store's HTTP client could not connect, or the request broke or timed out (after
        // its retries): the store is down or unreachable.
        use object_store::client::HttpErrorKind::*;
        return matches!(e.kind(), Connect | Request | Timeout | Interrupted).then_some(Fault::Unavailable);
    }
    if let Some(e) = error.downcast_ref::<hyper::Error>() {
        // A pooled connection to the store that closed under the request ("operation was
        // canceled: connection was not ready"): the store's client calls this kind Unknown and
        // does not retry it, but it is the store going away, as a reset is.
        if e.is_canceled() || e.is_closed() || e.is_incomplete_message() || e.is_timeout() {
            return Some(Fault::Unavailable);
        }
    }
    if let Some(e) = error.downcast_ref::<std::io::Error>() {
        if is_storage_full(e) {
            return Some(Fault::StorageFull);
        }
        // `io::Error::source` skips the error it wraps: look at that one too.
        if let Some(inner) = e.get_ref() {
            let inner: &(dyn StdError + 'static) = inner;
            return of_chain(inner);
        }
    }
    None
}

fn db_fault(e: &DbError) -> Option<Fault> {
    if e.is_unavailable() {
        Some(Fault::Unavailable)
    } else if e.is_storage_full() {
        Some(Fault::StorageFull)
    } else {
        None
    }
}

/// ENOSPC (the file system is full), EDQUOT (the user's quota is) and EFBIG (the file is over
/// the process's or file system's size limit): in each, this file cannot be stored here now.
fn is_storage_full(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), StorageFull | QuotaExceeded | FileTooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_found_under_their_wrappers() {
        let full = std::io::Error::from_raw_os_error(28);
        assert_eq!(of(&anyhow::Error::new(full).context("staging")), Some(Fault::StorageFull));
        let too_big = std::io::Error::from_raw_os_error(27);
        assert_eq!(of(&anyhow::Error::new(std::io::Error::other(too_big))), Some(Fault::StorageFull));
        let down = DbError::Sqlx(sqlx::Error::PoolTimedOut);
        assert_eq!(of(&anyhow::Error::new(down).context("loading")), Some(Fault::Unavailable));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(of(&DbError::Sqlx(sqlx::Error::Io(refused)).into()), Some(Fault::Unavailable));
        assert_eq!(of(&DbError::Sqlx(sqlx::Error::RowNotFound).into()), None);
        assert_eq!(of(&anyhow::anyhow!("disk on fire")), None);
        assert_eq!(of(&std::io::Error::from_raw_os_error(5).into()), None, "EIO is a bug to look at, not a full disk");
    }

    /// The store's client names a request on a pooled connection that closed under it
    /// ("operation was canceled") `Unknown`: seen as a 500 for a download while the store was
    /// cut (faults::store, under load). It is the store going away.
    #[tokio::test]
    async fn a_connection_closed_under_a_store_request_is_the_store_going_away() {
        use http_body_util::Empty;
        let (client, server) = tokio::io::duplex(64);
        let io = hyper_util::rt::TokioIo::new(client);
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Empty<bytes::Bytes>>(io).await.unwrap();
        drop((connection, server));
        let closed = sender.send_request(http::Request::new(Empty::new())).await.unwrap_err();
        let kind = object_store::client::HttpErrorKind::Unknown;
        let store = object_store::Error::Generic {
            store: "S3",
            source: Box::new(object_store::client::HttpError::new(kind, closed)),
        };
        let read = anyhow::Error::new(std::io::Error::other(store)).context("reading the delivered file");
        assert_eq!(of(&read), Some(Fault::Unavailable), "{read:?}");
    }
}
