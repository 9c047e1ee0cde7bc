//! The people who sign in to a shop (its team) and the invites that add them.
//!
//! A person is a `merchant_users` row with a role; an address signs in to one shop only
//! (`merchant_users.email` is unique). An invite's link token is never stored (see
//! `domain::InviteToken`).

use super::{Db, DbError, new_id, with_pool};
use crate::db::sessions::SessionKind;
use crate::domain::{EmailKind, EmailStatus, INVITE_LIFETIME_MS, Millis, SecretHash, TeamRole};

/// A person who signs in to a shop's dashboard.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    /// Their `merchant_users` id (the id logs name them by).
    pub id: String,
    /// Their shop.
    pub merchant_id: String,
    /// Sign-in address.
    pub email: String,
    /// What they may do.
    pub role: TeamRole,
    /// When they joined.
    pub created_at: Millis,
}

/// An invite as stored (its token is derived from `salt`, never stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invite {
    /// Id.
    pub id: String,
    /// The shop the invite is to.
    pub merchant_id: String,
    /// The invited address.
    pub email: String,
    /// The role the invited person gets.
    pub role: TeamRole,
    /// What the link's token is derived from.
    pub salt: String,
    /// The `merchant_users` id of who invited.
    pub invited_by: String,
    /// When it was made.
    pub created_at: Millis,
    /// When it stops working.
    pub expires_at: Millis,
    /// When it was accepted.
    pub accepted_at: Option<Millis>,
    /// When it was cancelled.
    pub cancelled_at: Option<Millis>,
}

impl Invite {
    /// Whether its link still works at `now`.
    pub fn is_live(&self, now: Millis) -> bool {
        self.accepted_at.is_none() && self.cancelled_at.is_none() && self.expires_at > now
    }
}

/// An open invite on the Team page, with where its email stands.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenInvite {
    /// Id.
    pub id: String,
    /// The invited address.
    pub email: String,
    /// When it was made.
    pub created_at: Millis,
    /// When it stops working.
    pub expires_at: Millis,
    /// The outbox state of its email.
    pub email_status: Option<EmailStatus>,
}

const MEMBER: &str = "id, merchant_id, email, role, created_at";
const INVITE: &str =
    "id, merchant_id, email, role, salt, invited_by, created_at, expires_at, accepted_at, cancelled_at";

/// The person a dashboard session names, if they still belong to the shop (a removed member's
/// session finds nobody).
pub async fn of_session(db: &Db, merchant_id: &str, user_id: &str) -> Result<Option<Member>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {MEMBER} FROM merchant_users WHERE id = $1 AND merchant_id = $2"));
    with_pool!(db, pool => Ok(sqlx::query_as(sql).bind(user_id).bind(merchant_id).fetch_optional(pool).await?))
}

/// A shop's team: owners first, then by when they joined.
pub async fn list(db: &Db, merchant_id: &str) -> Result<Vec<Member>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {MEMBER} FROM merchant_users WHERE merchant_id = $1 \
         ORDER BY CASE WHEN role = 'owner' THEN 0 ELSE 1 END, created_at, id"
    ));
    with_pool!(db, pool => Ok(sqlx::query_as(sql).bind(merchant_id).fetch_all(pool).await?))
}

/// A shop's invites that still work at `now`, newest first.
pub async fn open_invites(db: &Db, merchant_id: &str, now: Millis) -> Result<Vec<OpenInvite>, DbError> {
    with_pool!(db, pool => Ok(sqlx::query_as(
        "SELECT i.id, i.email, i.created_at, i.expires_at, e.status AS email_status \
         FROM team_invites i LEFT JOIN emails e ON e.id = i.email_id \
         WHERE i.merchant_id = $1 AND i.accepted_at IS NULL AND i.cancelled_at IS NULL AND i.expires_at > $2 \
         ORDER BY i.created_at DESC, i.id",
    ).bind(merchant_id).bind(now).fetch_all(pool).await?))
}

/// What asking for an invite did.
#[derive(Debug)]
pub enum Invited {
    /// Made, with its email queued: the invite's id.
    Sent(String),
    /// The address already signs in to this shop.
    AlreadyInTeam,
    /// The address signs in to another shop (an address belongs to one shop).
    InAnotherShop,
    /// The address has an invite to this shop that still works.
    AlreadyInvited,
}

/// A new invite: who to, as what, by whom, and its link's salt and token hash.
#[derive(Debug)]
pub struct NewInvite<'a> {
    /// The shop.
    pub merchant_id: &'a str,
    /// The invited address, normalized.
    pub email: &'a str,
    /// The role they get.
    pub role: TeamRole,
    /// Who invites (a `merchant_users` id).
    pub invited_by: &'a str,
    /// What the token is derived from.
    pub salt: &'a str,
    /// SHA-256 of the token.
    pub token_hash: &'a SecretHash,
}

/// Makes an invite and queues its email, in one transaction, unless the address is taken or
/// already invited. An expired open invite of the same address is closed first, so the
/// address can be invited again.
pub async fn invite(db: &Db, new: &NewInvite<'_>, now: Millis) -> Result<Invited, DbError> {
    let (id, email_id) = (new_id(), new_id());
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        let user: Option<(String,)> = sqlx::query_as("SELECT merchant_id FROM merchant_users WHERE email = $1")
            .bind(new.email).fetch_optional(&mut *tx).await?;
        match user {
            Some((shop,)) if shop == new.merchant_id => return Ok(Invited::AlreadyInTeam),
            Some(_) => return Ok(Invited::InAnotherShop),
            None => {}
        }
        sqlx::query(
            "UPDATE team_invites SET cancelled_at = $3 WHERE merchant_id = $1 AND email = $2 \
             AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at <= $3",
        )
        .bind(new.merchant_id).bind(new.email).bind(now).execute(&mut *tx).await?;
        let open: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM team_invites WHERE merchant_id = $1 AND email = $2 \
             AND accepted_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(new.merchant_id).bind(new.email).fetch_optional(&mut *tx).await?;
        if open.is_some() {
            return Ok(Invited::AlreadyInvited);
        }
        sqlx::query(super::emails::QUEUE)
            .bind(&email_id).bind(new.merchant_id).bind(None::<&str>).bind(EmailKind::TeamInvite).bind(new.email)
            .bind(now).bind(EmailStatus::Queued)
            .execute(&mut *tx).await?;
        let inserted = sqlx::query(
            "INSERT INTO team_invites (id, merchant_id, email, role, salt, token_hash, email_id, invited_by, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id).bind(new.merchant_id).bind(new.email).bind(new.role).bind(new.salt).bind(new.token_hash.as_str())
        .bind(&email_id).bind(new.invited_by).bind(now).bind(now + INVITE_LIFETIME_MS)
        .execute(&mut *tx).await;
        match inserted.map_err(DbError::from) {
            // Two invites of one address at once: the other one won.
            Err(e) if e.is_constraint() => return Ok(Invited::AlreadyInvited),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        tx.commit().await?;
    });
    Ok(Invited::Sent(id))
}

/// The invite an outbox email carries.
pub async fn invite_of_email(db: &Db, email_id: &str) -> Result<Option<Invite>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {INVITE} FROM team_invites WHERE email_id = $1"));
    with_pool!(db, pool => Ok(sqlx::query_as(sql).bind(email_id).fetch_optional(pool).await?))
}

/// The invite a link names, while it works (looking changes nothing, so mail scanners that
/// open links cannot use it up).
pub async fn live_invite(db: &Db, token_hash: &SecretHash, now: Millis) -> Result<Option<Invite>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {INVITE} FROM team_invites WHERE token_hash = $1 \
         AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at > $2"
    ));
    with_pool!(db, pool => Ok(sqlx::query_as(sql).bind(token_hash.as_str()).bind(now).fetch_optional(pool).await?))
}

/// What accepting an invite did.
#[derive(Debug)]
pub enum Accepted {
    /// The person joined the shop.
    Joined(Member),
    /// The link is unknown, used, cancelled or expired.
    Gone,
    /// The address came to sign in to a shop since it was invited (nothing changed).
    AddressTaken,
}

/// Accepts the invite a link names: the person joins its shop with `password_hash`, and the
/// invite is used up, in one transaction. Two uses at once: one wins.
pub async fn accept(db: &Db, token_hash: &SecretHash, password_hash: &str, now: Millis) -> Result<Accepted, DbError> {
    let user_id = new_id();
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        let used: Option<(String, String, TeamRole)> = sqlx::query_as(
            "UPDATE team_invites SET accepted_at = $2, accepted_user_id = $3 WHERE token_hash = $1 \
             AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at > $2 RETURNING merchant_id, email, role",
        )
        .bind(token_hash.as_str()).bind(now).bind(&user_id).fetch_optional(&mut *tx).await?;
        let Some((merchant_id, email, role)) = used else { return Ok(Accepted::Gone) };
        let taken: Option<(String,)> = sqlx::query_as("SELECT id FROM merchant_users WHERE email = $1")
            .bind(&email).fetch_optional(&mut *tx).await?;
        if taken.is_some() {
            return Ok(Accepted::AddressTaken);
        }
        sqlx::query(
            "INSERT INTO merchant_users (id, merchant_id, email, password_hash, created_at, role) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&user_id).bind(&merchant_id).bind(&email).bind(password_hash).bind(now).bind(role)
        .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Accepted::Joined(Member { id: user_id, merchant_id, email, role, created_at: now }))
    })
}

/// Cancels a shop's open invite: its link stops working (and an unsent email is not sent).
/// False when the shop has no such open invite.
pub async fn cancel_invite(db: &Db, merchant_id: &str, invite_id: &str, now: Millis) -> Result<bool, DbError> {
    let done = with_pool!(db, write pool => {
        sqlx::query(
            "UPDATE team_invites SET cancelled_at = $3 WHERE id = $1 AND merchant_id = $2 \
             AND accepted_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(invite_id).bind(merchant_id).bind(now).execute(pool).await?.rows_affected()
    });
    Ok(done == 1)
}

/// What removing someone did.
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    /// Gone, with every session of theirs and their reset links.
    Done,
    /// The shop has nobody with that id.
    NotFound,
    /// Owners are not removed from the dashboard.
    IsOwner,
}

/// Removes a member from a shop, in one transaction with every session of theirs (their next
/// request finds no session) and their password reset links.
pub async fn remove(db: &Db, merchant_id: &str, user_id: &str) -> Result<Removed, DbError> {
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        let role: Option<(TeamRole,)> =
            sqlx::query_as("SELECT role FROM merchant_users WHERE id = $1 AND merchant_id = $2")
                .bind(user_id).bind(merchant_id).fetch_optional(&mut *tx).await?;
        match role {
            None => return Ok(Removed::NotFound),
            Some((TeamRole::Owner,)) => return Ok(Removed::IsOwner),
            Some((TeamRole::Member,)) => {}
        }
        sqlx::query("DELETE FROM sessions WHERE kind = $1 AND subject_id = $2")
            .bind(SessionKind::Merchant.as_str()).bind(user_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM merchant_users WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Removed::Done)
    })
}
