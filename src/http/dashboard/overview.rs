//! `GET /dashboard`: the shop at a glance (revenue per currency, a 30-day sales chart, recent
//! orders, top products, downloads) and the first steps for a new merchant. Money counts
//! sales only: paid, neither refunded nor revoked, and not test orders.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::orders::OrderRow;
use super::sales_chart::{self, HEIGHT, SalesChart, WIDTH};
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::db::getting_started::{self, Progress};
use crate::db::merchants::{self, Overview};
use crate::db::order_list::{self, OrderQuery};
use crate::db::{sales, test_data};
use crate::domain::{human_price, now_millis};
use crate::http::pages::render;
use crate::state::AppState;

/// Orders shown under "Recent orders".
const RECENT: usize = 5;
/// Products shown under "Top products".
const TOP: i64 = 5;

/// Revenue in one currency, as the page shows it.
struct RevenueCard {
    currency: String,
    amount: String,
    orders: i64,
}

/// A best-selling product, as the page shows it.
struct TopRow {
    href: String,
    name: String,
    orders: i64,
    quantity: i64,
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    counts: Overview,
    revenue: Vec<RevenueCard>,
    chart: Option<SalesChart>,
    chart_width: i64,
    chart_height: i64,
    rows: Vec<OrderRow>,
    show_customer: bool,
    top: Vec<TopRow>,
    downloads: i64,
    test_orders: i64,
    standard_webhook: String,
    stripe_webhook: String,
    portal: String,
    /// The "Getting started" steps done, and whether the list was closed.
    progress: Progress,
    steps_done: usize,
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
    let db = &state.db;
    let merchant = &user.merchant.id;
    let counts = merchants::overview(db, merchant).await?;
    let now = now_millis();
    let revenue = sales::revenue(db, merchant).await?;
    let per_day = sales::per_day(db, merchant, sales_chart::since(now)).await?;
    let recent = order_list::page(db, merchant, &OrderQuery::default()).await?;
    let top = sales::top_products(db, merchant, TOP).await?;
    let base = &state.public_url;
    let slug = &user.merchant.slug;
    let mut chrome = Chrome::new(&user, Section::Overview, q.notice.as_deref());
    chrome.last_webhook = Some(super::deliveries::last_webhook(db, merchant).await?);
    let progress = getting_started::progress(db, merchant).await?;
    let steps_done = [progress.product_ready, progress.provider_connected, progress.ordered, progress.portal_used]
        .into_iter()
        .filter(|done| *done)
        .count();
    let page = OverviewPage {
        progress,
        steps_done,
        chrome,
        counts,
        revenue: revenue
            .into_iter()
            .map(|r| RevenueCard {
                amount: human_price(r.amount_minor, &r.currency),
                currency: r.currency,
                orders: r.orders,
            })
            .collect(),
        chart: sales_chart::chart(&per_day, now),
        chart_width: WIDTH,
        chart_height: HEIGHT,
        rows: recent.rows.into_iter().take(RECENT).map(OrderRow::from).collect(),
        show_customer: true,
        top: top
            .into_iter()
            .map(|p| TopRow {
                href: format!("/dashboard/products/{}", p.product_id),
                name: p.name,
                orders: p.orders,
                quantity: p.quantity,
            })
            .collect(),
        downloads: sales::downloads(db, merchant).await?,
        test_orders: test_data::count(db, merchant).await?,
        standard_webhook: format!("{base}/webhooks/{slug}/standard"),
        stripe_webhook: format!("{base}/webhooks/{slug}/stripe"),
        portal: format!("{base}/portal/{slug}"),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The "Getting started" form: `closed=1` closes the list for the whole shop, `closed=0`
/// shows it again.
#[derive(Deserialize)]
pub struct GettingStartedForm {
    #[serde(default)]
    closed: String,
}

/// `POST /dashboard/getting-started`
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id))]
pub async fn set_getting_started(State(state): State<AppState>, form: Verified<GettingStartedForm>) -> PageResult {
    let closed = form.form.closed == "1";
    getting_started::set_closed(&state.db, &form.user.merchant.id, closed).await?;
    let to = if closed { "/dashboard?notice=steps-closed" } else { "/dashboard#getting-started" };
    Ok(Redirect::to(to).into_response())
}
