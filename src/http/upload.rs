//! Receiving uploaded files, shared by the JSON API (`POST /api/v1/files`) and the dashboard
//! (`POST /dashboard/uploads`, and its no-JavaScript multipart form): the body streams to the
//! blob store while hashed, never whole in memory, and only a complete file becomes a blob.

use std::time::Duration;

use axum::extract::{Multipart, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::blobs::{Blobs, Staged, UploadError};
use crate::db::blobs::{self as db_blobs, Blob, NewBlob};
use crate::domain::{ContentType, DisplayName, Invalid};
use crate::http::{Error, Result};
use crate::state::AppState;

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
pub struct Arrived {
    staged: Staged,
    filename: DisplayName,
    content_type: ContentType,
}

impl Arrived {
    /// The name it was uploaded under.
    pub fn filename(&self) -> &DisplayName {
        &self.filename
    }
}

/// Receives one file sent as the raw request body: `filename` names it, the `Content-Type`
/// header types it. Refuses a declared length over the limit before reading anything, streams
/// the rest into the store, and keeps it (or finds the same content already kept). Returns the
/// blob and whether it is new.
pub async fn receive_raw(
    state: &AppState,
    merchant: &str,
    filename: Option<&str>,
    request: Request,
) -> Result<(Blob, bool)> {
    let limit = state.blobs.max_upload_bytes();
    if declared_length(request.headers()).is_some_and(|len| len > limit) {
        // A client that asked to wait (`Expect: 100-continue`) has sent nothing yet: answer at
        // once. Any other is sending the body now and only reads the answer once it is done.
        if !expects_continue(request.headers()) {
            drain(request.into_body().into_data_stream()).await;
        }
        return Err(Error::TooLarge { limit });
    }
    let filename = match filename {
        None => {
            return Err(
                Invalid::new("filename", "give the file name as ?filename=… (or upload multipart/form-data)").into()
            );
        }
        Some(name) => DisplayName::parse("filename", name)?,
    };
    let content_type = content_type_of(request.headers())?;
    let mut body = request.into_body().into_data_stream();
    let staged = match state.blobs.stage(&mut body).await {
        // The client may still be sending: read the rest, so it gets to read the answer (413,
        // or 503/507 when the store is down or full).
        Err(e @ (UploadError::TooLarge { .. } | UploadError::Store(_))) => {
            drain(body).await;
            return Err(e.into());
        }
        staged => staged?,
    };
    if staged.size == 0 {
        state.blobs.discard(staged).await;
        return Err(empty_file());
    }
    keep(state, merchant, Arrived { staged, filename, content_type }).await
}

/// The `filename` of a query string (`application/x-www-form-urlencoded`), decoded strictly:
/// bytes that are not UTF-8 once percent-decoded are refused rather than turned into `�`, and
/// so is a second `filename`. `None` when absent.
pub fn filename_in_query(query: Option<&str>) -> Result<Option<String>, Invalid> {
    let mut found = None;
    for pair in query.unwrap_or("").split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(name).as_deref() != Ok("filename") {
            continue;
        }
        if found.is_some() {
            return Err(Invalid::new("filename", "give filename once"));
        }
        let decoded = form_decode(value).map_err(|_| {
            Invalid::new("filename", "is not UTF-8 once percent-decoded: encode the name's UTF-8 bytes (é is %C3%A9)")
        })?;
        found = Some(decoded);
    }
    Ok(found)
}

/// Form decoding: `+` is a space, `%XX` a byte; the bytes must be UTF-8.
fn form_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let spaced = text.replace('+', " ");
    String::from_utf8(percent_encoding::percent_decode_str(&spaced).collect())
}

/// The `Content-Length` a client announced, if any.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
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

/// Stages every file part of `multipart` (a part with a file name; a browser's empty file
/// input sends one with an empty name, which is skipped); on any failure discards those
/// already staged, so the request is all or nothing.
pub async fn receive_parts(state: &AppState, mut multipart: Multipart) -> Result<Vec<Arrived>> {
    let mut arrived: Vec<Arrived> = Vec::new();
    let result = async {
        while let Some(field) = multipart.next_field().await.map_err(|e| Error::BadRequest {
            code: "upload_cut_off",
            message: format!("the multipart body could not be read: {}", e.body_text()),
        })? {
            let Some(filename) = part_filename(field.file_name()) else {
                continue;
            };
            let filename = filename?;
            let content_type = match field.content_type() {
                Some(value) => ContentType::parse("content_type", value)?,
                None => ContentType::octet_stream(),
            };
            let staged = state.blobs.stage(field).await?;
            if staged.size == 0 {
                state.blobs.discard(staged).await;
                return Err(empty_file());
            }
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
            discard_all(state, arrived).await;
            Err(e)
        }
    }
}

/// A file of no bytes is always a mistake (a body that did not arrive, a file not yet written):
/// a customer could never download anything from it.
fn empty_file() -> Error {
    Invalid::new("file", "is empty: send the file's bytes (a file of 0 bytes cannot be delivered)").into()
}

/// The name a multipart part is stored under: `None` for a part that is not a file (no file
/// name, or the empty one of a browser's empty file input), else the checked name.
pub(crate) fn part_filename(file_name: Option<&str>) -> Option<Result<DisplayName, Invalid>> {
    file_name.filter(|n| !n.is_empty()).map(|name| DisplayName::parse("filename", name))
}

/// Drops staged uploads that will not be kept after all.
pub async fn discard_all(state: &AppState, arrived: Vec<Arrived>) {
    for part in arrived {
        state.blobs.discard(part.staged).await;
    }
}

/// Records a staged upload, reusing the existing blob when the content is already stored.
/// Returns the blob and whether it is new.
///
/// The row comes first, the object second: a delete of the same content removes the object
/// only inside the transaction that deletes the row, and the INSERT waits for that transaction,
/// so an object put after the row exists is never removed under it. An existing row whose object
/// is not in place yet (its own upload is still putting it) gets this upload's copy.
pub async fn keep(state: &AppState, merchant: &str, part: Arrived) -> Result<(Blob, bool)> {
    let sha256 = part.staged.sha256.clone();
    let key = Blobs::key_for(merchant, &sha256);
    let new = NewBlob {
        merchant_id: merchant,
        sha256: &sha256,
        size: part.staged.size as i64,
        content_type: part.content_type.as_str(),
        filename: part.filename.as_str(),
        storage_key: &key,
    };
    let (blob, created) = match db_blobs::insert(&state.db, &new).await {
        Ok(found) => found,
        Err(e) => {
            state.blobs.discard(part.staged).await;
            return Err(e.into());
        }
    };
    let in_place = if created { Ok(false) } else { state.blobs.exists(&blob.storage_key).await };
    if !matches!(in_place, Ok(false)) {
        state.blobs.discard(part.staged).await;
        return in_place.map(|_| (blob, false)).map_err(Error::internal);
    }
    if let Err(e) = state.blobs.keep(part.staged, merchant).await {
        if created {
            // Nothing can deliver it yet but another upload of the same bytes, which puts
            // its own copy: if that one holds the row, the row stays (in use), with an object.
            let removed = db_blobs::delete_unused(&state.db, merchant, &blob.id, |_| async { Ok::<_, Error>(()) });
            if let Err(e) = removed.await {
                tracing::warn!(error = %e, id = %blob.id, "could not drop the row of a file whose object failed");
            }
        }
        return Err(Error::internal(e));
    }
    Ok((blob, created))
}

#[cfg(test)]
mod tests {
    use super::filename_in_query;

    #[test]
    fn filename_in_query_is_strict_utf8() {
        let name = |q: &str| filename_in_query(Some(q)).map_err(|e| e.field);
        assert_eq!(filename_in_query(None), Ok(None));
        assert_eq!(name("other=1"), Ok(None));
        assert_eq!(name("filename=a+b%20c.pdf&x=%FF"), Ok(Some("a b c.pdf".into())));
        assert_eq!(name("%66ilename=caf%C3%A9"), Ok(Some("café".into())));
        assert_eq!(name("filename"), Ok(Some(String::new())));
        assert_eq!(name("filename=%EF%BF%BD"), Ok(Some("\u{fffd}".into())));
        assert_eq!(name("filename=%FF%FE.bin"), Err("filename"));
        assert_eq!(name("filename=%C3"), Err("filename"));
        assert_eq!(name("filename=a&filename=a"), Err("filename"));
    }
}
