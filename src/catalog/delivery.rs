//! Setting a product's delivery: looking up the files a list names, and saving a checked
//! [`Delivery`] (for future purchases only: past orders keep what they bought).

use super::CatalogError;
use crate::db::DbError;
use crate::db::blobs::{self, Blob};
use crate::db::products::{self, Product};
use crate::domain::{
    CheckedFiles, Delivery, DeliveryError, DeliveryMode, FileProblem, Instructions, Invalid, ListedFile,
    check_listed_files,
};
use crate::state::AppState;

/// A delivery as the API sends it: each part as given, `None` for a part left out, which
/// keeps what the product has (so `{"mode": "external_link"}` switches to the saved link and
/// keeps the saved files for later).
#[derive(Debug, Default)]
pub struct RequestedDelivery<'a> {
    /// `none`, `files` or `external_link`.
    pub mode: &'a str,
    /// (file id, display name) in order; no display name: the uploaded file's name. An empty
    /// list takes every file off the product.
    pub files: Option<Vec<(&'a str, Option<&'a str>)>>,
    /// The external link; `Some(None)` (JSON `null`) takes the link off the product.
    pub external_url: Option<Option<&'a str>>,
    /// Instructions as written.
    pub instructions: Option<&'a str>,
}

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

/// Saves `delivery` as the product's delivery and, when it changes anything, as the product's
/// next release, in one transaction (a save that changes nothing makes no release). A file
/// deleted since it was looked up is refused by the data layer ([`CatalogError::Db`] with a
/// conflict).
#[tracing::instrument(skip(state, delivery))]
pub async fn set_delivery(
    state: &AppState,
    merchant_id: &str,
    product_id: &str,
    delivery: &Delivery,
) -> Result<Product, CatalogError> {
    let (product, release) =
        products::set_delivery(&state.db, merchant_id, product_id, delivery).await.map_err(not_found)?;
    tracing::info!(merchant_id, product_id, mode = delivery.mode().as_str(), release, "product delivery set");
    Ok(product)
}

/// Checks a delivery as the API sends it and saves it, refusing the first problem found, in
/// this order: no such product, the mode, the instructions, an 11th file, each listed file
/// (not uploaded, or a bad display name), then the delivery as a whole. A part left out is
/// the product's saved one.
#[tracing::instrument(skip(state, request))]
pub async fn set_requested_delivery(
    state: &AppState,
    merchant_id: &str,
    product_id: &str,
    request: &RequestedDelivery<'_>,
) -> Result<Product, CatalogError> {
    let saved = products::get(&state.db, merchant_id, product_id).await.map_err(not_found)?;
    let mode = DeliveryMode::parse("mode", request.mode)?;
    let instructions =
        Instructions::parse("instructions", request.instructions.unwrap_or(saved.row.instructions.as_str()))?;
    let files: Vec<(&str, Option<&str>)> = match &request.files {
        Some(files) => files.clone(),
        None => saved.files.iter().map(|f| (f.blob_id.as_str(), Some(f.display_name.as_str()))).collect(),
    };
    Delivery::check_file_count(files.len())?;
    let looked_up = look_up_files(state, merchant_id, &files).await?;
    if let Some((i, problem)) = looked_up.checked.problems.into_iter().next() {
        return Err(match problem {
            FileProblem::Missing => {
                Invalid::new("files", format!("files[{i}].file_id: no file {} was uploaded", files[i].0))
            }
            FileProblem::BadName(invalid) => invalid,
        }
        .into());
    }
    let external_url = request.external_url.unwrap_or(saved.row.external_url.as_deref());
    let delivery = Delivery::new(mode, looked_up.checked.files, external_url, instructions)
        .map_err(|DeliveryError::Invalid(invalid)| invalid)?;
    set_delivery(state, merchant_id, product_id, &delivery).await
}

fn not_found(e: DbError) -> CatalogError {
    match e {
        DbError::NotFound => CatalogError::NotFound("product"),
        e => CatalogError::Db(e),
    }
}
