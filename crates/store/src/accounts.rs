//! Accounts and signed-in sessions: the SQL behind the account methods of [`crate::Store`], kept apart
//! from the meeting records in sql.rs.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::model::*;
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;
use crate::StoreError;

const USER_COLUMNS: &str = "id, name, display_name, password_hash, is_admin, disabled, created_at";

/// A session is marked used at most this often (every request of a signed-in browser would be a write).
const TOUCH_EVERY_MS: i64 = 60_000;

fn user_from_row(row: &AnyRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: UserId(row.try_get("id")?),
        email: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

impl SqlStore {
    pub(crate) async fn create_user_row(&self, u: &NewUser) -> Result<UserId> {
        let inserted = sqlx::query_scalar(
            "INSERT INTO users (name, display_name, password_hash, is_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(u.email.as_str())
        .bind(u.display_name.as_str())
        .bind(u.password_hash.as_str())
        .bind(i64::from(u.is_admin))
        .bind(u.created_at)
        .fetch_one(self.pool())
        .await;
        match inserted {
            Ok(id) => Ok(UserId(id)),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Conflict("an account with this email"))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn user_row(&self, id: UserId) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn user_row_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        let row = sqlx::query(&sql)
            .bind(email)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn count_user_rows(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await?)
    }

    pub(crate) async fn set_password_and_revoke(
        &self,
        id: UserId,
        hash: &str,
        now: Millis,
    ) -> Result<()> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let n = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(id.0)
            .bind(hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("user"));
        }
        sqlx::query(
            "UPDATE auth_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(id.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn set_flags(
        &self,
        id: UserId,
        is_admin: Option<bool>,
        disabled: Option<bool>,
    ) -> Result<()> {
        // A flag left out keeps its value: COALESCE of a NULL parameter.
        let n = sqlx::query(
            "UPDATE users SET is_admin = COALESCE($2, is_admin), disabled = COALESCE($3, disabled) \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(is_admin.map(i64::from))
        .bind(disabled.map(i64::from))
        .execute(self.pool())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    pub(crate) async fn insert_auth_session(&self, s: &NewAuthSession) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO auth_sessions (user_id, token_hash, created_at, expires_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $3) RETURNING id",
        )
        .bind(s.user.0)
        .bind(s.token_hash.as_str())
        .bind(s.created_at)
        .bind(s.expires_at)
        .fetch_one(self.pool())
        .await?)
    }

    pub(crate) async fn live_auth_session(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<(AuthSessionRecord, UserRecord)>> {
        let sql = "SELECT s.id AS sid, s.created_at AS s_created, s.expires_at, s.last_used_at, \
             u.id, u.name, u.display_name, u.password_hash, u.is_admin, u.disabled, u.created_at \
             FROM auth_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.disabled = 0";
        let Some(row) = sqlx::query(sql)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let session = AuthSessionRecord {
            id: row.try_get("sid")?,
            user: UserId(row.try_get("id")?),
            created_at: row.try_get("s_created")?,
            expires_at: row.try_get("expires_at")?,
            last_used_at: row.try_get("last_used_at")?,
        };
        let user = user_from_row(&row)?;
        if now - session.last_used_at >= TOUCH_EVERY_MS {
            sqlx::query("UPDATE auth_sessions SET last_used_at = $2 WHERE id = $1")
                .bind(session.id)
                .bind(now)
                .execute(self.pool())
                .await?;
        }
        Ok(Some((session, user)))
    }

    pub(crate) async fn revoke_session_row(&self, token_hash: &str, now: Millis) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE auth_sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n > 0)
    }
}
