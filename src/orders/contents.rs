//! What an order delivers, product by product, with the links to each file and external link:
//! one view for the delivery page, the purchase email and the customer portal.

use crate::db::orders::OrderDetail;
use crate::domain::{DeliveryMode, human_size};

/// A product of an order as the customer sees it.
#[derive(Debug, Clone)]
pub struct DeliveredItem {
    /// Product name at payment.
    pub name: String,
    /// Quantity.
    pub quantity: i64,
    /// Its files with their links.
    pub files: Vec<DeliveredFile>,
    /// `{base}/link/{n}` for an external link.
    pub link_url: Option<String>,
    /// Instructions as the merchant wrote them.
    pub instructions: String,
}

/// A file of an order as the customer sees it.
#[derive(Debug, Clone)]
pub struct DeliveredFile {
    /// Display name.
    pub name: String,
    /// Human size.
    pub size: String,
    /// `{base}/files/{n}`.
    pub url: String,
}

impl DeliveredItem {
    /// The instructions' non-empty lines (for email clients, which do not keep white space).
    pub fn instruction_lines(&self) -> Vec<&str> {
        self.instructions.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect()
    }
}

/// What a link on a delivery page, email or portal page opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveredLink {
    /// The order's file at this position.
    File(i64),
    /// The external link of the order's item at this position.
    External(i64),
}

/// The products of `detail`, with links under `base` (`/d/{token}`, relative or absolute).
pub fn delivered_items(detail: &OrderDetail, base: &str) -> Vec<DeliveredItem> {
    delivered_items_with(detail, |link| match link {
        DeliveredLink::File(n) => format!("{base}/files/{n}"),
        DeliveredLink::External(n) => format!("{base}/link/{n}"),
    })
}

/// The products of `detail`, with each link made by `url_of` (the portal signs them).
pub fn delivered_items_with(detail: &OrderDetail, url_of: impl Fn(DeliveredLink) -> String) -> Vec<DeliveredItem> {
    detail
        .items
        .iter()
        .map(|item| DeliveredItem {
            name: item.product_name.clone(),
            quantity: item.quantity,
            files: detail
                .files_of(item.position)
                .map(|f| DeliveredFile {
                    name: f.display_name.clone(),
                    size: human_size(f.size),
                    url: url_of(DeliveredLink::File(f.position)),
                })
                .collect(),
            link_url: (item.delivery_mode == DeliveryMode::ExternalLink && item.external_url.is_some())
                .then(|| url_of(DeliveredLink::External(item.position))),
            instructions: item.instructions.clone(),
        })
        .collect()
}
