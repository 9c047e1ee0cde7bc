//! `GET /dashboard`: the shop at a glance and the first steps for a new merchant.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::{Chrome, PageResult, Section, SignedIn};
use crate::db::merchants::{self, Overview};
use crate::http::pages::render;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    counts: Overview,
    standard_webhook: String,
    stripe_webhook: String,
    portal: String,
}

/// `?notice=` after a redirect.
#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    /// A notice name (see [`super::Chrome::new`]).
    #[serde(default)]
    pub notice: Option<String>,
}

/// `GET /dashboard`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn show(State(state): State<AppState>, user: SignedIn, Query(q): Query<NoticeQuery>) -> PageResult {
    let counts = merchants::overview(&state.db, &user.merchant.id).await?;
    let base = &state.public_url;
    let slug = &user.merchant.slug;
    let page = OverviewPage {
        chrome: Chrome::new(&user, Section::Overview, q.notice.as_deref()),
        counts,
        standard_webhook: format!("{base}/webhooks/{slug}/standard"),
        stripe_webhook: format!("{base}/webhooks/{slug}/stripe"),
        portal: format!("{base}/portal/{slug}"),
    };
    Ok(render(StatusCode::OK, &page))
}
