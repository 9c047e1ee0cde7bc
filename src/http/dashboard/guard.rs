//! Who may use the dashboard: the signed-in merchant user, and for every change a request
//! that proves it comes from our own pages (same origin, and the session's CSRF token).

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::db::members;
use crate::db::merchants::{self, Merchant};
use crate::db::sessions::{self, SessionKind};
use crate::domain::TeamRole;
pub use crate::http::session::same_origin;
use crate::http::session::secret_of;
use crate::state::AppState;

/// The dashboard's session cookie.
pub const COOKIE: &str = "satchel_dashboard";
/// The path the cookie is sent to.
pub const COOKIE_PATH: &str = "/dashboard";
/// Header that `fetch` requests from dashboard pages (uploads, reordering) carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field that every dashboard form carries.
pub const CSRF_FIELD: &str = "csrf";

/// A signed-in merchant user, with their merchant.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The merchant whose dashboard this is.
    pub merchant: Merchant,
    /// The user's id.
    pub user_id: String,
    /// The user's sign-in address.
    pub email: String,
    /// What they may do in the shop.
    pub role: TeamRole,
    /// The session's CSRF token, for forms and `fetch` headers.
    pub csrf: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let page = wants_page(parts);
        let internal = |e| failed(page, e);
        let found = match secret_of(&jar, COOKIE) {
            Some(secret) => sessions::find(&state.db, SessionKind::Merchant, &secret).await.map_err(internal)?,
            None => None,
        };
        let Some(session) = found else { return Err(not_signed_in(parts)) };
        // Removing a member ends their sessions; a session whose person is gone signs nobody in.
        let found = members::of_session(&state.db, &session.merchant_id, &session.subject_id).await;
        let Some(user) = found.map_err(internal)? else { return Err(not_signed_in(parts)) };
        let merchant = merchants::get(&state.db, &session.merchant_id).await.map_err(internal)?;
        Ok(SignedIn { merchant, user_id: user.id, email: user.email, role: user.role, csrf: session.csrf_token })
    }
}

impl SignedIn {
    /// Whether they own the shop (manage the team, API keys and payment secrets).
    pub fn is_owner(&self) -> bool {
        self.role == TeamRole::Owner
    }

    /// The signed-in person as the team service names them.
    pub fn actor(&self) -> crate::team::Actor<'_> {
        crate::team::Actor { merchant_id: &self.merchant.id, user_id: &self.user_id, role: self.role }
    }
}

/// Pages send the browser to the sign-in form (and back afterwards); anything else gets 401,
/// which the page scripts show as "signed out".
fn not_signed_in(parts: &Parts) -> Response {
    if parts.method == Method::GET || parts.method == Method::HEAD {
        // Inside the nested router the path has lost its `/dashboard` prefix.
        let uri = parts.extensions.get::<axum::extract::OriginalUri>().map(|o| &o.0).unwrap_or(&parts.uri);
        let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or(COOKIE_PATH);
        let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        return Redirect::to(&format!("/dashboard/sign-in?next={next}")).into_response();
    }
    (StatusCode::UNAUTHORIZED, "Your session has ended: sign in again.").into_response()
}

/// Whether a browser navigates here (it asks for HTML), rather than a page's script.
fn wants_page(parts: &Parts) -> bool {
    let accept = parts.headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    accept.contains("text/html")
}

/// The session could not be checked: a page for a browser (503 "Temporarily unavailable" when
/// the database is down), the JSON error for a script.
fn failed(page: bool, e: crate::db::DbError) -> Response {
    match page {
        true => crate::http::PageError::from(e).into_response(),
        false => crate::http::Error::from(e).into_response(),
    }
}

/// 403 for a change that did not come from our own pages.
pub(super) fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "This form came from somewhere else or from an old page: reload the page and try again.")
        .into_response()
}

/// Compares CSRF tokens in constant time.
pub(super) fn token_matches(presented: &str, expected: &str) -> bool {
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// A form posted from a dashboard page: signed in, same origin, CSRF token included.
pub struct Verified<T> {
    /// Who posted it.
    pub user: SignedIn,
    /// The form's fields.
    pub form: T,
}

/// The most a dashboard form may send (file uploads do not go through forms).
const FORM_LIMIT: usize = 256 * 1024;

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Verified<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let user = SignedIn::from_request_parts(&mut parts, state).await?;
        if !same_origin(&parts.headers, &state.public_url) {
            return Err(forbidden());
        }
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response())?;
        let presented = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v);
        if !presented.is_some_and(|p| token_matches(&p, &user.csrf)) {
            return Err(forbidden());
        }
        let req = Request::from_parts(parts, Body::from(bytes));
        let axum::Form(form) = axum::Form::<T>::from_request(req, state).await.map_err(IntoResponse::into_response)?;
        Ok(Verified { user, form })
    }
}

/// A `fetch` request from a dashboard page (uploads, reordering): signed in, same origin,
/// CSRF token in the `X-CSRF-Token` header. The body is left for the handler to stream.
pub struct VerifiedFetch(pub SignedIn);

impl FromRequestParts<AppState> for VerifiedFetch {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let user = SignedIn::from_request_parts(parts, state).await?;
        let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !same_origin(&parts.headers, &state.public_url) || !token_matches(presented, &user.csrf) {
            return Err(forbidden());
        }
        Ok(VerifiedFetch(user))
    }
}
