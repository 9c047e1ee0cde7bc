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
use crate::http::session::{removed, secret_of, session_cookie};

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
}

impl<'a> SignInPage<'a> {
    pub fn of(merchant: &'a Merchant, email: &'a str, error: &'a str) -> Self {
        SignInPage { merchant: &merchant.name, action: format!("{}/sign-in", home_of(merchant)), email, error }
    }
}

#[derive(Template)]
#[template(path = "portal/code.html")]
struct CodePage<'a> {
    merchant: &'a str,
    email: &'a str,
    action: String,
    resend_action: String,
    start_href: String,
    error: &'a str,
}

impl<'a> CodePage<'a> {
    fn of(merchant: &'a Merchant, email: &'a str, error: &'a str) -> Self {
        let home = home_of(merchant);
        CodePage {
            merchant: &merchant.name,
            email,
            action: format!("{home}/code"),
            resend_action: format!("{home}/sign-in"),
            start_href: home,
            error,
        }
    }
}

#[derive(Template)]
#[template(path = "portal/magic.html")]
struct MagicPage<'a> {
    merchant: &'a str,
    action: String,
}

/// The "email me a code" form.
#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

/// The "enter your code" form.
#[derive(Deserialize)]
pub struct CodeForm {
    email: String,
    code: String,
}

/// `POST /portal/{merchant}/sign-in`: queue a code for a customer; the same page for anyone.
pub async fn request_code(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: crate::http::client::ClientIp,
    Form(form): Form<EmailForm>,
) -> Response {
    let merchant = match shop(&state, &slug).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let Ok(email) = Email::parse("email", &form.email) else {
        let error = "Enter the email address you bought with, like ada@example.com.";
        return render(StatusCode::UNPROCESSABLE_ENTITY, &SignInPage::of(&merchant, form.email.trim(), error));
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
    render(StatusCode::OK, &CodePage::of(&merchant, email.as_str(), ""))
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
    if let Err(wait) = state.rate_limits.check(&format!("portal-try-ip:{}", client.0), TRIES_PER_IP, WINDOW) {
        let explanation =
            format!("Too many codes were tried from your network. Please try again {}.", wait_words(wait));
        return too_many(&merchant, &explanation, wait);
    }
    let Ok(email) = Email::parse("email", &form.email) else {
        let error = "Enter the email address you bought with, like ada@example.com.";
        return render(StatusCode::UNPROCESSABLE_ENTITY, &SignInPage::of(&merchant, form.email.trim(), error));
    };
    let Ok(typed) = SignInCode::parse("code", &form.code) else {
        let error = "The code is the 6 digits in the email we sent you.";
        return render(StatusCode::UNPROCESSABLE_ENTITY, &CodePage::of(&merchant, email.as_str(), error));
    };
    let now = now_millis();
    let wrong = || {
        let error = "That code is not right, or it has expired. Check the newest email from us, or ask for a new code.";
        render(StatusCode::UNPROCESSABLE_ENTITY, &CodePage::of(&merchant, email.as_str(), error))
    };
    match portal::try_code(&state.db, &merchant.id, &email, now).await {
        Ok(CodeTry::Counted(sign_in)) => {
            if !SignInCode::derive(&state.secrets.key(), &sign_in.salt).matches(&typed) {
                return wrong();
            }
            match portal::code_was_right(&state.db, &sign_in.id, now).await {
                Ok(true) => start_session(&state, &merchant, &sign_in.customer_id, jar).await,
                Ok(false) => wrong(),
                Err(e) => internal(e),
            }
        }
        Ok(CodeTry::NoCode) => {
            // An address with no live code locks after as many tries as one with a code, so
            // the answers cannot tell customers from strangers.
            let key = format!("portal-no-code:{}:{}", merchant.id, email.as_str());
            match state.rate_limits.check(&key, MAX_WRONG_CODES as u32, WINDOW) {
                Ok(()) => wrong(),
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
pub async fn magic_page(State(state): State<AppState>, Path((slug, token)): Path<(String, String)>) -> Response {
    let merchant = match shop(&state, &slug).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let live = match MagicLinkToken::parse(&token) {
        Some(token) => portal::live_link(&state.db, &merchant.id, token.hash().as_str(), now_millis()).await,
        None => Ok(None),
    };
    match live {
        Ok(Some(_)) => {
            let action = format!("{}/sign-in/{token}", home_of(&merchant));
            render(StatusCode::OK, &MagicPage { merchant: &merchant.name, action })
        }
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
) -> Response {
    let merchant = match shop(&state, &slug).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    if let Err(wait) = state.rate_limits.check(&format!("portal-try-ip:{}", client.0), TRIES_PER_IP, WINDOW) {
        let explanation = format!("Too many sign-in tries from your network. Please try again {}.", wait_words(wait));
        return too_many(&merchant, &explanation, wait);
    }
    let Some(token) = MagicLinkToken::parse(&token) else { return link_gone(&merchant) };
    match portal::use_link(&state.db, &merchant.id, token.hash().as_str(), now_millis()).await {
        Ok(Some(customer_id)) => start_session(&state, &merchant, &customer_id, jar).await,
        Ok(None) => link_gone(&merchant),
        Err(e) => internal(e),
    }
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
