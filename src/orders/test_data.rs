//! "Delete test data": a merchant clears the test orders they placed while trying Satchel out,
//! with everything hanging off them, and keeps every real order as it was.

use super::{OrderError, OrderEvent, emit};
use crate::db::test_data::{self, Deleted};
use crate::mail::Mailbox;
use crate::state::AppState;

/// Deletes `merchant_id`'s test orders and what hangs off them (one transaction, see
/// [`test_data::delete`]), then forgets cached orders in every process, so their links stop
/// working at once, and removes the deleted emails' copies from the file mailbox.
#[tracing::instrument(skip(state))]
pub async fn delete_test_data(state: &AppState, merchant_id: &str) -> Result<Deleted, OrderError> {
    let deleted = test_data::delete(&state.db, merchant_id).await?;
    state.order_cache.forget_everywhere(&state.db).await;
    let mailbox = Mailbox::new(state.config.mailbox_dir());
    for id in &deleted.email_ids {
        // The rows are gone, so the dashboard no longer lists these: a file left behind is
        // only clutter in the folder, not worth failing the request for.
        if let Err(e) = mailbox.remove(id).await {
            tracing::warn!(email = %id, error = %e, "could not remove a deleted test email from the mailbox");
        }
    }
    emit(OrderEvent::TestDataDeleted { merchant_id: merchant_id.to_owned(), orders: deleted.orders });
    Ok(deleted)
}
