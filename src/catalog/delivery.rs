//! Setting a product's delivery: looking up the files a list names, and saving a checked
//! [`Delivery`] (for future purchases only: past orders keep what they bought).

use super::CatalogError;
use crate::app::AppState;
use crate::db::DbError;
use crate::db::blobs::{self, Blob};
use crate::db::products::{self, Product};
use crate::domain::{CheckedFiles, Delivery, ListedFile, check_listed_files};

/// A file list once looked up: each row's uploaded file (None when missing), and the check.
#[derive(Debug)]
pub struct LookedUp {
    /// Each row's uploaded file, in order.
    pub blobs: Vec<Option<Blob>>,
    /// The list checked by the domain's rules.
    pub checked: CheckedFiles,
}

/// Looks up the merchant's uploaded files a list names, `(file id, display name)` in order
/// (no display name: the uploaded file's name), and checks the list.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, files = rows.len()))]
pub async fn look_up_files(
    state: &AppState,
    merchant_id: &str,
    rows: &[(&str, Option<&str>)],
) -> Result<LookedUp, CatalogError> {
    let mut found = Vec::with_capacity(rows.len());
    for (file_id, _) in rows {
        found.push(match blobs::get(&state.db, merchant_id, file_id).await {
            Ok(blob) => Some(blob),
            Err(DbError::NotFound) => None,
            Err(e) => return Err(e.into()),
        });
    }
    let listed = found.iter().zip(rows).map(|(blob, (_, name))| match blob {
        None => ListedFile::Missing,
        Some(blob) => ListedFile::Found { file_id: blob.id.clone(), display_name: name.unwrap_or(&blob.filename) },
    });
    let checked = check_listed_files(listed);
    Ok(LookedUp { blobs: found, checked })
}

/// Saves `delivery` as the product's delivery. A file deleted since it was looked up is
/// refused by the data layer ([`CatalogError::Db`] with a conflict).
#[tracing::instrument(skip(state, delivery))]
pub async fn set_delivery(
    state: &AppState,
    merchant_id: &str,
    product_id: &str,
    delivery: &Delivery,
) -> Result<Product, CatalogError> {
    let product = products::set_delivery(&state.db, merchant_id, product_id, delivery).await.map_err(|e| match e {
        DbError::NotFound => CatalogError::NotFound("product"),
        e => CatalogError::Db(e),
    })?;
    tracing::info!(merchant_id, product_id, mode = delivery.mode().as_str(), "product delivery set");
    Ok(product)
}
