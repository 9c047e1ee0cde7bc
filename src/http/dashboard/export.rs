//! `GET /dashboard/orders.csv` and `GET /dashboard/customers.csv`: every order or customer of
//! the shop as CSV, streamed a page at a time (however many there are, memory stays flat).
//! Every text cell goes through [`csv_cell`], so no cell starts a spreadsheet formula.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::stream::{self, Stream};

use super::SignedIn;
use super::orders::order_ref;
use crate::db::customers::{self, Customer};
use crate::db::order_list::{self, OrderQuery, OrderSummary};
use crate::db::page::{Page, PageAt};
use crate::db::{Db, DbError};
use crate::domain::{Price, csv_cell, csv_time};
use crate::state::AppState;

/// The orders export's header row.
pub const ORDER_HEADER: [&str; 13] = [
    "order_id",
    "reference",
    "created_at",
    "customer_email",
    "customer_name",
    "products",
    "amount",
    "currency",
    "status",
    "test",
    "provider",
    "payment_id",
    "downloads",
];

/// The customers export's header row.
pub const CUSTOMER_HEADER: [&str; 8] =
    ["customer_id", "email", "name", "orders", "test_orders", "spent", "first_order_at", "last_order_at"];

/// `GET /dashboard/orders.csv`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn orders(State(state): State<AppState>, user: SignedIn) -> Response {
    let merchant = user.merchant.id.clone();
    let pages = paged(state.db.clone(), merchant, &ORDER_HEADER, |db, merchant, at| async move {
        let page = order_list::page(&db, &merchant, &OrderQuery { page: at, ..OrderQuery::default() }).await?;
        let rows = page.rows.iter().map(order_record).collect();
        Ok((rows, next(&page)))
    });
    csv_response(&user, "orders", pages)
}

/// `GET /dashboard/customers.csv`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn customers(State(state): State<AppState>, user: SignedIn) -> Response {
    let merchant = user.merchant.id.clone();
    let pages = paged(state.db.clone(), merchant, &CUSTOMER_HEADER, |db, merchant, at| async move {
        let page = customers::page(&db, &merchant, None, &at).await?;
        let ids: Vec<&str> = page.rows.iter().map(|c| c.id.as_str()).collect();
        let spent = customers::spent(&db, &merchant, &ids).await?;
        let rows = page
            .rows
            .iter()
            .map(|c| {
                let mine = spent.iter().filter(|s| s.customer_id == c.id);
                let text: Vec<String> = mine
                    .map(|s| format!("{} {}", Price::amount_text(s.amount_minor, &s.currency), s.currency))
                    .collect();
                customer_record(c, &text.join("; "))
            })
            .collect();
        Ok((rows, next(&page)))
    });
    csv_response(&user, "customers", pages)
}

/// The next page after `page`, if there is one.
fn next<T>(page: &Page<T>) -> Option<PageAt> {
    page.older.clone().map(PageAt::After)
}

fn order_record(s: &OrderSummary) -> Vec<String> {
    let o = &s.order;
    let products = match (&s.first_product, s.item_count) {
        (Some(name), n) if n > 1 => format!("{name} and {} more", n - 1),
        (Some(name), _) => name.clone(),
        (None, _) => String::new(),
    };
    vec![
        o.id.clone(),
        order_ref(&o.id),
        csv_time(o.created_at),
        o.customer_email.clone(),
        o.customer_name.clone(),
        products,
        Price::amount_text(o.amount_minor, &o.currency),
        o.currency.clone(),
        o.status.to_string(),
        o.test.to_string(),
        o.provider.to_string(),
        o.payment_id.clone(),
        s.downloads.to_string(),
    ]
}

fn customer_record(c: &Customer, spent: &str) -> Vec<String> {
    vec![
        c.id.clone(),
        c.email.clone(),
        c.name.clone(),
        c.orders.to_string(),
        c.test_orders.to_string(),
        spent.to_owned(),
        csv_time(c.created_at),
        csv_time(c.last_order_at),
    ]
}

/// CSV text of `rows` (and the header first, when given), every cell made formula-safe.
fn encode(header: Option<&[&str]>, rows: &[Vec<String>]) -> Result<Bytes, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if let Some(header) = header {
        writer.write_record(header)?;
    }
    for row in rows {
        writer.write_record(row.iter().map(|cell| csv_cell(cell).into_owned()))?;
    }
    writer.into_inner().map(Bytes::from).map_err(|e| csv::Error::from(e.into_error()))
}

/// A stream of CSV chunks: the header, then one chunk per page fetched by `fetch`.
fn paged<F, Fut>(
    db: Db,
    merchant: String,
    header: &'static [&'static str],
    fetch: F,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static
where
    F: Fn(Db, String, PageAt) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(Vec<Vec<String>>, Option<PageAt>), DbError>> + Send,
{
    let first = Some((PageAt::from_query(None, None), true));
    stream::unfold((first, db, merchant, fetch), move |(at, db, merchant, fetch)| async move {
        let (at, with_header) = at?;
        let chunk = match fetch(db.clone(), merchant.clone(), at).await {
            Ok((rows, next)) => match encode(with_header.then_some(header), &rows) {
                Ok(bytes) => Ok((bytes, next.map(|n| (n, false)))),
                Err(e) => Err(std::io::Error::other(e)),
            },
            Err(e) => {
                // The answer has started: cutting it short is the only way left to say so.
                tracing::error!(error = %e, "CSV export stopped: the database failed");
                Err(std::io::Error::other(e))
            }
        };
        match chunk {
            Ok((bytes, next)) => Some((Ok(bytes), (next, db, merchant, fetch))),
            Err(e) => Some((Err(e), (None, db, merchant, fetch))),
        }
    })
}

fn csv_response(
    user: &SignedIn,
    what: &str,
    chunks: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> Response {
    let mut response = Response::new(Body::from_stream(chunks));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    // The slug is lowercase letters, digits and dashes, so the name needs no quoting rules.
    let name = format!("attachment; filename=\"{}-{what}.csv\"", user.merchant.slug);
    if let Ok(value) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formula_safe() {
        let rows = vec![vec!["=1+1".to_owned(), "Ada, \"the\" first".to_owned(), "-3".to_owned()]];
        let bytes = encode(Some(&["a", "b", "c"]), &rows).unwrap();
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), "a,b,c\n'=1+1,\"Ada, \"\"the\"\" first\",'-3\n");
    }
}
