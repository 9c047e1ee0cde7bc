//! How the services' errors answer over HTTP (`http` depends on the services, never the other
//! way round): a refusal keeps the fixed status, code and message the API and the dashboard
//! have always answered; a missing row is a 404 naming what is missing; a data-layer failure
//! maps as any `DbError` does (a logged 500, or a 409 for a conflict).

use super::{Error, PageError};
use crate::accounts::PasswordRefused;
use crate::catalog::CatalogError;
use crate::orders::OrderError;

impl From<OrderError> for Error {
    fn from(e: OrderError) -> Error {
        match e {
            OrderError::NotFound(what) => Error::NotFound(what),
            OrderError::Revoked => Error::conflict("order_revoked", e.to_string()),
            OrderError::IdempotencyKeyReused => Error::conflict("idempotency_key_reused", e.to_string()),
            OrderError::AlreadyRecorded => Error::conflict("duplicate", e.to_string()),
            OrderError::AlreadyAssigned => Error::conflict("assigned", e.to_string()),
            OrderError::NotAPayment => Error::conflict("not_a_payment", e.to_string()),
            // The dashboard names the order in its own words (its short reference).
            OrderError::PaymentHasOrder(_) => {
                Error::conflict("payment_has_order", "This payment already has an order: there is nothing to assign.")
            }
            OrderError::Invalid(invalid) => Error::Invalid(invalid),
            OrderError::Db(e) => e.into(),
        }
    }
}

impl From<CatalogError> for Error {
    fn from(e: CatalogError) -> Error {
        match e {
            CatalogError::NotFound(what) => Error::NotFound(what),
            CatalogError::Invalid(invalid) => Error::Invalid(invalid),
            CatalogError::FileInUse(message) => Error::conflict("file_in_use", message),
            CatalogError::Conflict(code, message) => Error::conflict(code, message),
            CatalogError::Store(e) => Error::internal(e),
            CatalogError::Db(e) => e.into(),
        }
    }
}

impl From<PasswordRefused> for Error {
    fn from(e: PasswordRefused) -> Error {
        match e {
            PasswordRefused::Invalid(invalid) => Error::Invalid(invalid),
            PasswordRefused::TooManyTries(_) => Error::TooManyRequests(e.to_string()),
            PasswordRefused::WrongCurrent | PasswordRefused::LinkGone => {
                Error::conflict("password_refused", e.to_string())
            }
            PasswordRefused::Hashing(_) => Error::internal(anyhow::anyhow!(e.to_string())),
            PasswordRefused::Db(e) => e.into(),
        }
    }
}

impl From<PasswordRefused> for PageError {
    fn from(e: PasswordRefused) -> PageError {
        Error::from(e).into()
    }
}

// Dashboard pages answer the same refusals as a problem page.
impl From<OrderError> for PageError {
    fn from(e: OrderError) -> PageError {
        Error::from(e).into()
    }
}

impl From<CatalogError> for PageError {
    fn from(e: CatalogError) -> PageError {
        Error::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::db::DbError;

    #[test]
    fn service_refusals_keep_their_status_and_code() {
        let revoked = Error::from(OrderError::Revoked);
        assert_eq!(revoked.status(), StatusCode::CONFLICT);
        assert_eq!(revoked.to_string(), "this order is revoked: restore it before resending its links");
        assert!(matches!(Error::from(OrderError::Revoked), Error::Conflict { code: "order_revoked", .. }));
        assert!(matches!(Error::from(OrderError::NotFound("order")), Error::NotFound("order")));
        assert!(matches!(Error::from(OrderError::Db(DbError::NotFound)), Error::NotFound("resource")));
        assert!(matches!(
            Error::from(OrderError::IdempotencyKeyReused),
            Error::Conflict { code: "idempotency_key_reused", .. }
        ));
        assert!(matches!(Error::from(CatalogError::NotFound("product")), Error::NotFound("product")));
    }
}
