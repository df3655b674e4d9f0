//! API keys: the SQL behind the key methods of [`crate::Store`].

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::model::*;
use crate::sql::SqlStore;
use crate::traits::Result;
use crate::StoreError;

const COLUMNS: &str = "id, secret_hash, name, created_at, revoked_at";

fn from_row(row: &AnyRow) -> Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: row.try_get("id")?,
        secret_hash: row.try_get("secret_hash")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl SqlStore {
    pub(crate) async fn insert_api_key(&self, k: &ApiKeyRecord) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO api_keys (id, secret_hash, name, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(k.id.as_str())
        .bind(k.secret_hash.as_str())
        .bind(k.name.as_str())
        .bind(k.created_at)
        .bind(k.revoked_at)
        .execute(self.pool())
        .await;
        match done {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db))
                if db.kind() == sqlx::error::ErrorKind::UniqueViolation =>
            {
                Err(StoreError::Conflict("an API key with this id"))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn api_key_by_id(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn all_api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC, id");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    pub(crate) async fn revoke_key_row(&self, id: &str, now: Millis) -> Result<bool> {
        let n =
            sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(self.pool())
                .await?
                .rows_affected();
        Ok(n > 0)
    }
}
