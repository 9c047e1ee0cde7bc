//! Offloaded downloads (`[storage.s3] offload = true`): once the link, the policy and the count
//! have let a download through, a `GET` that would be answered with bytes (200 or 206) is
//! answered with a 302 to a presigned URL of the store instead, and the store sends the bytes.
//!
//! `HEAD`, 304, 412 and 416 are still answered here: they carry no bytes, and a presigned GET
//! cannot answer a HEAD (the method is part of its signature).

use axum::http::Method;
use axum::response::Response;

use super::redirect_to;
use crate::blobs::{Blobs, Presented};
use crate::db::orders::OrderFile;
use crate::download_log::DownloadEvent;
use crate::http::ranged::{self, Answer};

/// The redirect answering `answer` to a `method` request for `file` with a presigned URL of the
/// store, with the headers Satchel would have sent (`Content-Disposition`, `Content-Type`).
/// `None` when the answer is Satchel's own: offload is off, the answer has no bytes, or the URL
/// could not be signed (logged; the file is then streamed as without offload).
pub async fn redirect(blobs: &Blobs, method: &Method, answer: &Answer, file: &OrderFile) -> Option<Response> {
    if !blobs.offloads() || method != Method::GET || !matches!(answer, Answer::Full | Answer::Partial { .. }) {
        return None;
    }
    let disposition = ranged::content_disposition(&file.display_name);
    let content_type = ranged::content_type(&file.content_type);
    let presented = Presented {
        // Both are visible ASCII by construction.
        content_disposition: disposition.to_str().unwrap_or("attachment"),
        content_type: content_type.to_str().unwrap_or("application/octet-stream"),
    };
    match blobs.presigned_download(&file.storage_key, file.size as u64, presented).await {
        Ok(url) => url.map(|url| redirect_to(url.as_str())),
        Err(e) => {
            tracing::error!(error = %e, key = %file.storage_key, "could not presign a download; streaming it");
            None
        }
    }
}

/// `event` (logged for a redirect, which has no `Content-Length`) with the bytes the redirect
/// handed over: what `answer` would have sent.
pub fn handed_over(mut event: DownloadEvent, answer: &Answer, file: &OrderFile) -> DownloadEvent {
    event.bytes_requested = answer.bytes(file.size as u64).map_or(0, |range| (range.end - range.start) as i64);
    event
}
