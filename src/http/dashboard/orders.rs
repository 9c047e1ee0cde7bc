//! `GET /dashboard/orders`: the order list (search by email, filter by status or by emails in
//! trouble, 50 a page) and the payments that matched no product, ready to be assigned.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::unmatched::{self, UnmatchedPayment};
use super::{Chrome, PageResult, Section, SignedIn};
use crate::db::order_list::{self, OrderQuery, OrderSummary};
use crate::db::page::{Cursor, Page, PageAt};
use crate::domain::{EmailStatus, Millis, OrderStatus, PaymentSource, human_price};
use crate::http::pages::render;
use crate::state::AppState;

/// A badge: its words and its colour class.
#[derive(Debug, Clone)]
pub struct Badge {
    /// What it says.
    pub label: &'static str,
    /// `badge-ok`, `badge-warn`, `badge-bad`, `badge-info` (under way) or `badge-muted`.
    pub class: &'static str,
}

/// The badge of an order's status.
pub fn order_badge(status: OrderStatus) -> Badge {
    match status {
        OrderStatus::Paid => Badge { label: "Paid", class: "badge-ok" },
        OrderStatus::Refunded => Badge { label: "Refunded", class: "badge-warn" },
        OrderStatus::Revoked => Badge { label: "Revoked", class: "badge-bad" },
    }
}

/// The badge of an email's state.
pub fn email_badge(status: Option<EmailStatus>) -> Badge {
    match status {
        Some(EmailStatus::Sent) => Badge { label: "Sent", class: "badge-ok" },
        Some(EmailStatus::Queued) => Badge { label: "Queued", class: "badge-info" },
        Some(EmailStatus::Sending) => Badge { label: "Sending", class: "badge-info" },
        Some(EmailStatus::Retrying) => Badge { label: "Retrying", class: "badge-warn" },
        Some(EmailStatus::Failed) => Badge { label: "Failed", class: "badge-bad" },
        Some(EmailStatus::Suppressed) => Badge { label: "Unsubscribed", class: "badge-muted" },
        None => Badge { label: "No email", class: "badge-muted" },
    }
}

/// How a payment reached Satchel, in the merchant's words.
pub fn provider_name(provider: PaymentSource) -> &'static str {
    match provider {
        PaymentSource::Standard => "Standard Webhooks",
        PaymentSource::Stripe => "Stripe",
        PaymentSource::Test => "Test checkout",
        PaymentSource::Api => "API",
    }
}

/// `24 Nov 2026, 16:45` (UTC): short enough for a table cell.
pub fn when(millis: Millis) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:short] [year], [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(millis / 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// The short reference customers see in their email (the end of the order's id).
pub fn order_ref(id: &str) -> String {
    id.rsplit('-').next().unwrap_or(id).to_uppercase()
}

/// An SMTP error without its `SMTP host:port: ` prefix: the list has no room for it, and the
/// order page shows the whole message.
fn without_server(error: &str) -> &str {
    match error.strip_prefix("SMTP ").and_then(|rest| rest.split_once(": ")) {
        Some((_, reason)) => reason,
        None => error,
    }
}

/// `text` cut to `max` characters with an ellipsis (the order page shows it whole).
fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_owned(),
    }
}

/// Links to the pages around `page`, keeping the list's other query parameters (`base` is the
/// path with them, ending in `?` or `&`).
#[derive(Debug, Clone, Default)]
pub struct Pager {
    /// The newer page.
    pub newer: Option<String>,
    /// The older page.
    pub older: Option<String>,
}

impl Pager {
    /// The pager of `page`, whose links start with `base`.
    pub fn of<T>(page: &Page<T>, base: &str) -> Pager {
        let link = |key: &str, c: &Cursor| format!("{base}{key}={}", c.encode());
        Pager {
            newer: page.newer.as_ref().map(|c| link("before", c)),
            older: page.older.as_ref().map(|c| link("after", c)),
        }
    }

    /// Whether there is anywhere to go.
    pub fn any(&self) -> bool {
        self.newer.is_some() || self.older.is_some()
    }
}

/// An order as a row of a list.
pub struct OrderRow {
    /// `/dashboard/orders/{id}`.
    pub href: String,
    /// Short reference.
    pub reference: String,
    /// Customer email.
    pub email: String,
    /// Customer name.
    pub name: String,
    /// What was bought.
    pub product: String,
    /// Amount paid.
    pub total: String,
    /// When.
    pub date: String,
    /// Order status.
    pub status: Badge,
    /// Latest email's state.
    pub email_state: Badge,
    /// Why it is not sent yet, and when it is tried again.
    pub email_note: String,
    /// Downloads so far.
    pub downloads: i64,
    /// A test order, marked as such.
    pub test: bool,
}

impl From<OrderSummary> for OrderRow {
    fn from(s: OrderSummary) -> OrderRow {
        let o = s.order;
        let product = match (s.first_product, s.item_count) {
            (Some(name), n) if n > 1 => format!("{name} and {} more", n - 1),
            (Some(name), _) => name,
            (None, _) => String::new(),
        };
        let email_note = match (s.email_status, s.email_error) {
            (Some(EmailStatus::Retrying), Some(error)) => {
                let next = s.email_next_attempt_at.map(when).unwrap_or_default();
                format!("{} (next try {next})", shortened(without_server(&error), 60))
            }
            (Some(EmailStatus::Failed), Some(error)) => shortened(without_server(&error), 80),
            _ => String::new(),
        };
        OrderRow {
            href: format!("/dashboard/orders/{}", o.id),
            reference: order_ref(&o.id),
            email: o.customer_email,
            name: o.customer_name,
            product,
            total: human_price(o.amount_minor, &o.currency),
            date: when(o.created_at),
            status: order_badge(o.status),
            email_state: email_badge(s.email_status),
            email_note,
            downloads: s.downloads,
            test: o.test,
        }
    }
}

/// The list's query string.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// Part of a customer's email.
    #[serde(default)]
    q: String,
    /// `paid`, `refunded`, `revoked` (anything else: all).
    #[serde(default)]
    status: String,
    /// `trouble`: only orders whose email is retrying or failed.
    #[serde(default)]
    email: String,
    /// `live`: real orders only; `test`: test orders only (anything else: both).
    #[serde(default)]
    mode: String,
    after: Option<String>,
    before: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/orders.html")]
struct OrdersPage {
    chrome: Chrome,
    q: String,
    status: String,
    trouble: bool,
    mode: &'static str,
    filtered: bool,
    rows: Vec<OrderRow>,
    show_customer: bool,
    pager: Pager,
    unmatched: Vec<UnmatchedPayment>,
    products: Vec<(String, String)>,
    checkout_hint: bool,
    test_orders: i64,
}

/// `GET /dashboard/orders`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn list(State(state): State<AppState>, user: SignedIn, Query(q): Query<ListQuery>) -> PageResult {
    let page = render_list(&state, &user, q, None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The orders page, with `assign_error` (event id, typed email, message) shown by its payment.
pub(super) async fn render_list(
    state: &AppState,
    user: &SignedIn,
    q: ListQuery,
    assign_error: Option<unmatched::AssignError>,
) -> PageResult<impl Template> {
    let status = OrderStatus::parse("status", q.status.trim()).ok();
    let trouble = q.email == "trouble";
    let (mode, test) = match q.mode.as_str() {
        "live" => ("live", Some(false)),
        "test" => ("test", Some(true)),
        _ => ("", None),
    };
    let search = q.q.trim().to_owned();
    let query = OrderQuery {
        email_contains: Some(search.clone()).filter(|s| !s.is_empty()),
        status,
        email_trouble: trouble,
        customer_id: None,
        test,
        page: PageAt::from_query(q.after.as_deref(), q.before.as_deref()),
    };
    let page = order_list::page(&state.db, &user.merchant.id, &query).await?;
    let mut base = String::from("/dashboard/orders?");
    for (key, value) in [
        ("q", search.as_str()),
        ("status", status.map_or("", OrderStatus::as_str)),
        ("email", &q.email),
        ("mode", mode),
    ] {
        if !value.is_empty() && (key != "email" || trouble) {
            base.push_str(&format!(
                "{key}={}&",
                url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
            ));
        }
    }
    let (unmatched, products) = unmatched::for_list(state, &user.merchant.id, assign_error).await?;
    let test_orders = crate::db::test_data::count(&state.db, &user.merchant.id).await?;
    Ok(OrdersPage {
        chrome: Chrome::new(user, Section::Orders, q.notice.as_deref()),
        filtered: !search.is_empty() || status.is_some() || trouble || test.is_some(),
        mode,
        q: search,
        status: status.map_or_else(String::new, |s| s.as_str().to_owned()),
        trouble,
        pager: Pager::of(&page, &base),
        rows: page.rows.into_iter().map(OrderRow::from).collect(),
        show_customer: true,
        unmatched,
        products,
        checkout_hint: user.merchant.test_mode,
        test_orders,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_and_references_stay_short() {
        assert_eq!(shortened("Connection refused", 10), "Connection…");
        assert_eq!(shortened("héllo", 5), "héllo");
        assert_eq!(without_server("SMTP mail.example:587: Connection refused"), "Connection refused");
        assert_eq!(without_server("writing to the mailbox /x: full"), "writing to the mailbox /x: full");
        assert_eq!(order_ref("01a20efb-fa69-7071-890f-eb0a1f584799"), "EB0A1F584799");
    }
}
