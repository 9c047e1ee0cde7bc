//! File uploads from the dashboard.
//!
//! - `POST /dashboard/uploads?filename=…`: one file as the raw body, sent by the edit page's
//!   script (`XMLHttpRequest`, for its progress events) with the `X-CSRF-Token` header. The body
//!   streams to the blob store exactly as the API's raw upload does (`http::upload`): several
//!   GiB never sit in memory. The file becomes an uploaded file (a blob) at once; the product
//!   only delivers it once the merchant clicks "Update product".
//! - `POST /dashboard/products/{id}/files`: the page's plain `multipart/form-data` form for
//!   browsers without JavaScript; it adds the files to the product's saved list right away.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::guard::{CSRF_FIELD, forbidden, same_origin, token_matches};
use super::product_form::{DeliveryFields, FieldErrors, ProductFields, facts};
use super::products::edit_page;
use super::{PageError, SignedIn, VerifiedFetch};
use crate::catalog;
use crate::db::products::{self as db_products, Product};
use crate::domain::{Delivery, DeliveryError, DeliveryFile, DeliveryMode, DisplayName, Instructions, Invalid};
use crate::http::upload::{declared_length, discard_all, keep, receive_parts, receive_raw};
use crate::http::{Error, Result};
use crate::state::AppState;

/// `?filename=` of a raw upload.
#[derive(Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    filename: Option<String>,
}

/// What the page's script needs to list an uploaded file.
#[derive(Serialize)]
struct Uploaded {
    id: String,
    filename: String,
    size: i64,
    content_type: String,
    sha256: String,
    /// `2.4 MB · application/pdf`
    facts: String,
}

/// `POST /dashboard/uploads?filename=…`: answers 201 with the file (200 when the same content
/// was uploaded before), or an API-style JSON error the script shows next to the file.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn upload(
    State(state): State<AppState>,
    VerifiedFetch(user): VerifiedFetch,
    Query(query): Query<UploadQuery>,
    request: Request,
) -> Result<Response> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if is_multipart {
        return Err(Error::BadRequest {
            code: "raw_body_expected",
            message: "send one file as the raw request body, named by ?filename=".into(),
        });
    }
    let (blob, created) = receive_raw(&state, &user.merchant.id, query.filename.as_deref(), request).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let body = Uploaded {
        facts: facts(blob.size, &blob.content_type),
        id: blob.id,
        filename: blob.filename,
        size: blob.size,
        content_type: blob.content_type,
        sha256: blob.sha256,
    };
    Ok((status, Json(body)).into_response())
}

/// `POST /dashboard/products/{id}/files` (multipart, no JavaScript needed): the CSRF token must
/// be the first field, so nothing is stored for a forged request; then every file part streams
/// to the store, and the files join the end of the product's saved list (at most 10 in all, or
/// nothing is kept).
#[tracing::instrument(skip_all, fields(product_id = %id))]
pub async fn attach(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let user = match SignedIn::from_request_parts(&mut parts, &state).await {
        Ok(user) => user,
        Err(refused) => return refused,
    };
    if !same_origin(&parts.headers, &state.public_url) {
        return forbidden();
    }
    let limit = state.blobs.max_upload_bytes();
    // Ten files and their multipart framing.
    if declared_length(&parts.headers).is_some_and(|len| len > limit.saturating_mul(10).saturating_add(1 << 20)) {
        return PageError::from(Error::TooLarge { limit }).into_response();
    }
    let request = Request::from_parts(parts, body);
    let mut multipart = match Multipart::from_request(request, &state).await {
        Ok(multipart) => multipart,
        Err(e) => {
            let message = e.body_text();
            return PageError::from(Error::BadRequest { code: "invalid_multipart", message }).into_response();
        }
    };
    let csrf = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some(CSRF_FIELD) => field.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    if !token_matches(&csrf, &user.csrf) {
        return forbidden();
    }
    match attach_files(&state, &user, &id, multipart).await {
        Ok(response) | Err(response) => response,
    }
}

async fn attach_files(
    state: &AppState,
    user: &SignedIn,
    id: &str,
    multipart: Multipart,
) -> std::result::Result<Response, Response> {
    let merchant = &user.merchant.id;
    let page_error = |e: Error| PageError::from(e).into_response();
    let product =
        db_products::get(&state.db, merchant, id).await.map_err(|e| page_error(Error::missing("product")(e)))?;
    let arrived = receive_parts(state, multipart).await.map_err(page_error)?;
    // The product keeps its file list in every mode: uploads join it, and the product now
    // delivers files (they were uploaded in the files panel); its link is kept for later.
    if let Err(too_many) = Delivery::check_file_count(product.files.len() + arrived.len()) {
        discard_all(state, arrived).await;
        return Err(refused(state, user, &product, &too_many).await);
    }
    let mut files: Vec<DeliveryFile> = Vec::new();
    for f in &product.files {
        let display_name = DisplayName::parse("display_name", &f.display_name).map_err(|e| page_error(e.into()))?;
        files.push(DeliveryFile { file_id: f.blob_id.clone(), display_name });
    }
    for part in arrived {
        let display_name = part.filename().clone();
        let (blob, _) = keep(state, merchant, part).await.map_err(page_error)?;
        // The same content twice is one file: listed once.
        if !files.iter().any(|f| f.file_id == blob.id) {
            files.push(DeliveryFile { file_id: blob.id, display_name });
        }
    }
    let instructions =
        Instructions::parse("instructions", &product.row.instructions).map_err(|e| page_error(e.into()))?;
    let link = product.row.external_url.as_deref();
    let delivery = Delivery::new(DeliveryMode::Files, files, link, instructions).map_err(|e| match e {
        DeliveryError::Invalid(invalid) => page_error(invalid.into()),
    })?;
    catalog::set_delivery(state, merchant, id, &delivery).await.map_err(|e| page_error(e.into()))?;
    Ok(Redirect::to(&format!("/dashboard/products/{id}?notice=files-added")).into_response())
}

/// The edit page again, with why the files were not added next to the list.
async fn refused(state: &AppState, user: &SignedIn, product: &Product, why: &Invalid) -> Response {
    let mut errors = FieldErrors::default();
    errors.add("files", why);
    let form = (ProductFields::of(product), DeliveryFields::of(product));
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    match edit_page(state, user, product, form, errors, status, None).await {
        Ok(page) => page,
        Err(problem) => problem.into_response(),
    }
}
