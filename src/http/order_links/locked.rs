//! An email link the sharing brake locked ([`crate::sharing`]) answers 403 with the shop's
//! name and the way into its customer portal, which keeps working (DESIGN.md rule 5).

use crate::db::merchants;
use crate::db::orders::OrderDetail;
use crate::http::{PageError, PageResult};
use crate::state::AppState;

/// Refuses a locked link (the shop is read only then).
pub(super) async fn check(state: &AppState, detail: &OrderDetail) -> PageResult<()> {
    if detail.order.link_locked_at.is_none() {
        return Ok(());
    }
    let merchant_id = &detail.order.merchant_id;
    let merchant = merchants::get(&state.db, merchant_id).await.ok();
    Err(PageError::link_locked(merchant.as_ref(), merchant_id))
}
