//! `GET /d/{token}`: the customer's delivery page: what the order delivers, its reference and
//! total, where its email went (masked: the page is open to anyone holding the link), the
//! downloads left on a capped order, where each external link goes, and "Download all".

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tracing::field::Empty;

use super::open;
use crate::db::orders::OrderDetail;
use crate::db::releases::{self, OwnedRelease};
use crate::db::{caps, merchants};
use crate::domain::ShopBrand;
use crate::domain::{DeliveryMode, human_date, human_date_time, human_price, human_size, masked_email};
use crate::http::pages::render;
use crate::http::{PageError, PageResult};
use crate::orders::versions::{ItemVersions, item_versions, latest_only};
use crate::state::AppState;

/// A file as the delivery page shows it.
struct PageFile {
    name: String,
    size: String,
    url: String,
    /// "2 of 3 downloads left" on a capped order.
    left: Option<String>,
    /// No download left through this link (the portal still has it).
    used_up: bool,
}

/// A product as the delivery page shows it.
struct PageItem {
    name: String,
    quantity: i64,
    /// Its releases, each with its files.
    versions: ItemVersions<PageFile>,
    /// The redirect through Satchel, and the host it leads to.
    link: Option<(String, String)>,
    instructions: String,
}

#[derive(Template)]
#[template(path = "delivery/page.html")]
struct DeliveryPage {
    merchant: String,
    brand: ShopBrand,
    reference: String,
    total: String,
    emailed_to: String,
    paid_on: String,
    expires_on: Option<String>,
    items: Vec<PageItem>,
    /// "Download all": the ZIP's URL and "3 files, 4.2 MB".
    zip: Option<(String, String)>,
    portal_href: String,
}

/// The host an external link leads to, as the customer should see it before clicking.
fn host_of(url: &str) -> String {
    url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "another site".into())
}

/// `GET /d/{token}`: what the order delivers.
#[tracing::instrument(skip_all, fields(order_id = Empty))]
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> PageResult {
    let detail = open(&state, &token).await?;
    let o = &detail.order;
    let merchant = merchants::get(&state.db, &o.merchant_id).await.map_err(PageError::internal)?;
    // Counts of a capped order are read fresh: the cached order may be a download behind.
    let counts = match o.max_downloads_per_file {
        Some(_) => caps::counts(&state.db, &o.id).await.map_err(PageError::internal)?,
        None => Vec::new(),
    };
    let owned = releases::owned_by(&state.db, &[o.id.as_str()]).await.map_err(PageError::internal)?;
    let items = items_of(&detail, &owned, &format!("/d/{token}"), &counts);
    // "Download all" takes each item's latest release: offered when those files have a
    // download left (it counts one of each).
    let zipped = latest_only(&detail, &owned).files;
    let all_left = items.iter().flat_map(|i| &i.versions.latest.files).all(|f| !f.used_up);
    let total_size: i64 = zipped.iter().map(|f| f.size).sum();
    let page = DeliveryPage {
        brand: merchant.brand(""),
        merchant: merchant.name,
        reference: o.id.rsplit('-').next().unwrap_or(&o.id).to_uppercase(),
        total: human_price(o.amount_minor, &o.currency),
        emailed_to: masked_email(&o.customer_email),
        paid_on: human_date(o.created_at),
        expires_on: o.link_expires_at.map(human_date_time),
        items,
        zip: (zipped.len() > 1 && all_left)
            .then(|| (format!("/d/{token}/zip"), format!("{} files, {}", zipped.len(), human_size(total_size)))),
        portal_href: format!("/portal/{}", merchant.slug),
    };
    Ok(render(StatusCode::OK, &page))
}

fn items_of(detail: &OrderDetail, owned: &[OwnedRelease], base: &str, counts: &[(i64, i64)]) -> Vec<PageItem> {
    let max = detail.order.max_downloads_per_file;
    detail
        .items
        .iter()
        .map(|item| PageItem {
            name: item.product_name.clone(),
            quantity: item.quantity,
            versions: item_versions(detail, owned, item.position, |f| {
                let count = counts.iter().find(|(p, _)| *p == f.position).map_or(f.download_count, |(_, c)| *c);
                let left = max.map(|max| (max - count).max(0));
                PageFile {
                    name: f.display_name.clone(),
                    size: human_size(f.size),
                    url: format!("{base}/files/{}", f.position),
                    left: left.zip(max).map(|(left, max)| match left {
                        0 => "No downloads left".to_owned(),
                        1 => format!("1 of {max} downloads left"),
                        n => format!("{n} of {max} downloads left"),
                    }),
                    used_up: left == Some(0),
                }
            }),
            link: match (&item.delivery_mode, &item.external_url) {
                (DeliveryMode::ExternalLink, Some(url)) => {
                    Some((format!("{base}/link/{}", item.position), host_of(url)))
                }
                _ => None,
            },
            instructions: item.instructions.clone(),
        })
        .collect()
}
