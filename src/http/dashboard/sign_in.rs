//! Signing in to the dashboard with email and password (argon2), and signing out.

use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::guard::{COOKIE, COOKIE_PATH, same_origin};
use super::{PageResult, Verified};
use crate::db::sessions::{self, SessionKind};
use crate::db::{DbError, merchants};
use crate::domain::{Email, verify_password};
use crate::http::pages::render;
use crate::http::session::{form_token, form_token_ok, removed, secret_of, session_cookie};
use crate::rate_limit::Verdict;
use crate::state::AppState;

/// Wrong passwords one client may try for one account in [`WINDOW`]. Counted per account and
/// client, so strangers cannot lock the owner out: a client that has not failed is never
/// refused.
const FAILURES_PER_ACCOUNT_AND_CLIENT: u32 = 10;
/// Wrong passwords one client may try in [`WINDOW`], whatever the account (password spraying).
const FAILURES_PER_CLIENT: u32 = 30;
const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Template)]
#[template(path = "dashboard/sign_in.html")]
struct SignInPage {
    email: String,
    next: String,
    error: String,
    signed_out: bool,
    password_reset: bool,
    form_token: String,
}

/// `?next=` (where to go after signing in) and `?signed_out`.
#[derive(Deserialize, Default)]
pub struct SignInQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    signed_out: Option<String>,
    /// After a password was reset by email.
    #[serde(default)]
    password_reset: Option<String>,
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    form_token: String,
}

/// Only paths inside the dashboard, so the form cannot be used to send people elsewhere; and
/// only visible ASCII, since it goes into the `Location` header (a percent-encoded path is).
fn safe_next(next: &str) -> String {
    let inside = next.starts_with("/dashboard") && !next.starts_with("//") && !next.contains('\\');
    let printable = next.bytes().all(|b| b.is_ascii_graphic());
    if inside && printable { next.to_owned() } else { "/dashboard".to_owned() }
}

/// The sign-in page with a fresh form token (and the form cookie, when the browser had none).
fn page(state: &AppState, jar: CookieJar, status: StatusCode, fill: impl FnOnce(String) -> SignInPage) -> Response {
    let (jar, form_token) = form_token(state, jar);
    (jar, render(status, &fill(form_token))).into_response()
}

/// `GET /dashboard/sign-in`
#[tracing::instrument(skip_all)]
pub async fn form(State(state): State<AppState>, jar: CookieJar, Query(query): Query<SignInQuery>) -> Response {
    page(&state, jar, StatusCode::OK, |form_token| SignInPage {
        email: String::new(),
        next: safe_next(&query.next),
        error: String::new(),
        signed_out: query.signed_out.is_some(),
        password_reset: query.password_reset.is_some(),
        form_token,
    })
}

/// `POST /dashboard/sign-in`
#[tracing::instrument(skip_all)]
pub async fn submit(
    State(state): State<AppState>,
    client: crate::http::client::ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    axum::Form(form): axum::Form<SignInForm>,
) -> PageResult {
    let next = safe_next(&form.next);
    let again = |jar: CookieJar, status: StatusCode, error: &str| {
        Ok(page(&state, jar, status, |form_token| SignInPage {
            email: form.email.clone(),
            next: next.clone(),
            error: error.to_owned(),
            signed_out: false,
            password_reset: false,
            form_token,
        }))
    };
    // Signing in from another site's form would log the browser into the attacker's shop.
    if !same_origin(&headers, &state.public_url) {
        return again(
            jar,
            StatusCode::FORBIDDEN,
            "This form came from another site. Open the sign-in page and try again.",
        );
    }
    // Browsers that send no `Origin` are held to the form token alone.
    if !form_token_ok(&state, &jar, &form.form_token) {
        let error = "This sign-in form has expired or did not come from this page. Enter your password again.";
        return again(jar, StatusCode::FORBIDDEN, error);
    }
    let Ok(email) = Email::parse("email", &form.email) else {
        return again(jar, StatusCode::UNPROCESSABLE_ENTITY, "Enter the email address you signed up with.");
    };
    // Failures only are counted: a try is held while the password is checked and given back
    // when it was right.
    let keys = [
        (format!("dashboard-ip:{}", client.0), FAILURES_PER_CLIENT),
        (format!("dashboard-email:{}:{}", email.as_str(), client.0), FAILURES_PER_ACCOUNT_AND_CLIENT),
    ];
    if let Err(wait) = hold_tries(&state, &keys).await? {
        let minutes = wait.as_secs().div_ceil(60);
        let message = format!("Too many sign-in attempts. Wait {minutes} minute(s) and try again.");
        let mut response = again(jar, StatusCode::TOO_MANY_REQUESTS, &message)?;
        crate::http::retry_after(&mut response, wait);
        return Ok(response);
    }
    let user = merchants::user_by_email(&state.db, &email).await?;
    // Verify against a real hash even for unknown addresses, so timing doesn't tell who has an account.
    let stored = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
    let password = form.password.clone();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(crate::http::Error::internal)?;
    let Some(user) = user.filter(|_| matches) else {
        return again(jar, StatusCode::UNAUTHORIZED, "That email and password don't match.");
    };
    for (key, _) in &keys {
        state.rate_limits.forgive(key).await?;
    }
    let secret = sessions::start(&state.db, SessionKind::Merchant, &user.merchant_id, &user.id).await?;
    tracing::info!(merchant_id = %user.merchant_id, user_id = %user.id, "signed in to the dashboard");
    let jar = jar.add(session_cookie(&state, COOKIE, COOKIE_PATH.to_owned(), secret));
    Ok((jar, Redirect::to(&next)).into_response())
}

/// Counts a try against every key, or none: a client refused by one limit keeps the tries it
/// had under the others.
async fn hold_tries(state: &AppState, keys: &[(String, u32)]) -> Result<Verdict, DbError> {
    for (i, (key, limit)) in keys.iter().enumerate() {
        if let Err(wait) = state.rate_limits.check(key, *limit, WINDOW).await? {
            for (held, _) in &keys[..=i] {
                state.rate_limits.forgive(held).await?;
            }
            return Ok(Err(wait));
        }
    }
    Ok(Ok(()))
}

/// An argon2id hash of a random password nobody knows, made once per process.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::domain::hash_password(&crate::domain::random_token(24)).unwrap_or_default());

/// The sign-out form has only its CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

/// `POST /dashboard/sign-out`
#[tracing::instrument(skip_all)]
pub async fn sign_out(State(state): State<AppState>, jar: CookieJar, _form: Verified<Empty>) -> PageResult {
    if let Some(secret) = secret_of(&jar, COOKIE) {
        sessions::end(&state.db, &secret).await?;
    }
    let jar = removed(jar, COOKIE, COOKIE_PATH.to_owned());
    Ok((jar, Redirect::to("/dashboard/sign-in?signed_out=1")).into_response())
}
