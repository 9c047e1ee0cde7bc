//! `GET /dashboard/customers`: everyone who bought, latest buyers first, searchable by email or
//! name; `GET /dashboard/customers/{id}`: one customer and their orders.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::orders::{OrderRow, Pager, when};
use super::{Chrome, PageResult, Section, SignedIn};
use crate::db::customers::{self, Spent};
use crate::db::order_list::{self, OrderQuery};
use crate::db::page::PageAt;
use crate::domain::human_price;
use crate::http::Error;
use crate::http::pages::render;
use crate::state::AppState;

/// A customer as a row of the list.
struct CustomerRow {
    href: String,
    email: String,
    name: String,
    orders: i64,
    test_orders: i64,
    last_order: String,
    spent: String,
}

/// `$19.99 · 5,00 €`, or a dash when nothing (left) was spent.
fn spent_text(spent: &[Spent], customer_id: &str) -> String {
    let parts: Vec<String> = spent
        .iter()
        .filter(|s| s.customer_id == customer_id)
        .map(|s| human_price(s.amount_minor, &s.currency))
        .collect();
    if parts.is_empty() { "—".to_owned() } else { parts.join(" · ") }
}

/// The query string of the list.
#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    after: Option<String>,
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/customers.html")]
struct CustomersPage {
    chrome: Chrome,
    q: String,
    rows: Vec<CustomerRow>,
    pager: Pager,
}

/// `GET /dashboard/customers`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn list(State(state): State<AppState>, user: SignedIn, Query(q): Query<ListQuery>) -> PageResult {
    let merchant = &user.merchant.id;
    let search = q.q.trim().to_owned();
    let at = PageAt::from_query(q.after.as_deref(), q.before.as_deref());
    let page = customers::page(&state.db, merchant, Some(search.as_str()), &at).await?;
    let ids: Vec<&str> = page.rows.iter().map(|c| c.id.as_str()).collect();
    let spent = customers::spent(&state.db, merchant, &ids).await?;
    let base = if search.is_empty() {
        "/dashboard/customers?".to_owned()
    } else {
        format!(
            "/dashboard/customers?q={}&",
            url::form_urlencoded::byte_serialize(search.as_bytes()).collect::<String>()
        )
    };
    let view = CustomersPage {
        chrome: Chrome::new(&user, Section::Customers, None),
        pager: Pager::of(&page, &base),
        rows: page
            .rows
            .iter()
            .map(|c| CustomerRow {
                href: format!("/dashboard/customers/{}", c.id),
                email: c.email.clone(),
                name: c.name.clone(),
                orders: c.orders,
                test_orders: c.test_orders,
                last_order: when(c.last_order_at),
                spent: spent_text(&spent, &c.id),
            })
            .collect(),
        q: search,
    };
    Ok(render(StatusCode::OK, &view))
}

/// The query string of a customer's page.
#[derive(Deserialize)]
pub struct OrdersQuery {
    after: Option<String>,
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/customer.html")]
struct CustomerPage {
    chrome: Chrome,
    email: String,
    name: String,
    orders: i64,
    test_orders: i64,
    first_order: String,
    last_order: String,
    spent: String,
    portal: String,
    rows: Vec<OrderRow>,
    show_customer: bool,
    pager: Pager,
}

/// `GET /dashboard/customers/{id}`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, customer_id = %id))]
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<OrdersQuery>,
) -> PageResult {
    let merchant = &user.merchant.id;
    let customer = customers::get(&state.db, merchant, &id).await.map_err(Error::missing("customer"))?;
    let spent = customers::spent(&state.db, merchant, &[customer.id.as_str()]).await?;
    let query = OrderQuery {
        customer_id: Some(customer.id.clone()),
        page: PageAt::from_query(q.after.as_deref(), q.before.as_deref()),
        ..OrderQuery::default()
    };
    let page = order_list::page(&state.db, merchant, &query).await?;
    let view = CustomerPage {
        chrome: Chrome::new(&user, Section::Customers, None),
        pager: Pager::of(&page, &format!("/dashboard/customers/{}?", customer.id)),
        rows: page.rows.into_iter().map(OrderRow::from).collect(),
        show_customer: false,
        spent: spent_text(&spent, &customer.id),
        orders: customer.orders,
        test_orders: customer.test_orders,
        first_order: when(customer.created_at),
        last_order: when(customer.last_order_at),
        portal: format!("{}/portal/{}", state.public_url, user.merchant.slug),
        email: customer.email,
        name: customer.name,
    };
    Ok(render(StatusCode::OK, &view))
}
