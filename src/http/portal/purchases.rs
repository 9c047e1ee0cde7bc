//! `GET /portal/{merchant}`: the customer's purchases from the shop, newest first, 20 a page;
//! the sign-in form when signed out.

use crate::domain::ShopBrand;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::sign_in::sign_in_form;
use super::{home_of, session_of, shop, signed_url};
use crate::db::merchants::Merchant;
use crate::db::orders::OrderDetail;
use crate::db::portal::{self, PageStart};
use crate::db::releases::{self, OwnedRelease};
use crate::domain::{OrderStatus, PortalTarget, human_date, human_price, human_size};
use crate::http::pages::render;
use crate::http::{PageError, PageResult};
use crate::orders::contents::{DeliveredFile, DeliveredItem, DeliveredLink, delivered_items_with};
use crate::orders::versions::{ItemVersions, item_versions, latest_only};
use crate::state::AppState;

/// Purchases on one page.
pub const PAGE_SIZE: usize = 20;

/// One order as the customer sees it in the portal.
pub struct Purchase {
    /// Short order reference, as in the purchase email.
    pub reference: String,
    /// Payment date.
    pub paid_on: String,
    /// Amount paid.
    pub total: String,
    /// Refunded (still downloadable unless revoked).
    pub refunded: bool,
    /// Access taken back by the shop: shown, with no links.
    pub revoked: bool,
    /// Products, with signed links, each with its releases.
    pub items: Vec<PurchaseItem>,
    /// Signed "download all" link, for orders of two files or more.
    pub zip_url: Option<String>,
    /// Files in the order and their total size, for the "download all" button.
    pub zip_label: String,
    /// A test order (placed in test mode, nothing paid), marked as such.
    pub test: bool,
}

/// A product of an order in the portal: its link and instructions, and its releases with their
/// files.
pub struct PurchaseItem {
    /// Name, quantity, link, instructions.
    pub item: DeliveredItem,
    /// The latest release the order owns and the earlier ones, with signed file links.
    pub versions: ItemVersions<DeliveredFile>,
}

impl Purchase {
    fn of(state: &AppState, merchant: &Merchant, detail: &OrderDetail, owned: &[OwnedRelease]) -> Purchase {
        let order = &detail.order;
        let status = order.status;
        let revoked = status == OrderStatus::Revoked;
        // Names only on a revoked order: it shows what it was, and no way to download it.
        let url_of = |link| match link {
            _ if revoked => String::new(),
            DeliveredLink::File(n) => signed_url(state, merchant, &order.id, PortalTarget::File(n)),
            DeliveredLink::External(n) => signed_url(state, merchant, &order.id, PortalTarget::Link(n)),
        };
        let items = delivered_items_with(detail, url_of)
            .into_iter()
            .zip(&detail.items)
            .map(|(item, ordered)| PurchaseItem {
                item,
                versions: item_versions(detail, owned, ordered.position, |f| DeliveredFile {
                    name: f.display_name.clone(),
                    size: human_size(f.size),
                    url: url_of(DeliveredLink::File(f.position)),
                }),
            })
            .collect();
        // "Download all" takes each item's latest release.
        let zipped = latest_only(detail, owned).files;
        let total_size: i64 = zipped.iter().map(|f| f.size).sum();
        Purchase {
            reference: order.id.rsplit('-').next().unwrap_or(&order.id).to_uppercase(),
            paid_on: human_date(order.created_at),
            total: human_price(order.amount_minor, &order.currency),
            refunded: status == OrderStatus::Refunded,
            revoked,
            items,
            zip_url: (!revoked && zipped.len() > 1).then(|| signed_url(state, merchant, &order.id, PortalTarget::Zip)),
            zip_label: format!("{} files, {}", zipped.len(), human_size(total_size)),
            test: order.test,
        }
    }
}

#[derive(Template)]
#[template(path = "portal/purchases.html")]
struct PurchasesPage<'a> {
    merchant: &'a str,
    brand: ShopBrand,
    email: &'a str,
    purchases: Vec<Purchase>,
    home: String,
    older_href: Option<String>,
    paged: bool,
}

/// `?before={created_at}.{id}`: the page after that order.
#[derive(Deserialize)]
pub struct PageQuery {
    before: Option<String>,
}

fn parse_start(raw: &str) -> Option<PageStart> {
    let (at, id) = raw.split_once('.')?;
    Some(PageStart { created_at: at.parse().ok()?, id: id.to_owned() })
}

/// `GET /portal/{merchant}`
#[tracing::instrument(skip_all, fields(merchant_id = tracing::field::Empty))]
pub async fn home(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
    jar: CookieJar,
) -> PageResult {
    let merchant = shop(&state, &slug).await?;
    let customer = match session_of(&state, &jar, &merchant).await? {
        Some(session) => {
            portal::customer(&state.db, &merchant.id, &session.subject_id).await.map_err(PageError::internal)?
        }
        None => None,
    };
    let Some(customer) = customer else {
        return Ok(sign_in_form(&state, jar, &merchant));
    };
    let start = query.before.as_deref().and_then(parse_start);
    let page = portal::purchases(&state.db, &merchant.id, &customer.id, start.as_ref(), PAGE_SIZE as i64 + 1).await;
    let mut details = page.map_err(PageError::internal)?;
    let more = details.len() > PAGE_SIZE;
    details.truncate(PAGE_SIZE);
    let ids: Vec<&str> = details.iter().map(|d| d.order.id.as_str()).collect();
    let owned = releases::owned_by(&state.db, &ids).await.map_err(PageError::internal)?;
    let home = home_of(&merchant);
    let older_href = details
        .last()
        .filter(|_| more)
        .map(|last| format!("{home}?before={}.{}", last.order.created_at, last.order.id));
    let page = PurchasesPage {
        merchant: &merchant.name,
        brand: merchant.brand(""),
        email: &customer.email,
        purchases: details.iter().map(|d| Purchase::of(&state, &merchant, d, &owned)).collect(),
        home,
        older_href,
        paged: start.is_some(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_starts_read_time_and_id() {
        let start = parse_start("1712345678901.0192-abc").unwrap();
        assert_eq!(start, PageStart { created_at: 1_712_345_678_901, id: "0192-abc".into() });
        assert!(parse_start("x.0192").is_none());
        assert!(parse_start("1712345678901").is_none());
    }
}
