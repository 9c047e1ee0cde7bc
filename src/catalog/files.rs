//! Deleting an uploaded file the shop no longer uses: the one operation behind
//! `DELETE /api/v1/files/{id}` and the dashboard's files library.

use super::CatalogError;
use crate::db::DbError;
use crate::db::blobs::{self, Blob};
use crate::state::AppState;

/// Deletes `merchant_id`'s uploaded file `file_id`: its row and its bytes, only while no
/// product's file list, no order and no release holds it (the blob reference rules, decisions.md
/// "Files" and "Releases").
/// The check and the delete are [`blobs::delete_unused`]'s: the row goes in a transaction that
/// commits only once the bytes are gone, and the foreign keys refuse it should a product save
/// or a purchase add the file in between; such a save waits for this one and then fails, so no
/// product or order can ever point at deleted bytes.
#[tracing::instrument(skip(state))]
pub async fn delete_file(state: &AppState, merchant_id: &str, file_id: &str) -> Result<Blob, CatalogError> {
    let store = &state.blobs;
    let remove = |blob: Blob| async move { store.delete(&blob.storage_key).await };
    let deleted = blobs::delete_unused(&state.db, merchant_id, file_id, remove).await.map_err(|e| match e {
        DbError::Conflict(message) => CatalogError::FileInUse(message),
        DbError::NotFound => CatalogError::NotFound("file"),
        e => CatalogError::Db(e),
    })?;
    let blob = deleted.map_err(CatalogError::Store)?;
    tracing::info!(merchant_id, file_id, size = blob.size, "uploaded file deleted");
    Ok(blob)
}
