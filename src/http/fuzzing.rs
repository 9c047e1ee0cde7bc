//! Entry points for the fuzz targets in `fuzz/` that are not public API otherwise.

use serde::Deserialize;

#[derive(Deserialize)]
struct UploadQuery {
    filename: Option<String>,
}

/// The `filename` a raw upload's query string names, decoded as `POST /api/v1/files` decodes
/// it (`None` when the query cannot be read or names none).
pub fn upload_filename(uri: &http::Uri) -> Option<String> {
    axum::extract::Query::<UploadQuery>::try_from_uri(uri).ok().and_then(|q| q.0.filename)
}
