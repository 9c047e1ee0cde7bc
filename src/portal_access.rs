//! Customers getting into a shop's portal: asking for a sign-in code (sent by email with a
//! magic link), signing in with the code or the link, signing out.
//!
//! Asking for a code gets the same answer whether or not the address ever bought from the shop,
//! and no email goes to an address that did not; wrong, missing and expired codes are all
//! refused alike, and an address without a code locks after as many tries as one with a code.
//! Every limit counts per shop and per network, in one window.

use std::time::Duration;

use crate::db::DbError;
use crate::db::merchants::Merchant;
use crate::db::portal::{self, CodeTry};
use crate::db::sessions::{self, SessionKind};
use crate::domain::{Email, MAX_WRONG_CODES, MagicLinkToken, SignInCode, new_sign_in_salt, now_millis};
use crate::state::AppState;

/// The window every sign-in limit counts in.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Codes one address may ask for per window (at one shop).
const CODES_PER_ADDRESS: u32 = 5;
/// Codes one IP address may ask for per window, whatever the email.
const CODES_PER_IP: u32 = 20;
/// Codes and magic links one IP address may try per window.
const TRIES_PER_IP: u32 = 30;

/// Why a customer is not let in (or not sent a code).
#[derive(Debug, thiserror::Error)]
pub enum SignInRefused {
    /// Too many codes were asked for from this network; try again after the wait.
    #[error("too many codes asked for from this network")]
    NetworkAskedTooOften(Duration),
    /// Too many codes were asked for this address at this shop.
    #[error("too many codes asked for this address")]
    AddressAskedTooOften(Duration),
    /// Too many codes or links were tried from this network.
    #[error("too many sign-in tries from this network")]
    NetworkTriedTooOften(Duration),
    /// The code is wrong, expired, or there is none (the same answer for each).
    #[error("the code is wrong or expired")]
    WrongCode,
    /// Too many wrong codes: this code no longer works, even typed right.
    #[error("too many wrong codes")]
    Locked,
    /// The magic link is unknown, used or expired.
    #[error("the sign-in link is used or expired")]
    LinkGone,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A session a customer signed in to: the secret to put in their cookie.
pub struct PortalSession {
    /// The session's secret (the cookie's value).
    pub secret: String,
}

/// Asks for a code for `email` at `merchant`'s shop, from the network `client_ip`. When the
/// address bought there, a code is issued, its email queued and the outbox woken; otherwise
/// nothing happens, and the answer is the same.
pub async fn ask_for_code(
    state: &AppState,
    merchant: &Merchant,
    client_ip: &str,
    email: &Email,
) -> Result<(), SignInRefused> {
    let limits = &state.rate_limits;
    limits
        .check(&format!("portal-ip:{client_ip}"), CODES_PER_IP, WINDOW)
        .await?
        .map_err(SignInRefused::NetworkAskedTooOften)?;
    let per_address = format!("portal-email:{}:{}", merchant.id, email.as_str());
    limits.check(&per_address, CODES_PER_ADDRESS, WINDOW).await?.map_err(SignInRefused::AddressAskedTooOften)?;
    let salt = new_sign_in_salt();
    let link = MagicLinkToken::derive(&state.secrets.key(), &salt);
    let issued =
        portal::request_code(&state.db, &merchant.id, email, &salt, link.hash().as_str(), now_millis()).await?;
    // Not a customer of this shop: nothing is queued.
    if issued.is_some() {
        state.mail.wake();
    }
    Ok(())
}

/// Signs `email` in at `merchant`'s shop with the code they typed.
pub async fn sign_in_with_code(
    state: &AppState,
    merchant: &Merchant,
    client_ip: &str,
    email: &Email,
    typed: &SignInCode,
) -> Result<PortalSession, SignInRefused> {
    count_try(state, client_ip).await?;
    let now = now_millis();
    match portal::try_code(&state.db, &merchant.id, email, now).await? {
        CodeTry::Counted(sign_in) => {
            let right = SignInCode::derive(&state.secrets.key(), &sign_in.salt).matches(typed)
                && portal::code_was_right(&state.db, &sign_in.id, now).await?;
            if !right {
                return Err(SignInRefused::WrongCode);
            }
            start_session(state, merchant, &sign_in.customer_id).await
        }
        CodeTry::NoCode => {
            // An address with no live code locks after as many tries as one with a code, so
            // the answers cannot tell customers from strangers.
            let key = format!("portal-no-code:{}:{}", merchant.id, email.as_str());
            match state.rate_limits.check(&key, MAX_WRONG_CODES as u32, WINDOW).await? {
                Ok(()) => Err(SignInRefused::WrongCode),
                Err(_) => Err(SignInRefused::Locked),
            }
        }
        CodeTry::Locked => Err(SignInRefused::Locked),
    }
}

/// Whether the magic link `link` of `merchant`'s shop still signs in (looking changes nothing,
/// so mail scanners that open links cannot use it up).
pub async fn link_is_live(state: &AppState, merchant: &Merchant, link: &MagicLinkToken) -> Result<bool, DbError> {
    let live = portal::live_link(&state.db, &merchant.id, link.hash().as_str(), now_millis()).await?;
    Ok(live.is_some())
}

/// Signs in with the magic link `link` (it works once).
pub async fn sign_in_with_link(
    state: &AppState,
    merchant: &Merchant,
    client_ip: &str,
    link: &MagicLinkToken,
) -> Result<PortalSession, SignInRefused> {
    count_try(state, client_ip).await?;
    match portal::use_link(&state.db, &merchant.id, link.hash().as_str(), now_millis()).await? {
        Some(customer_id) => start_session(state, merchant, &customer_id).await,
        None => Err(SignInRefused::LinkGone),
    }
}

/// Ends the session whose secret is `secret` (a cookie kept elsewhere no longer signs in).
pub async fn sign_out(state: &AppState, secret: &str) -> Result<(), DbError> {
    sessions::end(&state.db, secret).await
}

async fn count_try(state: &AppState, client_ip: &str) -> Result<(), SignInRefused> {
    let key = format!("portal-try-ip:{client_ip}");
    state.rate_limits.check(&key, TRIES_PER_IP, WINDOW).await?.map_err(SignInRefused::NetworkTriedTooOften)
}

async fn start_session(
    state: &AppState,
    merchant: &Merchant,
    customer_id: &str,
) -> Result<PortalSession, SignInRefused> {
    let secret = sessions::start(&state.db, SessionKind::Customer, &merchant.id, customer_id).await?;
    Ok(PortalSession { secret })
}
