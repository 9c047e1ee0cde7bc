//! The business operations on orders, each in one place with its side effects: recording a
//! payment (and assigning an unmatched one), refunds, revoking and restoring access, resending
//! the purchase email. Callers pass the app state and typed inputs; each operation wakes the
//! outbox, forgets cached orders and emits its [`OrderEvent`] itself, so no caller has to
//! remember to.
//!
//! Services know nothing of HTTP: they answer [`OrderError`], which `crate::http` maps to its
//! statuses.

mod access;
mod api_payment;
pub mod contents;
mod events;
mod payments;
mod refunds;
mod resend;
mod support;
mod test_data;
mod unmatched;
pub mod versions;

pub use access::{expired_link_hit, restore, revoke};
pub use api_payment::{ApiOrder, ApiRecorded, record_api_order};
pub use events::OrderEvent;
pub(crate) use events::emit;
pub use payments::{Outcome, Payment, keep_unreadable, record_payment, token_of};
pub use refunds::refund_payment;
pub use resend::{RESEND_LIMIT, RESEND_WINDOW_MS, Resent, resend_purchase_email};
pub use support::{extend_link, extended_until, reset_downloads, worth_extending};
pub use test_data::delete_test_data;
pub use unmatched::{AssignRefusal, Assigned, Assignment, assign_unmatched};

use crate::db::DbError;
use crate::domain::Invalid;

/// Why an order operation was refused, or failed.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// No such thing for this merchant (`"order"`, `"payment"`): the same whether it does not
    /// exist or is another merchant's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The order is revoked: restore it before resending its links.
    #[error("this order is revoked: restore it before resending its links")]
    Revoked,
    /// The `Idempotency-Key` was used before with another body.
    #[error("this Idempotency-Key was used with a different body")]
    IdempotencyKeyReused,
    /// The payment was recorded before (by a path that has no order to show again).
    #[error("this payment was already recorded")]
    AlreadyRecorded,
    /// The unmatched payment was assigned to an order already.
    #[error("This payment was already assigned to an order.")]
    AlreadyAssigned,
    /// The event is not a payment (a refund, say): only payments can become orders.
    #[error("Only payments can be assigned to a product.")]
    NotAPayment,
    /// The payment already has an order (its id): there is nothing to assign.
    #[error("this payment already has an order")]
    PaymentHasOrder(String),
    /// An input is invalid.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The data layer failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl OrderError {
    /// Maps a data-layer error, naming `what` when the row is missing (or another merchant's).
    pub(crate) fn missing(what: &'static str) -> impl Fn(DbError) -> OrderError {
        move |e| match e {
            DbError::NotFound => OrderError::NotFound(what),
            e => OrderError::Db(e),
        }
    }
}
