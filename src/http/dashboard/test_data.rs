//! `GET /dashboard/test-data`: what "Delete test data" would remove, behind a confirm button;
//! `POST /dashboard/test-data`: deletes it (the merchant's test orders and everything hanging
//! off them; real orders are untouched).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use super::sign_in::Empty;
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::db::test_data;
use crate::http::pages::render;
use crate::orders;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/test_data.html")]
struct ConfirmPage {
    chrome: Chrome,
    test_orders: i64,
}

/// `GET /dashboard/test-data`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn confirm(State(state): State<AppState>, user: SignedIn) -> PageResult {
    let test_orders = test_data::count(&state.db, &user.merchant.id).await?;
    let page = ConfirmPage { chrome: Chrome::new(&user, Section::Orders, None), test_orders };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /dashboard/test-data`
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id))]
pub async fn delete(State(state): State<AppState>, form: Verified<Empty>) -> PageResult {
    orders::delete_test_data(&state, &form.user.merchant.id).await?;
    Ok(Redirect::to("/dashboard/orders?notice=test-data-deleted").into_response())
}
