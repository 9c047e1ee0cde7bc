//! Signing in to the dashboard with email and password (argon2), and signing out.

use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::guard::{COOKIE, COOKIE_PATH, same_origin};
use super::{PageResult, Verified};
use crate::app::AppState;
use crate::db::merchants;
use crate::db::sessions::{self, SessionKind};
use crate::domain::{Email, verify_password};
use crate::http::pages::render;
use crate::http::session::{removed, secret_of, session_cookie};

/// Tries per address, and per client address, in [`WINDOW`].
const TRIES_PER_EMAIL: u32 = 10;
const TRIES_PER_IP: u32 = 30;
const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Template)]
#[template(path = "dashboard/sign_in.html")]
struct SignInPage {
    email: String,
    next: String,
    error: String,
    signed_out: bool,
}

/// `?next=` (where to go after signing in) and `?signed_out`.
#[derive(Deserialize, Default)]
pub struct SignInQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    signed_out: Option<String>,
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
}

/// Only paths inside the dashboard, so the form cannot be used to send people elsewhere.
fn safe_next(next: &str) -> String {
    let inside = next.starts_with("/dashboard") && !next.starts_with("//") && !next.contains('\\');
    if inside { next.to_owned() } else { "/dashboard".to_owned() }
}

/// `GET /dashboard/sign-in`
pub async fn form(Query(query): Query<SignInQuery>) -> Response {
    let page = SignInPage {
        email: String::new(),
        next: safe_next(&query.next),
        error: String::new(),
        signed_out: query.signed_out.is_some(),
    };
    render(StatusCode::OK, &page)
}

/// `POST /dashboard/sign-in`
pub async fn submit(
    State(state): State<AppState>,
    client: crate::http::client::ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    axum::Form(form): axum::Form<SignInForm>,
) -> PageResult {
    let next = safe_next(&form.next);
    let again = |status: StatusCode, error: &str| {
        let page =
            SignInPage { email: form.email.clone(), next: next.clone(), error: error.to_owned(), signed_out: false };
        Ok(render(status, &page))
    };
    // Signing in from another site's form would log the browser into the attacker's shop.
    if !same_origin(&headers, &state.public_url) {
        return again(StatusCode::FORBIDDEN, "This form came from another site. Open the sign-in page and try again.");
    }
    let Ok(email) = Email::parse("email", &form.email) else {
        return again(StatusCode::UNPROCESSABLE_ENTITY, "Enter the email address you signed up with.");
    };
    let limited = state.rate_limits.check(&format!("dashboard-ip:{}", client.0), TRIES_PER_IP, WINDOW).and_then(|()| {
        state.rate_limits.check(&format!("dashboard-email:{}", email.as_str()), TRIES_PER_EMAIL, WINDOW)
    });
    if let Err(wait) = limited {
        let minutes = wait.as_secs().div_ceil(60);
        let message = format!("Too many sign-in attempts. Wait {minutes} minute(s) and try again.");
        let mut response = again(StatusCode::TOO_MANY_REQUESTS, &message)?;
        response.headers_mut().insert(header::RETRY_AFTER, wait.as_secs().into());
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
        return again(StatusCode::UNAUTHORIZED, "That email and password don't match.");
    };
    let secret = sessions::start(&state.db, SessionKind::Merchant, &user.merchant_id, &user.id).await?;
    let jar = jar.add(session_cookie(&state, COOKIE, COOKIE_PATH.to_owned(), secret));
    Ok((jar, Redirect::to(&next)).into_response())
}

/// An argon2id hash of a random password nobody knows, made once per process.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::domain::hash_password(&crate::domain::random_token(24)).unwrap_or_default());

/// The sign-out form has only its CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

/// `POST /dashboard/sign-out`
pub async fn sign_out(State(state): State<AppState>, jar: CookieJar, _form: Verified<Empty>) -> PageResult {
    if let Some(secret) = secret_of(&jar, COOKIE) {
        sessions::end(&state.db, &secret).await?;
    }
    let jar = removed(jar, COOKIE, COOKIE_PATH.to_owned());
    Ok((jar, Redirect::to("/dashboard/sign-in?signed_out=1")).into_response())
}
