//! Dashboard passwords: changing one (ending the user's other sessions) and resets by email
//! (see `domain::PasswordResetToken`): asked for, looked at, used once.

use super::{Db, DbError, new_id, with_pool};
use crate::db::sessions::SessionKind;
use crate::domain::{EmailKind, EmailStatus, Millis, PASSWORD_RESET_LIFETIME_MS, SecretHash};

/// A password reset as stored (its token is derived from `salt`, never stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasswordReset {
    /// Id.
    pub id: String,
    /// The user's shop.
    pub merchant_id: String,
    /// Whose password it resets.
    pub user_id: String,
    /// What the link's token is derived from.
    pub salt: String,
    /// When it stops working.
    pub expires_at: Millis,
    /// When it was used, or ended by another reset or a password change.
    pub used_at: Option<Millis>,
}

const COLUMNS: &str = "id, merchant_id, user_id, salt, expires_at, used_at";

/// Sets the password hash of dashboard user `user_id`, and in the same transaction signs out
/// every session of theirs but `keep` (the one that made the change; its cookie's
/// [`SecretHash`]) and ends their unused resets: whoever knew the old password, or holds an
/// old link, is out.
pub async fn set_password(
    db: &Db,
    user_id: &str,
    hash: &str,
    keep: Option<&SecretHash>,
    now: Millis,
) -> Result<(), DbError> {
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        let changed = sqlx::query("UPDATE merchant_users SET password_hash = $2 WHERE id = $1")
            .bind(user_id).bind(hash).execute(&mut *tx).await?.rows_affected();
        if changed == 0 {
            return Err(DbError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE kind = $1 AND subject_id = $2 AND id_hash <> $3")
            .bind(SessionKind::Merchant.as_str()).bind(user_id).bind(keep.map_or("", |k| k.as_str()))
            .execute(&mut *tx).await?;
        sqlx::query("UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id).bind(now).execute(&mut *tx).await?;
        tx.commit().await?;
    });
    Ok(())
}

/// Starts a reset of `user_id`'s password, with `salt` and the SHA-256 of its token, and
/// queues the email that carries its link to `to_address`, in one transaction; returns the
/// email's id. Earlier resets stay usable until they expire or one of them is used.
pub async fn request_reset(
    db: &Db,
    merchant_id: &str,
    user_id: &str,
    to_address: &str,
    salt: &str,
    token_hash: &SecretHash,
    now: Millis,
) -> Result<String, DbError> {
    let email_id = new_id();
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        sqlx::query(super::emails::QUEUE)
            .bind(&email_id).bind(merchant_id).bind(None::<&str>).bind(EmailKind::PasswordReset).bind(to_address)
            .bind(now).bind(EmailStatus::Queued)
            .execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO password_resets (id, merchant_id, user_id, salt, token_hash, email_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id()).bind(merchant_id).bind(user_id).bind(salt).bind(token_hash.as_str()).bind(&email_id)
        .bind(now).bind(now + PASSWORD_RESET_LIFETIME_MS)
        .execute(&mut *tx).await?;
        tx.commit().await?;
    });
    Ok(email_id)
}

/// The reset an outbox email carries.
pub async fn reset_of_email(db: &Db, email_id: &str) -> Result<Option<PasswordReset>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM password_resets WHERE email_id = $1"));
    with_pool!(db, pool => Ok(sqlx::query_as(sql).bind(email_id).fetch_optional(pool).await?))
}

/// The reset a link names, while it works (looking changes nothing, so mail scanners that
/// open links cannot use it up).
pub async fn live_reset(db: &Db, token_hash: &SecretHash, now: Millis) -> Result<Option<PasswordReset>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
    ));
    with_pool!(db, pool => Ok(sqlx::query_as(sql).bind(token_hash.as_str()).bind(now).fetch_optional(pool).await?))
}

/// Uses the reset a link names, if it still works: sets the password hash, ends every reset
/// of the user and every session of theirs, in one transaction. Returns the user's id; None
/// when the link is unknown, used or expired (nothing changed). Two uses at once: one wins.
pub async fn use_reset(
    db: &Db,
    token_hash: &SecretHash,
    password_hash: &str,
    now: Millis,
) -> Result<Option<String>, DbError> {
    with_pool!(db, pool, begin => {
        let mut tx = pool.begin_with(begin).await?;
        let used: Option<(String,)> = sqlx::query_as(
            "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING user_id",
        )
        .bind(token_hash.as_str()).bind(now).fetch_optional(&mut *tx).await?;
        let Some((user_id,)) = used else { return Ok(None) };
        sqlx::query("UPDATE merchant_users SET password_hash = $2 WHERE id = $1")
            .bind(&user_id).bind(password_hash).execute(&mut *tx).await?;
        sqlx::query("UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
            .bind(&user_id).bind(now).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sessions WHERE kind = $1 AND subject_id = $2")
            .bind(SessionKind::Merchant.as_str()).bind(&user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(user_id))
    })
}
