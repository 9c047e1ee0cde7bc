//! The download cap of an order's files (rule 4 and decisions.md): counted downloads, and the
//! allowance of uncounted range bytes (resumes, split downloads) between two of them.
//!
//! Each counted download starts a new allowance. A charge is bound to the allowance it was
//! taken from (the file's `download_count` then), and what a range never sent is given back to
//! that allowance only: a response held open across a later counted download cannot refund
//! its bytes into the new allowance and buy copies past the cap.

use super::{Db, DbError, event_outbox, on_tx, with_pool};
use crate::domain::now_millis;

/// Counts one download of a file, unless the order's limit is reached (then false). A new
/// download starts a new allowance of uncounted range bytes (see [`charge_range`]).
pub async fn count_download(db: &Db, order_id: &str, position: i64, max: Option<i64>) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    let count: Option<i64> = on_tx!(&mut tx, conn => {
        sqlx::query_scalar(
            "UPDATE order_files SET download_count = download_count + 1, uncounted_bytes = 0 \
             WHERE order_id = $1 AND position = $2 AND ($3 IS NULL OR download_count < $3) RETURNING download_count",
        )
        .bind(order_id).bind(position).bind(max).fetch_optional(conn).await?
    });
    let Some(count) = count else { return Ok(false) };
    // The events of the first download and of the last allowed one, with the count (issue 17).
    event_outbox::queue_download_events(&mut tx, order_id, position, count - 1, count, max, now_millis()).await?;
    tx.commit().await?;
    Ok(true)
}

/// Gives back a download counted by [`count_download`] whose file could not be read (the store
/// was down): the customer received nothing, so it must not use up one of their downloads.
pub async fn uncount_download(db: &Db, order_id: &str, position: i64) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE order_files SET download_count = download_count - 1 \
             WHERE order_id = $1 AND position = $2 AND download_count > 0",
        )
        .bind(order_id).bind(position).execute(pool).await?;
    });
    Ok(())
}

/// What [`charge_range`] decided for a range that continues a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeCharge {
    /// Within one copy's worth since the last counted download: served, not counted.
    Uncounted(Allowance),
    /// Past it: counted as a new download (the count had room), which starts a new allowance.
    Counted(Allowance),
    /// Past it, and the count is used up: refuse.
    Refused,
}

/// The allowance a range was charged to: the file's download count when it was charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance(i64);

/// Charges `bytes` served by a range that starts past byte 0 to a capped file: free while the
/// uncounted bytes since its last counted download stay within the file's size, else a new
/// download (two conditional UPDATEs; a race between them only errs by one range).
pub async fn charge_range(
    db: &Db,
    order_id: &str,
    position: i64,
    bytes: i64,
    max: i64,
) -> Result<RangeCharge, DbError> {
    let free: Option<i64> = with_pool!(db, write pool => {
        sqlx::query_scalar(
            "UPDATE order_files SET uncounted_bytes = uncounted_bytes + $3 \
             WHERE order_id = $1 AND position = $2 AND uncounted_bytes + $3 <= size \
             RETURNING download_count",
        )
        .bind(order_id).bind(position).bind(bytes).fetch_optional(pool).await?
    });
    // Past the allowance: a new download, counted in a transaction with its events.
    let counted = match free {
        Some(_) => None,
        None => {
            let mut tx = db.begin_write().await?;
            let counted: Option<i64> = on_tx!(&mut tx, conn => {
                sqlx::query_scalar(
                    "UPDATE order_files SET download_count = download_count + 1, uncounted_bytes = $3 \
                     WHERE order_id = $1 AND position = $2 AND download_count < $4 RETURNING download_count",
                )
                .bind(order_id).bind(position).bind(bytes).bind(max).fetch_optional(conn).await?
            });
            if let Some(count) = counted {
                event_outbox::queue_download_events(
                    &mut tx,
                    order_id,
                    position,
                    count - 1,
                    count,
                    Some(max),
                    now_millis(),
                )
                .await?;
            }
            tx.commit().await?;
            counted
        }
    };
    Ok(match (free, counted) {
        (Some(count), _) => RangeCharge::Uncounted(Allowance(count)),
        (None, Some(count)) => RangeCharge::Counted(Allowance(count)),
        (None, None) => RangeCharge::Refused,
    })
}

/// Gives back `bytes` of a range charged to `allowance` that were never handed to the
/// connection (the client went away), so a download resumed several times over a bad
/// connection is charged about what it received. Nothing is given back once a later download
/// was counted: that one started a new allowance, which this range never drew on.
pub async fn refund_range(
    db: &Db,
    order_id: &str,
    position: i64,
    allowance: Allowance,
    bytes: i64,
) -> Result<(), DbError> {
    with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE order_files SET uncounted_bytes = CASE WHEN uncounted_bytes > $3 \
             THEN uncounted_bytes - $3 ELSE 0 END \
             WHERE order_id = $1 AND position = $2 AND download_count = $4",
        )
        .bind(order_id).bind(position).bind(bytes).bind(allowance.0).execute(pool).await?;
    });
    Ok(())
}

/// Gives a file of one of `merchant_id`'s orders all its downloads back (count and range
/// allowance to zero), by hand from the dashboard. NotFound when the order is not theirs or
/// has no such file.
pub async fn reset_downloads(db: &Db, merchant_id: &str, order_id: &str, position: i64) -> Result<i64, DbError> {
    let before: Option<i64> = with_pool!(db, write pool => {
        sqlx::query_scalar(
            "UPDATE order_files SET download_count = 0, uncounted_bytes = 0 \
             WHERE order_id = $1 AND position = $2 \
             AND EXISTS (SELECT 1 FROM orders WHERE orders.id = $1 AND orders.merchant_id = $3) \
             RETURNING position",
        )
        .bind(order_id).bind(position).bind(merchant_id).fetch_optional(pool).await?
    });
    before.ok_or(DbError::NotFound)
}

/// The current download count of each file of an order (position, count): fresher than a
/// cached order, for the delivery page's "downloads left".
pub async fn counts(db: &Db, order_id: &str) -> Result<Vec<(i64, i64)>, DbError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as("SELECT position, download_count FROM order_files WHERE order_id = $1 ORDER BY position")
            .bind(order_id).fetch_all(pool).await?
    }))
}
