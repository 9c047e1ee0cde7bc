//! Dashboard users' passwords: changing one when signed in, resetting a forgotten one by email
//! ("Forgot password?"), and the operator's reset from the command line.
//!
//! Asking for a reset gets the same answer whether or not the address has an account, and no
//! email goes to an address without one. A reset link works once, for 30 minutes; using it,
//! or changing the password, ends the user's other links and signs out their sessions.

use std::time::Duration;

use crate::db::merchants::{self, MerchantUser};
use crate::db::passwords;
use crate::db::{Db, DbError};
use crate::domain::{Email, Invalid, PasswordResetToken, SecretHash, hash_password, now_millis, verify_password};
use crate::state::AppState;

/// The window the limits below count in.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Reset emails one address may be sent per window.
const RESETS_PER_ADDRESS: u32 = 3;
/// Resets one network may ask for per window, whatever the address.
const RESETS_PER_IP: u32 = 10;
/// Wrong current passwords one user may type per window when changing it.
const WRONG_CURRENT_PER_USER: u32 = 10;
/// Reset links one network may use or try per window.
const LINK_TRIES_PER_IP: u32 = 30;

/// Why a password was not changed or reset.
#[derive(Debug, thiserror::Error)]
pub enum PasswordRefused {
    /// The current password typed is wrong.
    #[error("the current password is wrong")]
    WrongCurrent,
    /// The new password breaks a rule (too short).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Too many tries; try again after the wait.
    #[error("too many tries")]
    TooManyTries(Duration),
    /// The reset link is unknown, used or expired.
    #[error("the reset link is used or expired")]
    LinkGone,
    /// Hashing failed unexpectedly.
    #[error("could not hash the password: {0}")]
    Hashing(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Changes the signed-in user's password after checking `current`, and signs out their other
/// sessions (`keep` is this session's cookie secret). Wrong current passwords are limited per
/// user, so a stolen session cannot guess it at leisure.
pub async fn change_password(
    state: &AppState,
    user_id: &str,
    keep: &str,
    current: &str,
    new: &str,
) -> Result<(), PasswordRefused> {
    let user = merchants::user(&state.db, user_id).await?;
    let key = format!("password-change:{user_id}");
    state.rate_limits.check(&key, WRONG_CURRENT_PER_USER, WINDOW).await?.map_err(PasswordRefused::TooManyTries)?;
    if !blocking_verify(current, &user.password_hash).await? {
        return Err(PasswordRefused::WrongCurrent);
    }
    state.rate_limits.forgive(&key).await?;
    let hash = blocking_hash(new).await?;
    passwords::set_password(&state.db, user_id, &hash, Some(&SecretHash::of(keep)), now_millis()).await?;
    tracing::info!(user_id, "dashboard password changed; other sessions signed out");
    Ok(())
}

/// "Forgot password?": when `email` signs in to a shop, a reset link is made and emailed
/// through the outbox; otherwise nothing happens. Either way the caller answers the same.
pub async fn ask_for_reset(state: &AppState, client_ip: &str, email: &Email) -> Result<(), PasswordRefused> {
    let limits = &state.rate_limits;
    limits
        .check(&format!("reset-ip:{client_ip}"), RESETS_PER_IP, WINDOW)
        .await?
        .map_err(PasswordRefused::TooManyTries)?;
    let per_address = format!("reset-email:{}", email.as_str());
    limits.check(&per_address, RESETS_PER_ADDRESS, WINDOW).await?.map_err(PasswordRefused::TooManyTries)?;
    let Some(user) = merchants::user_by_email(&state.db, email).await? else {
        tracing::info!("password reset asked for an address with no account; nothing sent");
        return Ok(());
    };
    let salt = PasswordResetToken::new_salt();
    let token = PasswordResetToken::derive(&state.secrets.key(), &salt);
    passwords::request_reset(&state.db, &user.merchant_id, &user.id, &user.email, &salt, &token.hash(), now_millis())
        .await?;
    state.mail.wake();
    Ok(())
}

/// Whether a reset link still works (looking changes nothing, so mail scanners that open
/// links cannot use it up).
pub async fn reset_link_is_live(state: &AppState, token: &PasswordResetToken) -> Result<bool, DbError> {
    Ok(passwords::live_reset(&state.db, &token.hash(), now_millis()).await?.is_some())
}

/// Sets a new password through a reset link (it works once), signing out every session of
/// the user; they sign in with the new password.
pub async fn reset_with_link(
    state: &AppState,
    client_ip: &str,
    token: &PasswordResetToken,
    new: &str,
) -> Result<(), PasswordRefused> {
    let key = format!("reset-try-ip:{client_ip}");
    state.rate_limits.check(&key, LINK_TRIES_PER_IP, WINDOW).await?.map_err(PasswordRefused::TooManyTries)?;
    if !reset_link_is_live(state, token).await? {
        return Err(PasswordRefused::LinkGone);
    }
    let hash = blocking_hash(new).await?;
    match passwords::use_reset(&state.db, &token.hash(), &hash, now_millis()).await? {
        Some(user_id) => {
            tracing::info!(user_id, "dashboard password reset by email; every session signed out");
            Ok(())
        }
        None => Err(PasswordRefused::LinkGone),
    }
}

/// The operator's reset: a new random password for the user named by `who` (a sign-in email,
/// an owner's or a member's, or a shop's slug or id for its owner), every session of theirs
/// signed out. Returns the user and the password, to be printed once.
pub async fn reset_from_cli(db: &Db, who: &str) -> anyhow::Result<(MerchantUser, String)> {
    use anyhow::Context;
    let user = match Email::parse("--merchant", who) {
        Ok(email) => merchants::user_by_email(db, &email)
            .await?
            .with_context(|| format!("no dashboard user signs in as {who}"))?,
        Err(_) => {
            let merchant = merchants::find(db, who).await.with_context(|| format!("no merchant {who}"))?;
            let owners: Vec<_> = crate::db::members::list(db, &merchant.id)
                .await?
                .into_iter()
                .filter(|m| m.role == crate::domain::TeamRole::Owner)
                .collect();
            anyhow::ensure!(
                owners.len() == 1,
                "{} has {} owners; name one by email: --merchant <email>",
                merchant.slug,
                owners.len()
            );
            merchants::user(db, &owners[0].id).await?
        }
    };
    let password = merchants::generate_password();
    let hash = blocking_hash(&password).await?;
    passwords::set_password(db, &user.id, &hash, None, now_millis()).await?;
    Ok((user, password))
}

/// argon2 is slow on purpose: off the async threads.
pub(crate) async fn blocking_hash(password: &str) -> Result<String, PasswordRefused> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| PasswordRefused::Hashing(e.to_string()))?
        .map_err(PasswordRefused::Invalid)
}

async fn blocking_verify(password: &str, stored: &str) -> Result<bool, PasswordRefused> {
    let (password, stored) = (password.to_owned(), stored.to_owned());
    tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(|e| PasswordRefused::Hashing(e.to_string()))
}
