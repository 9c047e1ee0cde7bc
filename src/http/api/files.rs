//! `/api/v1/files`: streamed uploads (raw body or multipart), list, get, delete.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::doc::DisplayNameText;
use super::time::rfc3339;
use crate::db::blobs::{self as db_blobs, Blob};
pub use crate::http::upload::close_unless_stored;
use crate::http::upload::{declared_length, filename_in_query, keep, receive_parts, receive_raw};
use crate::http::{ApiMerchant, Error, Result};
use crate::state::AppState;

/// An uploaded file.
#[derive(Serialize, ToSchema)]
#[schema(as = File)]
pub struct FileOut {
    id: String,
    filename: String,
    content_type: String,
    size: i64,
    /// SHA-256 of the content, hex.
    sha256: String,
    created_at: String,
}

impl From<Blob> for FileOut {
    fn from(b: Blob) -> FileOut {
        FileOut {
            id: b.id,
            filename: b.filename,
            content_type: b.content_type,
            size: b.size,
            sha256: b.sha256,
            created_at: rfc3339(b.created_at),
        }
    }
}

/// Several uploaded files (multipart upload).
#[derive(Serialize, ToSchema)]
pub struct FilesOut {
    files: Vec<FileOut>,
}

/// Query of a raw upload (read by `filename_in_query`, which refuses names that are not UTF-8).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// File name of a raw body (required then; a multipart body names each part instead).
    #[param(value_type = DisplayNameText, required = true)]
    filename: Option<String>,
}

/// Upload one file as the raw request body (`?filename=…`, `Content-Type` of the file), or
/// several as `multipart/form-data` (each part with a filename). Files stream to storage while
/// hashed; identical content is stored once per merchant. All or nothing: if any part fails,
/// none is kept.
#[utoipa::path(post, path = "/api/v1/files", operation_id = "upload_files", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
                 description = "the file's bytes; or `multipart/form-data`, answered `{\"files\": [File, …]}`"),
    responses((status = 201, body = FileOut, description = "stored (raw body)"),
              (status = 200, body = FileOut, description = "the same content was already stored"),
              (status = 413, description = "over the size limit; nothing stored"),
              (status = 507, description = "no room left on the store's disk; nothing stored"),
              (status = 422, description = "no usable `filename`, a bad `Content-Type`, or an empty file")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
pub async fn upload(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    RawQuery(raw_query): RawQuery,
    request: Request,
) -> Result<Response> {
    let query = UploadQuery { filename: filename_in_query(raw_query.as_deref())? };
    let limit = state.blobs.max_upload_bytes();
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        // A multipart body carries some framing around the files; refuse what cannot fit.
        if declared_length(request.headers()).is_some_and(|len| len > limit.saturating_mul(10).saturating_add(1 << 20))
        {
            return Err(Error::TooLarge { limit });
        }
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| Error::BadRequest { code: "invalid_multipart", message: e.body_text() })?;
        let arrived = receive_parts(&state, multipart).await?;
        let mut files = Vec::with_capacity(arrived.len());
        for part in arrived {
            files.push(keep(&state, &merchant, part).await?.0.into());
        }
        return Ok((StatusCode::CREATED, Json(FilesOut { files })).into_response());
    }
    let (blob, created) = receive_raw(&state, &merchant, query.filename.as_deref(), request).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(FileOut::from(blob))).into_response())
}

/// List uploaded files, newest first.
#[utoipa::path(get, path = "/api/v1/files", operation_id = "list_files", responses((status = 200, body = [FileOut])))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
pub async fn list(State(state): State<AppState>, ApiMerchant(merchant): ApiMerchant) -> Result<Json<Vec<FileOut>>> {
    Ok(Json(db_blobs::list(&state.db, &merchant).await?.into_iter().map(FileOut::from).collect()))
}

/// Get an uploaded file's facts.
#[utoipa::path(get, path = "/api/v1/files/{id}", operation_id = "get_file", params(("id" = String, Path, description = "the file's id")),
    responses((status = 200, body = FileOut), (status = 404, description = "no such file")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, file_id = %id))]
pub async fn get(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<FileOut>> {
    Ok(Json(db_blobs::get(&state.db, &merchant, &id).await.map_err(Error::missing("file"))?.into()))
}

/// Delete an uploaded file; refused (409) while a product or an order still delivers it.
#[utoipa::path(delete, path = "/api/v1/files/{id}", operation_id = "delete_file", params(("id" = String, Path, description = "the file's id")),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such file"),
              (status = 409, description = "a product or an order still delivers it")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, file_id = %id))]
pub async fn delete(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    crate::catalog::delete_file(&state, &merchant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
