//! The business operations on the merchant's catalog. Today: setting a product's Digital
//! Product Delivery, one operation shared by `PUT /api/v1/products/{id}/delivery` and the
//! dashboard's product form. Services know nothing of HTTP: they answer [`CatalogError`],
//! which `crate::http` maps to its statuses.

mod delivery;

pub use delivery::{LookedUp, RequestedDelivery, look_up_files, set_delivery, set_requested_delivery};

use crate::db::DbError;
use crate::domain::Invalid;

/// Why a catalog operation was refused, or failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No such thing for this merchant (`"product"`).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// An input is invalid.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The data layer failed, or refused (a conflict).
    #[error(transparent)]
    Db(#[from] DbError),
}
