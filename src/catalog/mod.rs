//! The business operations on the merchant's catalog: setting a product's Digital Product
//! Delivery (one operation shared by `PUT /api/v1/products/{id}/delivery` and the dashboard's
//! product form), and deleting an unused uploaded file (`DELETE /api/v1/files/{id}` and the
//! dashboard's files library), and publishing a product's latest release
//! (`POST /api/v1/products/{id}/releases`). Services know nothing of HTTP: they answer
//! [`CatalogError`], which `crate::http` maps to its statuses.

mod delivery;
mod files;
mod releases;

pub use delivery::{LookedUp, RequestedDelivery, look_up_files, set_delivery, set_requested_delivery};
pub use files::delete_file;
pub use releases::{PublishPreview, PublishRequest, preview, publish};

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
    /// An uploaded file is still in a product's file list, an order or a release (rule 2): not deleted.
    #[error("{0}")]
    FileInUse(String),
    /// The request conflicts with the current state (fixed code, message): e.g. publishing a
    /// release that is published already.
    #[error("{1}")]
    Conflict(&'static str, String),
    /// The blob store failed while removing a file's bytes; nothing was deleted.
    #[error("the file store failed: {0}")]
    Store(#[source] object_store::Error),
    /// The data layer failed, or refused (a conflict).
    #[error(transparent)]
    Db(#[from] DbError),
}
