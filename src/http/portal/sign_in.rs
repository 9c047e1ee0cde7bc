//! Signing in: the email form, the code form, the magic link, signing out. The handlers read
//! the forms and render the pages; [`crate::portal_access`] decides who gets in.
//!
//! The answer to "email me a code" is the same page whether or not the address ever bought
//! from the shop; wrong codes, missing codes and expired codes all get the same words.

use crate::domain::ShopBrand;
use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use tracing::field::Empty;

use super::{COOKIE, home_of, shop};
use crate::db::merchants::Merchant;
use crate::domain::{Email, MagicLinkToken, SignInCode};
use crate::http::client::ClientIp;
use crate::http::pages::render;
use crate::http::session::{form_token, form_token_ok, removed, secret_of, session_cookie};
use crate::http::{PageError, PageResult};
use crate::portal_access::{self, PortalSession, SignInRefused};
use crate::state::AppState;

/// The sign-in form (also the portal's home page when signed out).
#[derive(Template)]
#[template(path = "portal/sign_in.html")]
pub(super) struct SignInPage<'a> {
    pub merchant: &'a str,
    pub brand: ShopBrand,
    pub action: String,
    pub email: &'a str,
    pub error: &'a str,
    pub form_token: String,
}

impl<'a> SignInPage<'a> {
    fn of(merchant: &'a Merchant, email: &'a str, error: &'a str, form_token: String) -> Self {
        SignInPage {
            merchant: &merchant.name,
            brand: merchant.brand(""),
            action: format!("{}/sign-in", home_of(merchant)),
            email,
            error,
            form_token,
        }
    }
}

/// The email form (the portal's home when signed out), with a fresh form token.
pub(super) fn sign_in_form(state: &AppState, jar: CookieJar, merchant: &Merchant) -> Response {
    with_token(state, jar, |token| render(StatusCode::OK, &SignInPage::of(merchant, "", "", token)))
}

/// A form page rendered with a fresh form token, setting the form cookie if the browser had none.
fn with_token(state: &AppState, jar: CookieJar, page: impl FnOnce(String) -> Response) -> Response {
    let (jar, token) = form_token(state, jar);
    (jar, page(token)).into_response()
}

/// What a refused form token is told: the page is shown again, ready to post.
const STALE_FORM: &str = "This page was open too long or did not come from this shop. Please try again.";

#[derive(Template)]
#[template(path = "portal/code.html")]
struct CodePage<'a> {
    merchant: &'a str,
    brand: ShopBrand,
    email: &'a str,
    action: String,
    resend_action: String,
    start_href: String,
    error: &'a str,
    form_token: String,
}

impl<'a> CodePage<'a> {
    fn of(merchant: &'a Merchant, email: &'a str, error: &'a str, form_token: String) -> Self {
        let home = home_of(merchant);
        CodePage {
            merchant: &merchant.name,
            brand: merchant.brand(""),
            email,
            action: format!("{home}/code"),
            resend_action: format!("{home}/sign-in"),
            start_href: home,
            error,
            form_token,
        }
    }
}

#[derive(Template)]
#[template(path = "portal/magic.html")]
struct MagicPage<'a> {
    merchant: &'a str,
    brand: ShopBrand,
    action: String,
    error: &'a str,
    form_token: String,
}

/// The "email me a code" form.
#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
    #[serde(default)]
    form_token: String,
}

/// The "enter your code" form.
#[derive(Deserialize)]
pub struct CodeForm {
    email: String,
    code: String,
    #[serde(default)]
    form_token: String,
}

/// The magic link's button: its form token only.
#[derive(Deserialize)]
pub struct ButtonForm {
    #[serde(default)]
    form_token: String,
}

/// `POST /portal/{merchant}/sign-in`: queue a code for a customer; the same page for anyone.
#[tracing::instrument(skip_all, fields(merchant_id = Empty))]
pub async fn request_code(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: ClientIp,
    jar: CookieJar,
    Form(form): Form<EmailForm>,
) -> PageResult {
    let merchant = shop(&state, &slug).await?;
    let typed = form.email.trim();
    let again = |jar, status, error: &str| {
        with_token(&state, jar, |token| render(status, &SignInPage::of(&merchant, typed, error, token)))
    };
    if !form_token_ok(&state, &jar, &form.form_token) {
        return Ok(again(jar, StatusCode::FORBIDDEN, STALE_FORM));
    }
    let Ok(email) = Email::parse("email", &form.email) else {
        let error = "Enter the email address you bought with, like ada@example.com.";
        return Ok(again(jar, StatusCode::UNPROCESSABLE_ENTITY, error));
    };
    portal_access::ask_for_code(&state, &merchant, &client.0, &email).await.map_err(|e| refused(&merchant, e))?;
    Ok(with_token(&state, jar, |token| render(StatusCode::OK, &CodePage::of(&merchant, email.as_str(), "", token))))
}

/// `POST /portal/{merchant}/code`: sign in with the code from the email.
#[tracing::instrument(skip_all, fields(merchant_id = Empty))]
pub async fn enter_code(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: ClientIp,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> PageResult {
    let merchant = shop(&state, &slug).await?;
    let typed_email = form.email.trim();
    let code_page = |jar, status, error: &str| {
        with_token(&state, jar, |token| render(status, &CodePage::of(&merchant, typed_email, error, token)))
    };
    if !form_token_ok(&state, &jar, &form.form_token) {
        return Ok(code_page(jar, StatusCode::FORBIDDEN, STALE_FORM));
    }
    let Ok(email) = Email::parse("email", &form.email) else {
        let error = "Enter the email address you bought with, like ada@example.com.";
        let page =
            |token| render(StatusCode::UNPROCESSABLE_ENTITY, &SignInPage::of(&merchant, typed_email, error, token));
        return Ok(with_token(&state, jar, page));
    };
    let Ok(typed) = SignInCode::parse("code", &form.code) else {
        let error = "The code is the 6 digits in the email we sent you.";
        return Ok(code_page(jar, StatusCode::UNPROCESSABLE_ENTITY, error));
    };
    match portal_access::sign_in_with_code(&state, &merchant, &client.0, &email, &typed).await {
        Ok(signed_in) => Ok(with_session(&state, &merchant, signed_in, jar)),
        Err(SignInRefused::NetworkTriedTooOften(wait)) => {
            let explanation =
                format!("Too many codes were tried from your network. Please try again {}.", wait_words(wait));
            Err(PageError::too_many(&merchant, explanation, wait))
        }
        Err(SignInRefused::WrongCode) => {
            let error =
                "That code is not right, or it has expired. Check the newest email from us, or ask for a new code.";
            Ok(code_page(jar, StatusCode::UNPROCESSABLE_ENTITY, error))
        }
        Err(refusal) => Err(refused(&merchant, refusal)),
    }
}

/// `GET /portal/{merchant}/sign-in/{token}`: a button that signs in. Following the link alone
/// changes nothing, so mail scanners that open links cannot use it up.
#[tracing::instrument(skip_all, fields(merchant_id = Empty))]
pub async fn magic_page(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    jar: CookieJar,
) -> PageResult {
    let merchant = shop(&state, &slug).await?;
    let live = match MagicLinkToken::parse(&token) {
        Some(link) => portal_access::link_is_live(&state, &merchant, &link).await.map_err(PageError::internal)?,
        None => false,
    };
    if !live {
        return Err(refused(&merchant, SignInRefused::LinkGone));
    }
    Ok(magic_button(&state, jar, &merchant, &token, StatusCode::OK, ""))
}

/// `POST /portal/{merchant}/sign-in/{token}`: use the magic link (once).
#[tracing::instrument(skip_all, fields(merchant_id = Empty))]
pub async fn magic_use(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    client: ClientIp,
    jar: CookieJar,
    form: Result<Form<ButtonForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let merchant = shop(&state, &slug).await?;
    let Some(link) = MagicLinkToken::parse(&token) else { return Err(refused(&merchant, SignInRefused::LinkGone)) };
    let presented = form.map(|Form(f)| f.form_token).unwrap_or_default();
    if !form_token_ok(&state, &jar, &presented) {
        return Ok(magic_button(&state, jar, &merchant, link.expose(), StatusCode::FORBIDDEN, STALE_FORM));
    }
    let signed_in = portal_access::sign_in_with_link(&state, &merchant, &client.0, &link)
        .await
        .map_err(|e| refused(&merchant, e))?;
    Ok(with_session(&state, &merchant, signed_in, jar))
}

/// The page with the button that uses a magic link.
fn magic_button(
    state: &AppState,
    jar: CookieJar,
    merchant: &Merchant,
    token: &str,
    status: StatusCode,
    error: &str,
) -> Response {
    let action = format!("{}/sign-in/{token}", home_of(merchant));
    with_token(state, jar, |form_token| {
        render(status, &MagicPage { merchant: &merchant.name, brand: merchant.brand(""), action, error, form_token })
    })
}

/// The page refusing a sign-in (or a code): limits, locks and used links.
fn refused(merchant: &Merchant, refusal: SignInRefused) -> PageError {
    let too_many = StatusCode::TOO_MANY_REQUESTS;
    match refusal {
        SignInRefused::NetworkAskedTooOften(wait) => {
            let explanation = format!(
                "Too many sign-in codes were asked for from your network. Please try again {}.",
                wait_words(wait)
            );
            PageError::too_many(merchant, explanation, wait)
        }
        SignInRefused::AddressAskedTooOften(wait) => {
            let explanation = format!(
                "Several codes were sent for this address already: use the newest email, or ask for another one {}.",
                wait_words(wait)
            );
            PageError::too_many(merchant, explanation, wait)
        }
        SignInRefused::NetworkTriedTooOften(wait) => {
            let explanation =
                format!("Too many sign-in tries from your network. Please try again {}.", wait_words(wait));
            PageError::too_many(merchant, explanation, wait)
        }
        SignInRefused::Locked => PageError::refused(
            too_many,
            merchant,
            "Too many wrong codes",
            "For your safety this code no longer works after 5 wrong tries, even typed right. \
             Ask for a new code: it goes to the same email address.",
            "Ask for a new code",
        ),
        SignInRefused::LinkGone => PageError::refused(
            StatusCode::GONE,
            merchant,
            "This sign-in link has expired",
            "Sign-in links work once, for 15 minutes. Ask for a new one with the email address you bought with.",
            "Ask for a new link",
        ),
        // Only a code can be wrong, and its form says so itself; should one get here, it is
        // refused like any other wrong code.
        SignInRefused::WrongCode => PageError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            merchant,
            "That code is not right",
            "It may have expired. Check the newest email from us, or ask for a new code.",
            "Ask for a new code",
        ),
        SignInRefused::Db(e) => PageError::internal(e),
    }
}

/// "in 3 minutes", "in 1 minute", "in a few seconds".
fn wait_words(wait: Duration) -> String {
    match wait.as_secs().div_ceil(60) {
        0 => "in a few seconds".to_owned(),
        1 => "in a minute".to_owned(),
        n => format!("in {n} minutes"),
    }
}

/// Sets the session cookie of `signed_in` and goes to the customer's purchases.
fn with_session(state: &AppState, merchant: &Merchant, signed_in: PortalSession, jar: CookieJar) -> Response {
    let cookie = session_cookie(state, COOKIE, home_of(merchant), signed_in.secret);
    (jar.add(cookie), Redirect::to(&home_of(merchant))).into_response()
}

/// `POST /portal/{merchant}/sign-out`: ends the session in the database and drops the cookie.
#[tracing::instrument(skip_all, fields(merchant_id = Empty))]
pub async fn sign_out(State(state): State<AppState>, Path(slug): Path<String>, jar: CookieJar) -> PageResult {
    let merchant = shop(&state, &slug).await?;
    if let Some(secret) = secret_of(&jar, COOKIE) {
        portal_access::sign_out(&state, &secret).await.map_err(PageError::internal)?;
    }
    Ok((removed(jar, COOKIE, home_of(&merchant)), Redirect::to(&home_of(&merchant))).into_response())
}
