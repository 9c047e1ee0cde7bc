//! Signing in: the email form, the code form, the magic link, signing out.
//!
//! The answer to "email me a code" is the same page whether or not the address ever bought
//! from the shop, and no email goes to an address that did not; wrong codes, missing codes
//! and expired codes all get the same words.

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::{COOKIE, home_of, internal, message, shop, too_many, wait_words};
use crate::app::AppState;
use crate::db::merchants::Merchant;
use crate::db::portal::{self, CodeTry};
use crate::db::sessions::{self, SessionKind};
use crate::domain::{Email, MAX_WRONG_CODES, MagicLinkToken, SignInCode, new_sign_in_salt, now_millis};
use crate::http::pages::render;
use crate::http::session::{form_token, form_token_ok, removed, secret_of, session_cookie};

/// The window every sign-in limit counts in.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Codes one address may ask for per window (at one shop).
const CODES_PER_ADDRESS: u32 = 5;
/// Codes one IP address may ask for per window, whatever the email.
const CODES_PER_IP: u32 = 20;
/// Codes and magic links one IP address may try per window.
const TRIES_PER_IP: u32 = 30;

/// The sign-in form (also the portal's home page when signed out).
#[derive(Template)]
#[template(path = "portal/sign_in.html")]
pub(super) struct SignInPage<'a> {
    pub merchant: &'a str,
    pub action: String,
    pub email: &'a str,
    pub error: &'a str,
    pub form_token: String,
}

impl<'a> SignInPage<'a> {
    fn of(merchant: &'a Merchant, email: &'a str, error: &'a str, form_token: String) -> Self {
        SignInPage {
            merchant: &merchant.name,
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
pub async fn request_code(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: crate::http::client::ClientIp,
    jar: CookieJar,
    Form(form): Form<EmailForm>,
) -> Response {
    let merchant = match shop(&state, &slug).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let typed = form.email.trim();
    let again = |jar, status, error: &str| {
        with_token(&state, jar, |token| render(status, &SignInPage::of(&merchant, typed, error, token)))
    };
    if !form_token_ok(&state, &jar, &form.form_token) {
        return again(jar, StatusCode::FORBIDDEN, STALE_FORM);
    }
    let Ok(email) = Email::parse("email", &form.email) else {
        let error = "Enter the email address you bought with, like ada@example.com.";
        return again(jar, StatusCode::UNPROCESSABLE_ENTITY, error);
    };
    if let Err(wait) = state.rate_limits.check(&format!("portal-ip:{}", client.0), CODES_PER_IP, WINDOW) {
        let explanation =
            format!("Too many sign-in codes were asked for from your network. Please try again {}.", wait_words(wait));
        return too_many(&merchant, &explanation, wait);
    }
    let per_address = format!("portal-email:{}:{}", merchant.id, email.as_str());
    if let Err(wait) = state.rate_limits.check(&per_address, CODES_PER_ADDRESS, WINDOW) {
        let explanation = format!(
            "Several codes were sent for this address already: use the newest email, or ask for another one {}.",
            wait_words(wait)
        );
        return too_many(&merchant, &explanation, wait);
    }
    let salt = new_sign_in_salt();
    let link = MagicLinkToken::derive(&state.secrets.key(), &salt);
    match portal::request_code(&state.db, &merchant.id, &email, &salt, link.hash().as_str(), now_millis()).await {
        Ok(Some(_)) => state.mail.wake(),
        // Not a customer of this shop: nothing is sent, and the page says the same.
        Ok(None) => {}
        Err(e) => return internal(e),
    }
    with_token(&state, jar, |token| render(StatusCode::OK, &CodePage::of(&merchant, email.as_str(), "", token)))
}

/// `POST /portal/{merchant}/code`: sign in with the code from the email.
pub async fn enter_code(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: crate::http::client::ClientIp,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Response {
    let merchant = match shop(&state, &slug).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let typed_email = form.email.trim();
    let code_page = |jar, status, error: &str| {
        with_token(&state, jar, |token| render(status, &CodePage::of(&merchant, typed_email, error, token)))
    };
    if !form_token_ok(&state, &jar, &form.form_token) {
        return code_page(jar, StatusCode::FORBIDDEN, STALE_FORM);
    }
    if let Err(wait) = state.rate_limits.check(&format!("portal-try-ip:{}", client.0), TRIES_PER_IP, WINDOW) {
        let explanation =
            format!("Too many codes were tried from your network. Please try again {}.", wait_words(wait));
        return too_many(&merchant, &explanation, wait);
    }
    let Ok(email) = Email::parse("email", &form.email) else {
        let error = "Enter the email address you bought with, like ada@example.com.";
        let page =
            |token| render(StatusCode::UNPROCESSABLE_ENTITY, &SignInPage::of(&merchant, typed_email, error, token));
        return with_token(&state, jar, page);
    };
    let Ok(typed) = SignInCode::parse("code", &form.code) else {
        return code_page(jar, StatusCode::UNPROCESSABLE_ENTITY, "The code is the 6 digits in the email we sent you.");
    };
    let now = now_millis();
    let wrong = |jar| {
        let error = "That code is not right, or it has expired. Check the newest email from us, or ask for a new code.";
        code_page(jar, StatusCode::UNPROCESSABLE_ENTITY, error)
    };
    match portal::try_code(&state.db, &merchant.id, &email, now).await {
        Ok(CodeTry::Counted(sign_in)) => {
            if !SignInCode::derive(&state.secrets.key(), &sign_in.salt).matches(&typed) {
                return wrong(jar);
            }
            match portal::code_was_right(&state.db, &sign_in.id, now).await {
                Ok(true) => start_session(&state, &merchant, &sign_in.customer_id, jar).await,
                Ok(false) => wrong(jar),
                Err(e) => internal(e),
            }
        }
        Ok(CodeTry::NoCode) => {
            // An address with no live code locks after as many tries as one with a code, so
            // the answers cannot tell customers from strangers.
            let key = format!("portal-no-code:{}:{}", merchant.id, email.as_str());
            match state.rate_limits.check(&key, MAX_WRONG_CODES as u32, WINDOW) {
                Ok(()) => wrong(jar),
                Err(_) => locked(&merchant),
            }
        }
        Ok(CodeTry::Locked) => locked(&merchant),
        Err(e) => internal(e),
    }
}

fn locked(merchant: &Merchant) -> Response {
    message(
        StatusCode::TOO_MANY_REQUESTS,
        merchant,
        "Too many wrong codes",
        "For your safety this code no longer works after 5 wrong tries, even typed right. \
         Ask for a new code: it goes to the same email address.",
        "Ask for a new code",
    )
}

/// `GET /portal/{merchant}/sign-in/{token}`: a button that signs in. Following the link alone
/// changes nothing, so mail scanners that open links cannot use it up.
pub async fn magic_page(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    jar: CookieJar,
) -> Response {
    let merchant = match shop(&state, &slug).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let live = match MagicLinkToken::parse(&token) {
        Some(token) => portal::live_link(&state.db, &merchant.id, token.hash().as_str(), now_millis()).await,
        None => Ok(None),
    };
    match live {
        Ok(Some(_)) => magic_button(&state, jar, &merchant, &token, StatusCode::OK, ""),
        Ok(None) => link_gone(&merchant),
        Err(e) => internal(e),
    }
}

/// `POST /portal/{merchant}/sign-in/{token}`: use the magic link (once).
pub async fn magic_use(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    client: crate::http::client::ClientIp,
    jar: CookieJar,
    form: Result<Form<ButtonForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let merchant = match shop(&state, &slug).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let Some(link) = MagicLinkToken::parse(&token) else { return link_gone(&merchant) };
    let presented = form.map(|Form(f)| f.form_token).unwrap_or_default();
    if !form_token_ok(&state, &jar, &presented) {
        return magic_button(&state, jar, &merchant, link.expose(), StatusCode::FORBIDDEN, STALE_FORM);
    }
    if let Err(wait) = state.rate_limits.check(&format!("portal-try-ip:{}", client.0), TRIES_PER_IP, WINDOW) {
        let explanation = format!("Too many sign-in tries from your network. Please try again {}.", wait_words(wait));
        return too_many(&merchant, &explanation, wait);
    }
    match portal::use_link(&state.db, &merchant.id, link.hash().as_str(), now_millis()).await {
        Ok(Some(customer_id)) => start_session(&state, &merchant, &customer_id, jar).await,
        Ok(None) => link_gone(&merchant),
        Err(e) => internal(e),
    }
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
        render(status, &MagicPage { merchant: &merchant.name, action, error, form_token })
    })
}

fn link_gone(merchant: &Merchant) -> Response {
    message(
        StatusCode::GONE,
        merchant,
        "This sign-in link has expired",
        "Sign-in links work once, for 15 minutes. Ask for a new one with the email address you bought with.",
        "Ask for a new link",
    )
}

async fn start_session(state: &AppState, merchant: &Merchant, customer_id: &str, jar: CookieJar) -> Response {
    match sessions::start(&state.db, SessionKind::Customer, &merchant.id, customer_id).await {
        Ok(secret) => {
            let cookie = session_cookie(state, COOKIE, home_of(merchant), secret);
            (jar.add(cookie), Redirect::to(&home_of(merchant))).into_response()
        }
        Err(e) => internal(e),
    }
}

/// `POST /portal/{merchant}/sign-out`: ends the session in the database and drops the cookie.
pub async fn sign_out(State(state): State<AppState>, Path(slug): Path<String>, jar: CookieJar) -> Response {
    let merchant = match shop(&state, &slug).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    if let Some(secret) = secret_of(&jar, COOKIE)
        && let Err(e) = sessions::end(&state.db, &secret).await
    {
        return internal(e);
    }
    (removed(jar, COOKIE, home_of(&merchant)), Redirect::to(&home_of(&merchant))).into_response()
}
