//! `GET|HEAD /d/{token}/files/{n}`: streams a file like a good static file server (ranges,
//! ETag, conditional requests), applying the order's download policy and logging every try,
//! refused ones included.
//! With storage offload, the bytes come from the store through a redirect ([`super::offload`]).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{admit, cap, find, offload, refused};
use crate::blobs::Blobs;
use crate::db::orders::OrderFile;
use crate::domain::{Millis, now_millis};
use crate::download_log::DownloadEvent;
use crate::http::ranged::{self, Answer, ServedFile};
use crate::http::{PageError, PageResult};
use crate::state::AppState;

/// The client's address and user agent, for the download log.
pub fn client_of(request: &Request) -> (String, String) {
    let ip = request.extensions().get::<crate::http::client::ClientIp>().map(|c| c.0.clone()).unwrap_or_default();
    let agent = request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    (ip, agent.chars().take(512).collect())
}

/// `GET|HEAD /d/{token}/files/{n}`
#[tracing::instrument(skip_all, fields(order_id = tracing::field::Empty, n = n))]
pub async fn download(
    State(state): State<AppState>,
    Path((token, n)): Path<(String, i64)>,
    request: Request,
) -> PageResult {
    let detail = find(&state, &token).await?;
    let file = detail.files.iter().find(|f| f.position == n).ok_or(PageError::LinkNotFound)?;
    let answer = ranged::decide(request.headers(), &served(file, detail.order.created_at));
    let admitted = match admit(&state, &detail).await {
        Ok(()) => cap::admit(&state.db, &detail.order, file, request.method(), &answer).await,
        Err(error) => Err(error),
    };
    let admitted = match admitted {
        Ok(admitted) => admitted,
        // A refusal is logged with its answer; a failure (5xx) is logged as an error instead.
        Err(error) if error.status().is_client_error() => {
            let at = (Some(file.position), Some(file.item_position));
            return Err(refused(&state, &detail.order.id, at, client_of(&request), error).await);
        }
        Err(error) => return Err(error),
    };
    let (counted, increment) = (admitted.counted, admitted.increment);
    if counted {
        crate::sharing::counted(&state, &detail, &client_of(&request)).await;
    }
    // Offloaded, the bytes never pass here: a range charged to the allowance keeps its charge.
    if let Some(redirect) = offload::redirect(&state.blobs, request.method(), &answer, file).await {
        let event = file_event(&request, &detail.order.id, file, &answer, &redirect, counted, increment);
        state.downloads.record(offload::handed_over(event, &answer, file)).await;
        return Ok(redirect);
    }
    let mut response = serve_file(&state.blobs, request.method(), &answer, file, detail.order.created_at).await;
    let failed = response.status().is_server_error();
    if failed {
        // Nothing of the file was sent: the try is logged but uses up nothing.
        cap::give_back(&state.db, &admitted, &detail.order.id, file.position).await;
    } else if let Some(charged) = admitted.charged {
        response = cap::refunding(response, charged, &state.db, &detail.order.id, file.position);
    }
    let (counted, increment) = if failed { (false, false) } else { (counted, increment) };
    let event = file_event(&request, &detail.order.id, file, &answer, &response, counted, increment);
    state.downloads.record(event).await;
    Ok(response)
}

/// The download log's entry for `response`, which served `file` of order `order_id` as
/// `answer` to `request`: who asked, the status, where the range started, how many bytes.
pub fn file_event(
    request: &Request,
    order_id: &str,
    file: &OrderFile,
    answer: &Answer,
    response: &Response,
    counted: bool,
    increment: bool,
) -> DownloadEvent {
    let (ip, user_agent) = client_of(request);
    let bytes = response.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(0);
    DownloadEvent {
        order_id: order_id.to_owned(),
        file_position: Some(file.position),
        item_position: Some(file.item_position),
        at: now_millis(),
        ip,
        user_agent,
        status: response.status().as_u16(),
        range_start: match answer {
            Answer::Partial { start, .. } => Some(*start as i64),
            _ => None,
        },
        bytes_requested: if request.method() == Method::HEAD { 0 } else { bytes },
        counted,
        increment,
        release_number: file.release_number,
    }
}

/// What `file` of an order paid at `paid_at` is served as. Its Last-Modified is the payment
/// time: the file was frozen into the order then, and its bytes never change afterwards.
pub fn served(file: &OrderFile, paid_at: Millis) -> ServedFile<'_> {
    ServedFile {
        size: file.size as u64,
        sha256_hex: &file.sha256,
        content_type: &file.content_type,
        filename: &file.display_name,
        last_modified: ranged::time_of(paid_at),
    }
}

/// Answers `answer` for `file`: headers from [`ranged::head`], body streamed from the store.
/// Shared by the email links and the customer portal; `paid_at` is the order's payment time.
pub async fn serve_file(
    blobs: &Blobs,
    method: &Method,
    answer: &Answer,
    file: &OrderFile,
    paid_at: Millis,
) -> Response {
    let (status, headers) = ranged::head(answer, &served(file, paid_at));
    let Some(range) = answer.bytes(file.size as u64) else {
        return with_headers(status, headers, Body::empty());
    };
    if method == Method::HEAD {
        return with_headers(status, headers, Body::empty());
    }
    match blobs.read(&file.storage_key, file.size as u64, range).await {
        Ok(stream) => with_headers(status, headers, Body::from_stream(stream)),
        Err(e) => {
            // A store that is down answers 503 with Retry-After; anything else is a logged 500.
            let context = format!("reading the delivered file {}", file.storage_key);
            PageError::internal(anyhow::Error::new(e).context(context)).into_response()
        }
    }
}

fn with_headers(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
