//! `GET|POST /dashboard/settings/password`: the signed-in user changes their password. The
//! current one is required; the new one follows the password rules; every other session of
//! the user is signed out (this one stays).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::guard::COOKIE;
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::accounts::{self, PasswordRefused};
use crate::http::pages::render;
use crate::http::session::secret_of;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/password.html")]
struct PasswordPage {
    chrome: Chrome,
    /// The field at fault ("" for a message about the whole form).
    field: &'static str,
    error: String,
}

/// The form's fields.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

fn page(user: &SignedIn, status: StatusCode, field: &'static str, error: &str) -> PageResult {
    let view = PasswordPage { chrome: Chrome::new(user, Section::Settings, None), field, error: error.to_owned() };
    Ok(render(status, &view))
}

/// `GET /dashboard/settings/password`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn form(user: SignedIn) -> PageResult {
    page(&user, StatusCode::OK, "", "")
}

/// `POST /dashboard/settings/password`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn change(
    State(state): State<AppState>,
    jar: CookieJar,
    Verified { user, form }: Verified<PasswordForm>,
) -> PageResult {
    const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
    if form.new_password != form.confirm_password {
        return page(&user, UNPROCESSABLE, "confirm_password", "The two new passwords differ. Type the new one twice.");
    }
    // The guard let this request in by its cookie, so it is there.
    let keep = secret_of(&jar, COOKIE).unwrap_or_default();
    match accounts::change_password(&state, &user.user_id, &keep, &form.current_password, &form.new_password).await {
        Ok(()) => Ok(Redirect::to("/dashboard/settings?notice=password-changed").into_response()),
        Err(PasswordRefused::WrongCurrent) => {
            page(&user, UNPROCESSABLE, "current_password", "That is not your current password.")
        }
        Err(PasswordRefused::Invalid(_)) => page(&user, UNPROCESSABLE, "new_password", "Use at least 10 characters."),
        Err(PasswordRefused::TooManyTries(wait)) => {
            let minutes = wait.as_secs().div_ceil(60);
            let error = format!("Too many wrong passwords. Wait {minutes} minute(s) and try again.");
            let mut response = page(&user, StatusCode::TOO_MANY_REQUESTS, "", &error)?;
            crate::http::retry_after(&mut response, wait);
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}
