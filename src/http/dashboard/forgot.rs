//! "Forgot password?": `GET|POST /dashboard/forgot-password` asks for a reset link by email
//! (the answer is the same whether or not the address has an account), and
//! `GET|POST /dashboard/reset-password/{token}` chooses a new password with it (once; 410
//! when used or expired). Both are signed-out forms, held to the same origin and form token
//! as the sign-in form.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::PageResult;
use super::guard::same_origin;
use crate::accounts::{self, PasswordRefused};
use crate::domain::{Email, PASSWORD_RESET_LIFETIME_MS, PasswordResetToken};
use crate::http::client::ClientIp;
use crate::http::pages::render;
use crate::http::session::{form_token, form_token_ok};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/forgot_password.html")]
struct ForgotPage {
    email: String,
    error: String,
    /// The address a link was asked for (the same answer for every address).
    sent_to: Option<String>,
    minutes: i64,
    form_token: String,
}

#[derive(Template)]
#[template(path = "dashboard/reset_password.html")]
struct ResetPage {
    action: String,
    /// False when the link was used or expired.
    live: bool,
    error: String,
    field: &'static str,
    form_token: String,
}

/// The forgot-password form's fields.
#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    form_token: String,
}

/// The reset form's fields.
#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    #[serde(default)]
    form_token: String,
}

const MINUTES: i64 = PASSWORD_RESET_LIFETIME_MS / 60_000;
const FOREIGN_FORM: &str = "This form came from another site or an old page. Open it again and retry.";

fn forgot_page(state: &AppState, jar: CookieJar, status: StatusCode, email: &str, error: &str) -> Response {
    let (jar, form_token) = form_token(state, jar);
    let page =
        ForgotPage { email: email.to_owned(), error: error.to_owned(), sent_to: None, minutes: MINUTES, form_token };
    (jar, render(status, &page)).into_response()
}

/// `GET /dashboard/forgot-password`
#[tracing::instrument(skip_all)]
pub async fn form(State(state): State<AppState>, jar: CookieJar) -> Response {
    forgot_page(&state, jar, StatusCode::OK, "", "")
}

/// `POST /dashboard/forgot-password`: the same answer for every well-formed address.
#[tracing::instrument(skip_all)]
pub async fn ask(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    axum::Form(form): axum::Form<ForgotForm>,
) -> PageResult {
    if !same_origin(&headers, &state.public_url) || !form_token_ok(&state, &jar, &form.form_token) {
        return Ok(forgot_page(&state, jar, StatusCode::FORBIDDEN, &form.email, FOREIGN_FORM));
    }
    let Ok(email) = Email::parse("email", &form.email) else {
        let error = "Enter the email address you sign in with, like you@example.com.";
        return Ok(forgot_page(&state, jar, StatusCode::UNPROCESSABLE_ENTITY, &form.email, error));
    };
    match accounts::ask_for_reset(&state, &client.0, &email).await {
        Ok(()) => {
            let (jar, form_token) = form_token(&state, jar);
            let sent_to = Some(email.as_str().to_owned());
            let page = ForgotPage { email: String::new(), error: String::new(), sent_to, minutes: MINUTES, form_token };
            Ok((jar, render(StatusCode::OK, &page)).into_response())
        }
        Err(PasswordRefused::TooManyTries(wait)) => {
            let minutes = wait.as_secs().div_ceil(60);
            let error = format!("Too many reset links were asked for. Wait {minutes} minute(s) and try again.");
            let mut response = forgot_page(&state, jar, StatusCode::TOO_MANY_REQUESTS, &form.email, &error);
            crate::http::retry_after(&mut response, wait);
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

fn reset_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    token: &str,
    error: (&'static str, &str),
) -> Response {
    let (jar, form_token) = form_token(state, jar);
    let page = ResetPage {
        action: format!("/dashboard/reset-password/{token}"),
        live: status != StatusCode::GONE,
        field: error.0,
        error: error.1.to_owned(),
        form_token,
    };
    (jar, render(status, &page)).into_response()
}

/// `GET /dashboard/reset-password/{token}`: the form while the link works (looking uses
/// nothing up), 410 otherwise.
#[tracing::instrument(skip_all)]
pub async fn show(State(state): State<AppState>, jar: CookieJar, Path(token): Path<String>) -> PageResult {
    let live = match PasswordResetToken::parse(&token) {
        Some(parsed) => accounts::reset_link_is_live(&state, &parsed).await?,
        None => false,
    };
    let status = if live { StatusCode::OK } else { StatusCode::GONE };
    Ok(reset_page(&state, jar, status, &token, ("", "")))
}

/// `POST /dashboard/reset-password/{token}`: sets the new password, signs the user out
/// everywhere and sends them to the sign-in form.
#[tracing::instrument(skip_all)]
pub async fn reset(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    Path(token): Path<String>,
    axum::Form(form): axum::Form<ResetForm>,
) -> PageResult {
    if !same_origin(&headers, &state.public_url) || !form_token_ok(&state, &jar, &form.form_token) {
        return Ok(reset_page(&state, jar, StatusCode::FORBIDDEN, &token, ("", FOREIGN_FORM)));
    }
    let Some(parsed) = PasswordResetToken::parse(&token) else {
        return Ok(reset_page(&state, jar, StatusCode::GONE, &token, ("", "")));
    };
    if form.new_password != form.confirm_password {
        let error = ("confirm_password", "The two passwords differ. Type the new password twice.");
        return Ok(reset_page(&state, jar, StatusCode::UNPROCESSABLE_ENTITY, &token, error));
    }
    match accounts::reset_with_link(&state, &client.0, &parsed, &form.new_password).await {
        Ok(()) => Ok(Redirect::to("/dashboard/sign-in?password_reset=1").into_response()),
        Err(PasswordRefused::Invalid(_)) => {
            let error = ("new_password", "Use at least 10 characters.");
            Ok(reset_page(&state, jar, StatusCode::UNPROCESSABLE_ENTITY, &token, error))
        }
        Err(PasswordRefused::LinkGone) => Ok(reset_page(&state, jar, StatusCode::GONE, &token, ("", ""))),
        Err(PasswordRefused::TooManyTries(wait)) => {
            let minutes = wait.as_secs().div_ceil(60);
            let error = format!("Too many tries from your network. Wait {minutes} minute(s) and try again.");
            let mut response = reset_page(&state, jar, StatusCode::TOO_MANY_REQUESTS, &token, ("", &error));
            crate::http::retry_after(&mut response, wait);
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}
