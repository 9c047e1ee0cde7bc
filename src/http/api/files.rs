//! `/api/v1/files`: streamed uploads (raw body or multipart), list, get, delete.

use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::time::rfc3339;
use crate::app::AppState;
use crate::blobs::{Staged, UploadError};
use crate::db::DbError;
use crate::db::blobs::{self as db_blobs, Blob, NewBlob};
use crate::domain::{ContentType, DisplayName, Invalid};
use crate::http::{ApiMerchant, Error, Result};

/// An uploaded file.
#[derive(Serialize, ToSchema)]
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

/// Query of a raw upload.
#[derive(Deserialize, IntoParams)]
pub struct UploadQuery {
    /// File name for a raw (non-multipart) body.
    filename: Option<String>,
}

impl From<UploadError> for Error {
    fn from(e: UploadError) -> Error {
        match e {
            UploadError::TooLarge { limit } => Error::TooLarge { limit },
            UploadError::CutOff(reason) => {
                Error::BadRequest { code: "upload_cut_off", message: format!("the upload was cut off: {reason}") }
            }
            UploadError::Store(e) => Error::internal(e),
        }
    }
}

/// A staged upload and what it should be recorded as.
struct Arrived {
    staged: Staged,
    filename: DisplayName,
    content_type: ContentType,
}

/// Upload one file as the raw request body (`?filename=…`, `Content-Type` of the file), or
/// several as `multipart/form-data` (each part with a filename). Files stream to storage while
/// hashed; identical content is stored once per merchant. All or nothing: if any part fails,
/// none is kept.
#[utoipa::path(post, path = "/api/v1/files", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileOut, description = "stored (raw body)"),
              (status = 200, body = FileOut, description = "the same content was already stored"),
              (status = 413, description = "over the size limit; nothing stored")))]
pub async fn upload(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Query(query): Query<UploadQuery>,
    request: Request,
) -> Result<Response> {
    let limit = state.blobs.max_upload_bytes();
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        // A multipart body carries some framing around the files; refuse what cannot fit.
        if declared.is_some_and(|len| len > limit.saturating_mul(10).saturating_add(1 << 20)) {
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
    if declared.is_some_and(|len| len > limit) {
        // A client that asked to wait (`Expect: 100-continue`) has sent nothing yet: answer at
        // once. Any other is sending the body now and only reads the answer once it is done.
        if !expects_continue(request.headers()) {
            drain(request.into_body().into_data_stream()).await;
        }
        return Err(Error::TooLarge { limit });
    }
    let filename = DisplayName::parse("filename", query.filename.as_deref().unwrap_or(""))
        .map_err(|_| Invalid::new("filename", "give the file name as ?filename=… (or upload multipart/form-data)"))?;
    let content_type = content_type_of(request.headers())?;
    let mut body = request.into_body().into_data_stream();
    let staged = match state.blobs.stage(&mut body).await {
        Err(UploadError::TooLarge { limit }) => {
            drain(body).await;
            return Err(Error::TooLarge { limit });
        }
        staged => staged?,
    };
    let (blob, created) = keep(&state, &merchant, Arrived { staged, filename, content_type }).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(FileOut::from(blob))).into_response())
}

/// How much of a refused upload is read and thrown away, at most, before answering.
const DRAIN_BYTES: u64 = 64 * 1024 * 1024;
/// How long a refused upload is read and thrown away, at most, before answering.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Reads and discards the rest of a refused upload (within [`DRAIN_BYTES`] and [`DRAIN_TIME`]),
/// so that a client still sending it gets to read the answer. Answering while the client is
/// still sending and then closing the connection resets it: the client sees a broken pipe
/// instead of the 413 (a "lingering close", as nginx does it).
async fn drain<S, E>(body: S)
where
    S: Stream<Item = Result<Bytes, E>>,
{
    let discard = async {
        let mut body = std::pin::pin!(body);
        let mut read = 0u64;
        while let Some(Ok(chunk)) = body.next().await {
            read += chunk.len() as u64;
            if read > DRAIN_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers.get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Every answer to an upload but success closes the connection: the upload's body may not have
/// been read to its end, and the server drops such a connection after answering. Without
/// `Connection: close` a client would send its next request on it and see it fail.
pub async fn close_unless_stored(mut response: Response) -> Response {
    if !response.status().is_success() {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn content_type_of(headers: &HeaderMap) -> Result<ContentType, Invalid> {
    match headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) {
        None => Ok(ContentType::octet_stream()),
        Some(Ok(value)) => ContentType::parse("content_type", value),
        Some(Err(_)) => Err(Invalid::new("content_type", "must be a media type like application/pdf")),
    }
}

/// Stages every file part; on any failure discards those already staged.
async fn receive_parts(state: &AppState, mut multipart: Multipart) -> Result<Vec<Arrived>> {
    let mut arrived: Vec<Arrived> = Vec::new();
    let result = async {
        while let Some(field) = multipart.next_field().await.map_err(|e| Error::BadRequest {
            code: "upload_cut_off",
            message: format!("the multipart body could not be read: {}", e.body_text()),
        })? {
            let Some(name) = field.file_name().map(str::to_owned) else {
                continue;
            };
            let filename = DisplayName::parse("filename", &name)?;
            let content_type = match field.content_type() {
                Some(value) => ContentType::parse("content_type", value)?,
                None => ContentType::octet_stream(),
            };
            let staged = state.blobs.stage(field).await?;
            arrived.push(Arrived { staged, filename, content_type });
        }
        if arrived.is_empty() {
            return Err(Invalid::new("file", "the multipart body holds no file part (a part with a filename)").into());
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(arrived),
        Err(e) => {
            for part in arrived {
                state.blobs.discard(part.staged).await;
            }
            Err(e)
        }
    }
}

/// Records a staged upload, reusing the existing blob when the content is already stored.
/// Returns the blob and whether it is new.
async fn keep(state: &AppState, merchant: &str, part: Arrived) -> Result<(Blob, bool)> {
    if let Some(existing) = db_blobs::find_by_sha256(&state.db, merchant, &part.staged.sha256).await? {
        state.blobs.discard(part.staged).await;
        return Ok((existing, false));
    }
    let sha256 = part.staged.sha256.clone();
    let size = part.staged.size as i64;
    let key = state.blobs.keep(part.staged, merchant).await.map_err(Error::internal)?;
    let new = NewBlob {
        merchant_id: merchant,
        sha256: &sha256,
        size,
        content_type: part.content_type.as_str(),
        filename: part.filename.as_str(),
        storage_key: &key,
    };
    Ok((db_blobs::insert(&state.db, &new).await?, true))
}

/// List uploaded files, newest first.
#[utoipa::path(get, path = "/api/v1/files", responses((status = 200, body = [FileOut])))]
pub async fn list(State(state): State<AppState>, ApiMerchant(merchant): ApiMerchant) -> Result<Json<Vec<FileOut>>> {
    Ok(Json(db_blobs::list(&state.db, &merchant).await?.into_iter().map(FileOut::from).collect()))
}

/// Get an uploaded file's facts.
#[utoipa::path(get, path = "/api/v1/files/{id}", responses((status = 200, body = FileOut), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<FileOut>> {
    Ok(Json(db_blobs::get(&state.db, &merchant, &id).await.map_err(Error::missing("file"))?.into()))
}

/// Delete an uploaded file; refused (409) while a product or an order still delivers it.
#[utoipa::path(delete, path = "/api/v1/files/{id}", responses((status = 204), (status = 404), (status = 409)))]
pub async fn delete(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let blob = db_blobs::delete_unused(&state.db, &merchant, &id).await.map_err(|e| match e {
        DbError::Conflict(message) => Error::conflict("file_in_use", message),
        e => Error::missing("file")(e),
    })?;
    state.blobs.delete(&blob.storage_key).await.map_err(Error::internal)?;
    Ok(StatusCode::NO_CONTENT)
}
