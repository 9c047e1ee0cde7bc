//! The support tools of the order page: "Revoke access" behind its own confirmation page
//! (`GET …/revoke`, then `POST …/revoke` with `confirm=revoke`), "Reset downloads" of one
//! file (`POST …/files/{n}/reset`) and "Extend link" (`POST …/extend`). Each action is a
//! service in `crate::orders`; these handlers only parse and render.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::order::back;
use super::orders::order_ref;
use super::sign_in::Empty;
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::db::orders as db_orders;
use crate::domain::{OrderStatus, human_price};
use crate::http::Error;
use crate::http::pages::render;
use crate::orders;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/order_revoke.html")]
struct RevokePage {
    chrome: Chrome,
    id: String,
    reference: String,
    total: String,
    customer_email: String,
}

/// `GET /dashboard/orders/{id}/revoke`: what revoking does, and the button that does it.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, order_id = %id))]
pub async fn revoke_confirm(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult {
    let detail = db_orders::get(&state.db, &user.merchant.id, &id).await.map_err(Error::missing("order"))?;
    let o = &detail.order;
    if o.status == OrderStatus::Revoked {
        return back(&id, "revoked");
    }
    let page = RevokePage {
        chrome: Chrome::new(&user, Section::Orders, None),
        reference: order_ref(&o.id),
        total: human_price(o.amount_minor, &o.currency),
        customer_email: o.customer_email.clone(),
        id: o.id.clone(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The confirmation page's form: `confirm=revoke`.
#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /dashboard/orders/{id}/revoke`: "Revoke access", from the confirmation page only. A
/// post without `confirm=revoke` (an old order page's button, a double-click elsewhere)
/// revokes nothing and lands on the confirmation page.
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, order_id = %id))]
pub async fn revoke(State(state): State<AppState>, Path(id): Path<String>, form: Verified<RevokeForm>) -> PageResult {
    if form.form.confirm != "revoke" {
        return Ok(Redirect::to(&format!("/dashboard/orders/{id}/revoke")).into_response());
    }
    orders::revoke(&state, &form.user.merchant.id, &id).await?;
    back(&id, "revoked")
}

/// `POST /dashboard/orders/{id}/files/{n}/reset`: gives file `n` its downloads back.
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, order_id = %id, n = n))]
pub async fn reset_downloads(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, i64)>,
    form: Verified<Empty>,
) -> PageResult {
    orders::reset_downloads(&state, &form.user.merchant.id, &id, n).await?;
    back(&id, "downloads-reset")
}

/// `POST /dashboard/orders/{id}/extend`: the link works again, for the shop's link policy
/// from now.
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, order_id = %id))]
pub async fn extend_link(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Empty>) -> PageResult {
    orders::extend_link(&state, &form.user.merchant.id, &id).await?;
    back(&id, "link-extended")
}
