//! Blobs in the database, for a cluster: every node reads the bytes any node stored (the server's
//! `files/db_blob.rs` is the blob store on top). The SQL behind the blob methods of
//! [`crate::Store`]: a blob is a row, written in numbered chunks, seen only once committed.

use sqlx::Row;

use crate::model::Millis;
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;

impl SqlStore {
    pub(crate) async fn insert_blob(&self, key: &str, now: Millis) -> Result<()> {
        sqlx::query("INSERT INTO blobs (blob_key, created_at) VALUES ($1, $2)")
            .bind(key)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub(crate) async fn insert_blob_chunk(&self, key: &str, seq: i64, data: &[u8]) -> Result<()> {
        sqlx::query("INSERT INTO blob_chunks (blob_key, seq, data) VALUES ($1, $2, $3)")
            .bind(key)
            .bind(seq)
            .bind(data.to_vec())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub(crate) async fn commit_blob_row(&self, key: &str, size: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE blobs SET committed = 1, size = $2 WHERE blob_key = $1 AND committed = 0",
        )
        .bind(key)
        .bind(size)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn committed_blob_size(&self, key: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT size FROM blobs WHERE blob_key = $1 AND committed = 1")
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("size")).transpose()?)
    }

    pub(crate) async fn blob_chunk_data(&self, key: &str, seq: i64) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT data FROM blob_chunks WHERE blob_key = $1 AND seq = $2")
            .bind(key)
            .bind(seq)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("data")).transpose()?)
    }

    pub(crate) async fn remove_blob(&self, key: &str) -> Result<()> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        // Chunks first: on a database whose foreign keys do not cascade they would be left.
        sqlx::query("DELETE FROM blob_chunks WHERE blob_key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM blobs WHERE blob_key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn remove_uncommitted_blobs(&self, created_before: Millis) -> Result<u64> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let old = "SELECT blob_key FROM blobs WHERE committed = 0 AND created_at < $1";
        sqlx::query(&format!(
            "DELETE FROM blob_chunks WHERE blob_key IN ({old})"
        ))
        .bind(created_before)
        .execute(&mut *tx)
        .await?;
        let gone = sqlx::query("DELETE FROM blobs WHERE committed = 0 AND created_at < $1")
            .bind(created_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(gone.rows_affected())
    }
}
