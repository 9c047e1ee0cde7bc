//! Several people per shop: the owner invites someone by email (a link through the outbox,
//! single use, 7 days), the invited person chooses their own password and is signed in, and
//! the owner removes members or cancels invites (a removed member's sessions end at once).
//!
//! Roles: the owner does everything; members do the shop's day-to-day work but nothing that
//! grants access to it (the team, API keys, payment webhook secrets). An address signs in to
//! one shop: inviting an address that signs in elsewhere is refused, saying so.
//! Logs name people by id, never by address.

use std::time::Duration;

use crate::accounts::blocking_hash;
use crate::db::members::{self, Accepted, Invite, Invited, Member, NewInvite, Removed};
use crate::db::sessions::{self, SessionKind};
use crate::db::{DbError, merchants};
use crate::domain::{Email, Invalid, InviteToken, TeamRole, now_millis};
use crate::state::AppState;

/// The window the limits below count in.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Invites one shop may send per window (each is an email from this server).
const INVITES_PER_SHOP: u32 = 10;
/// Invite links one network may use or try per window.
const LINK_TRIES_PER_IP: u32 = 30;

/// Who asks for a team change.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// Their shop.
    pub merchant_id: &'a str,
    /// Their `merchant_users` id.
    pub user_id: &'a str,
    /// Their role.
    pub role: TeamRole,
}

/// Why a team change was refused.
#[derive(Debug, thiserror::Error)]
pub enum TeamRefused {
    /// Only the owner manages the team.
    #[error("only the shop's owner can change the team")]
    NotOwner,
    /// The address already signs in to this shop.
    #[error("this address is already in the team")]
    AlreadyInTeam,
    /// The address signs in to another shop.
    #[error("this address signs in to another shop")]
    InAnotherShop,
    /// The address has an invite that still works.
    #[error("this address already has an open invite")]
    AlreadyInvited,
    /// Too many invites or link tries; try again after the wait.
    #[error("too many tries")]
    TooManyTries(Duration),
    /// The invite link is unknown, used, cancelled or expired.
    #[error("the invite is used, cancelled or expired")]
    LinkGone,
    /// The invited address came to sign in to a shop since.
    #[error("this address already signs in to a shop")]
    AddressTaken,
    /// No such member or open invite in this shop.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Owners are not removed from the dashboard.
    #[error("the owner cannot be removed")]
    IsOwner,
    /// The password breaks a rule (too short).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Hashing failed unexpectedly.
    #[error("could not hash the password: {0}")]
    Hashing(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::accounts::PasswordRefused> for TeamRefused {
    fn from(e: crate::accounts::PasswordRefused) -> TeamRefused {
        use crate::accounts::PasswordRefused as P;
        match e {
            P::Invalid(invalid) => TeamRefused::Invalid(invalid),
            P::Db(e) => TeamRefused::Db(e),
            other => TeamRefused::Hashing(other.to_string()),
        }
    }
}

fn owner_only(actor: Actor<'_>) -> Result<(), TeamRefused> {
    match actor.role {
        TeamRole::Owner => Ok(()),
        TeamRole::Member => Err(TeamRefused::NotOwner),
    }
}

/// Invites `email` to the actor's shop as a member: the invite and its email are stored in one
/// transaction and the outbox sends the link. Returns the invite's id.
#[tracing::instrument(skip_all, fields(merchant_id = actor.merchant_id, user_id = actor.user_id))]
pub async fn invite(state: &AppState, actor: Actor<'_>, email: &Email) -> Result<String, TeamRefused> {
    owner_only(actor)?;
    let key = format!("team-invite:{}", actor.merchant_id);
    state.rate_limits.check(&key, INVITES_PER_SHOP, WINDOW).await?.map_err(TeamRefused::TooManyTries)?;
    let salt = InviteToken::new_salt();
    let token = InviteToken::derive(&state.secrets.key(), &salt);
    let new = NewInvite {
        merchant_id: actor.merchant_id,
        email: email.as_str(),
        role: TeamRole::Member,
        invited_by: actor.user_id,
        salt: &salt,
        token_hash: &token.hash(),
    };
    match members::invite(&state.db, &new, now_millis()).await? {
        Invited::Sent(invite_id) => {
            state.mail.wake();
            tracing::info!(invite_id, "team invite queued");
            Ok(invite_id)
        }
        Invited::AlreadyInTeam => Err(TeamRefused::AlreadyInTeam),
        Invited::InAnotherShop => Err(TeamRefused::InAnotherShop),
        Invited::AlreadyInvited => Err(TeamRefused::AlreadyInvited),
    }
}

/// The invite a link names while it works, with its shop's name (looking changes nothing,
/// so mail scanners that open links cannot use it up).
pub async fn live_invite(state: &AppState, token: &InviteToken) -> Result<Option<(Invite, String)>, DbError> {
    let Some(invite) = members::live_invite(&state.db, &token.hash(), now_millis()).await? else { return Ok(None) };
    let shop = merchants::get(&state.db, &invite.merchant_id).await?.name;
    Ok(Some((invite, shop)))
}

/// Accepts an invite: the person joins the shop with the password they chose and is signed
/// in. Returns them and their new session's cookie secret.
#[tracing::instrument(skip_all)]
pub async fn accept(
    state: &AppState,
    client_ip: &str,
    token: &InviteToken,
    password: &str,
) -> Result<(Member, String), TeamRefused> {
    let key = format!("invite-try-ip:{client_ip}");
    state.rate_limits.check(&key, LINK_TRIES_PER_IP, WINDOW).await?.map_err(TeamRefused::TooManyTries)?;
    if members::live_invite(&state.db, &token.hash(), now_millis()).await?.is_none() {
        return Err(TeamRefused::LinkGone);
    }
    let hash = blocking_hash(password).await?;
    let member = match members::accept(&state.db, &token.hash(), &hash, now_millis()).await? {
        Accepted::Joined(member) => member,
        Accepted::Gone => return Err(TeamRefused::LinkGone),
        Accepted::AddressTaken => return Err(TeamRefused::AddressTaken),
    };
    let secret = sessions::start(&state.db, SessionKind::Merchant, &member.merchant_id, &member.id).await?;
    tracing::info!(merchant_id = %member.merchant_id, user_id = %member.id, "team invite accepted; member signed in");
    Ok((member, secret))
}

/// Cancels an open invite of the actor's shop: its link stops working at once.
#[tracing::instrument(skip_all, fields(merchant_id = actor.merchant_id, user_id = actor.user_id, invite_id = invite_id))]
pub async fn cancel(state: &AppState, actor: Actor<'_>, invite_id: &str) -> Result<(), TeamRefused> {
    owner_only(actor)?;
    if !members::cancel_invite(&state.db, actor.merchant_id, invite_id, now_millis()).await? {
        return Err(TeamRefused::NotFound("invite"));
    }
    tracing::info!("team invite cancelled");
    Ok(())
}

/// Removes a member of the actor's shop; every session of theirs ends in the same
/// transaction, so their next request is sent to the sign-in form.
#[tracing::instrument(skip_all, fields(merchant_id = actor.merchant_id, user_id = actor.user_id, member_id = member_id))]
pub async fn remove(state: &AppState, actor: Actor<'_>, member_id: &str) -> Result<(), TeamRefused> {
    owner_only(actor)?;
    match members::remove(&state.db, actor.merchant_id, member_id).await? {
        Removed::Done => {
            tracing::info!("team member removed; their sessions ended");
            Ok(())
        }
        Removed::NotFound => Err(TeamRefused::NotFound("member")),
        Removed::IsOwner => Err(TeamRefused::IsOwner),
    }
}
