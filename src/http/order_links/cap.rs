//! The download cap of `/d/…` links (rule 4): a new download counts; a range that starts past
//! byte 0 continues one (`curl -C -`, `aria2c -x4`) and does not, as long as the bytes served
//! that way since the file's last counted download stay within one copy of the file. Past that
//! a range counts as a new download, and once the count is used up it is refused (410).
//! Bytes charged but never handed to the connection (the client went away) are given back, to
//! the allowance they were charged to, when the body is dropped. What was handed over counts as
//! sent even if it still sat in hyper's or the kernel's buffers: a client can be charged a
//! little more than it received, never less, so dropping connections gains it nothing.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, BodyDataStream};
use axum::http::Method;
use axum::response::Response;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::db::caps::{self, Allowance, RangeCharge};
use crate::db::orders::{Order, OrderDetail, OrderFile};
use crate::db::{Db, merchants};
use crate::http::PageError;
use crate::http::ranged::Answer;

/// How a download attempt was admitted.
pub(super) struct Admitted {
    /// It counts as a download (logged so).
    pub counted: bool,
    /// Its count is still to be written, with the download-log batch (unlimited orders).
    pub increment: bool,
    /// Range bytes charged to the file's uncounted allowance (capped orders), and to which.
    pub charged: Option<(u64, Allowance)>,
}

/// Applies the order's cap to a request answered with `answer`; 410 past it.
pub(super) async fn admit(
    db: &Db,
    order: &Order,
    file: &OrderFile,
    method: &Method,
    answer: &Answer,
) -> Result<Admitted, PageError> {
    let free = Admitted { counted: false, increment: false, charged: None };
    if method != Method::GET {
        return Ok(free);
    }
    match (*answer, order.max_downloads_per_file) {
        // A GET of the whole file or of its start is a new download. Its count cannot be
        // decided from the file's current count: unlimited counts are written by a background
        // batch, and a split download's connections arrive together.
        (Answer::Full | Answer::Partial { start: 0, .. }, None) => {
            Ok(Admitted { counted: true, increment: true, charged: None })
        }
        (Answer::Full | Answer::Partial { start: 0, .. }, Some(max)) => {
            let counted = caps::count_download(db, &order.id, file.position, Some(max)).await;
            match counted.map_err(PageError::internal)? {
                true => Ok(Admitted { counted: true, increment: false, charged: None }),
                false => Err(used_up(db, order).await),
            }
        }
        (Answer::Partial { start, end }, Some(max)) => {
            let bytes = end - start + 1;
            let charged = caps::charge_range(db, &order.id, file.position, bytes as i64, max).await;
            match charged.map_err(PageError::internal)? {
                RangeCharge::Uncounted(to) => Ok(Admitted { charged: Some((bytes, to)), ..free }),
                RangeCharge::Counted(to) => {
                    Ok(Admitted { counted: true, increment: false, charged: Some((bytes, to)) })
                }
                RangeCharge::Refused => Err(used_up(db, order).await),
            }
        }
        // Without a cap, a range past byte 0 continues a download and is never counted.
        _ => Ok(free),
    }
}

/// Undoes what [`admit`] charged for a request whose file could not be read: a counted
/// download of a capped file is given back, and so are range bytes charged to its allowance.
pub(super) async fn give_back(db: &Db, admitted: &Admitted, order_id: &str, position: i64) {
    let given = async {
        if let Some((bytes, allowance)) = admitted.charged {
            caps::refund_range(db, order_id, position, allowance, bytes as i64).await?;
        }
        if admitted.counted && !admitted.increment {
            caps::uncount_download(db, order_id, position).await?;
        }
        Ok::<_, crate::db::DbError>(())
    };
    if let Err(e) = given.await {
        tracing::warn!(order_id, position, error = %e, "could not give back a download that failed");
    }
}

/// The 410 for a used-up download count, naming the shop.
async fn used_up(db: &Db, order: &Order) -> PageError {
    let merchant = merchants::get(db, &order.merchant_id).await.ok();
    PageError::downloads_used_up(merchant.as_ref(), &order.merchant_id)
}

/// `response` whose body gives back to `allowance`, when dropped, the part of `charged` bytes
/// it never handed to the connection.
pub(super) fn refunding(
    response: Response,
    (charged, allowance): (u64, Allowance),
    db: &Db,
    order_id: &str,
    position: i64,
) -> Response {
    let refund = Refund { db: db.clone(), order_id: order_id.to_owned(), position, allowance };
    response.map(|body| {
        let metered = Metered { inner: body.into_data_stream(), unsent: charged, refund: Some(refund) };
        Body::from_stream(metered)
    })
}

struct Refund {
    db: Db,
    order_id: String,
    position: i64,
    allowance: Allowance,
}

/// A body stream that counts what it hands to the connection (not what reached the client).
struct Metered {
    inner: BodyDataStream,
    unsent: u64,
    refund: Option<Refund>,
}

impl Stream for Metered {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = std::task::ready!(this.inner.poll_next_unpin(cx));
        if let Some(Ok(chunk)) = &item {
            this.unsent = this.unsent.saturating_sub(chunk.len() as u64);
        }
        Poll::Ready(item)
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        let Some(Refund { db, order_id, position, allowance }) = self.refund.take().filter(|_| self.unsent > 0) else {
            return;
        };
        let unsent = self.unsent as i64;
        // Bodies are dropped on the runtime's threads; outside one there is nothing to do.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = caps::refund_range(&db, &order_id, position, allowance, unsent).await {
                    tracing::warn!(error = %e, order = %order_id, "could not give back unsent range bytes");
                }
            });
        }
    }
}

/// Counts one download of every file of a capped order for a "download all" (nothing to do
/// on an unlimited one: its counts go with the download log). If any file is used up, the
/// ones already counted are given back and the answer is the 410.
pub(super) async fn count_all(db: &Db, detail: &OrderDetail) -> Result<(), PageError> {
    let order = &detail.order;
    let Some(max) = order.max_downloads_per_file else { return Ok(()) };
    let mut counted = Vec::with_capacity(detail.files.len());
    for position in detail.files.iter().map(|f| f.position) {
        match caps::count_download(db, &order.id, position, Some(max)).await {
            Ok(true) => counted.push(position),
            outcome => {
                for position in counted {
                    if let Err(e) = caps::uncount_download(db, &order.id, position).await {
                        tracing::warn!(order_id = %order.id, position, error = %e, "could not give back a download");
                    }
                }
                return Err(match outcome {
                    Err(e) => PageError::internal(e),
                    _ => used_up(db, order).await,
                });
            }
        }
    }
    Ok(())
}
