//! The one error type of the HTTP layer. 4xx answers carry a fixed code and a message naming
//! the field; 5xx answers are logged with their cause and say nothing about it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::fault::Fault;
use crate::db::DbError;
use crate::domain::Invalid;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 422: a field is invalid.
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// 422: the JSON body is well-formed but does not fit (serde names the field).
    #[error("{0}")]
    InvalidBody(String),
    /// 400: the request itself is malformed (e.g. not JSON).
    #[error("{message}")]
    BadRequest {
        /// Fixed code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// 401: no valid credentials.
    #[error("a valid API key is required: send Authorization: Bearer sk_…")]
    Unauthorized,
    /// 404: no such thing, or not yours (the same answer, so nothing leaks).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// Fixed code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// 413: over the upload size limit.
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge {
        /// Limit in bytes.
        limit: u64,
    },
    /// 413: a request body (JSON) over the limit.
    #[error("the request body is larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// Limit in bytes.
        limit: usize,
    },
    /// 429: slow down.
    #[error("{0}")]
    TooManyRequests(String),
    /// 503 with `Retry-After`: the database or the blob store is down for now (see
    /// [`super::fault`]); logged with its cause, never shown.
    #[error("the service is temporarily unavailable; try again in a few seconds")]
    Unavailable(anyhow::Error),
    /// 507: no room left to store a file; logged with its cause, never shown.
    #[error("there is no room left to store this file; nothing was kept")]
    StorageFull(anyhow::Error),
    /// 500: something broke inside; logged, never shown.
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Every failure from inside is sorted here: a fault of a dependency (503) or of the disk (507)
/// is told apart from a bug (500).
impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        match super::fault::of(&e) {
            Some(Fault::Unavailable) => Error::Unavailable(e),
            Some(Fault::StorageFull) => Error::StorageFull(e),
            None => Error::Internal(e),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// The JSON body of every API error.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// Fixed, machine-readable code (e.g. `invalid_field`, `not_found`).
    code: &'static str,
    /// A sentence for people.
    message: String,
    /// The field at fault, for `invalid_field`.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

impl Error {
    /// 500 from any error, keeping the cause for the log; 503 or 507 when the cause is a
    /// dependency that is down or a full disk.
    pub fn internal(e: impl Into<anyhow::Error>) -> Error {
        Error::from(e.into())
    }

    /// Maps a data-layer error, naming `what` when the row is missing (or another merchant's).
    pub fn missing(what: &'static str) -> impl Fn(DbError) -> Error {
        move |e| match e {
            DbError::NotFound => Error::NotFound(what),
            e => e.into(),
        }
    }

    /// 409 with a code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Error {
        Error::Conflict { code, message: message.into() }
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::InvalidBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::TooLarge { .. } | Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_field",
            Error::BadRequest { code, .. } | Error::Conflict { code, .. } => code,
            Error::InvalidBody(_) => "invalid_body",
            Error::Unauthorized => "unauthorized",
            Error::NotFound(_) => "not_found",
            Error::TooLarge { .. } | Error::BodyTooLarge { .. } => "too_large",
            Error::TooManyRequests(_) => "too_many_requests",
            Error::Unavailable(_) => "unavailable",
            Error::StorageFull(_) => "insufficient_storage",
            Error::Internal(_) => "internal",
        }
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Error {
        match e {
            DbError::NotFound => Error::NotFound("resource"),
            DbError::Conflict(message) => Error::Conflict { code: "conflict", message },
            e => Error::from(anyhow::Error::new(e)),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Error::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                "something went wrong on our side; it has been logged".to_owned()
            }
            Error::Unavailable(cause) => {
                tracing::warn!(error = ?cause, "a dependency is unavailable");
                self.to_string()
            }
            Error::StorageFull(cause) => {
                tracing::error!(error = ?cause, "no room left to store a file");
                self.to_string()
            }
            other => other.to_string(),
        };
        let field = match &self {
            Error::Invalid(invalid) => Some(invalid.field),
            _ => None,
        };
        let message = match &self {
            Error::Invalid(invalid) => format!("{}: {}", invalid.field, invalid.message),
            _ => message,
        };
        let body = ErrorBody { error: ErrorDetail { code: self.code(), message, field } };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            retry_after(&mut response, super::fault::RETRY_AFTER);
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::INSUFFICIENT_STORAGE {
            // The rest of the body is left unread, so this connection cannot carry another
            // request: say so, or a client's pool reuses it and its next request is cut off.
            response
                .headers_mut()
                .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        }
        response
    }
}

/// Result of an API handler.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Tells the client when to try again: `Retry-After` in whole seconds, at least one.
pub(crate) fn retry_after(response: &mut Response, wait: std::time::Duration) {
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, wait.as_secs().max(1).into());
}
