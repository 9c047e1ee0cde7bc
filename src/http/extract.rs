//! Request extractors shared by the API handlers.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::Error;
use crate::state::AppState;

/// The merchant whose API key signed this request (`Authorization: Bearer sk_…`).
#[derive(Debug, Clone)]
pub struct ApiMerchant(pub String);

impl FromRequestParts<AppState> for ApiMerchant {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        // The scheme name is case-insensitive (RFC 9110 §11.1).
        let key = header
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .ok_or(Error::Unauthorized)?;
        match crate::db::api_keys::authenticate(&state.db, key).await? {
            Some(merchant_id) => Ok(ApiMerchant(merchant_id)),
            None => Err(Error::Unauthorized),
        }
    }
}

/// `Json` whose rejections are API errors in our JSON shape, naming the field serde names.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(Error::BodyTooLarge { limit: JSON_BODY_LIMIT })
            }
            Err(JsonRejection::JsonDataError(e)) => Err(Error::InvalidBody(e.body_text())),
            Err(e) => Err(Error::BadRequest { code: "invalid_json", message: e.body_text() }),
        }
    }
}

/// The largest request body the API reads whole (JSON), in bytes; uploads have their own limit.
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Makes a 413 that an extractor answered in plain text (a body over [`JSON_BODY_LIMIT`] read
/// as bytes) the API's JSON error, like every other refusal of the API.
pub async fn json_too_large(response: Response) -> Response {
    let json = response.headers().get(axum::http::header::CONTENT_TYPE).is_some_and(|t| t == "application/json");
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !json {
        return Error::BodyTooLarge { limit: JSON_BODY_LIMIT }.into_response();
    }
    response
}

/// `Query` whose rejections are API errors in our JSON shape (400 `invalid_query`, naming the
/// parameter serde names), not axum's plain-text answer.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(e) => Err(Error::BadRequest { code: "invalid_query", message: e.body_text() }),
        }
    }
}
