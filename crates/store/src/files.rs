//! Files shared in meetings: their records (the bytes are in the server's blob store) and the SQL
//! behind the file methods of [`crate::Store`].

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::model::{MeetingId, Millis, SessionId};
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;
use crate::StoreError;

/// A file whose bytes are stored, to be recorded in its meeting.
#[derive(Clone, Debug, PartialEq)]
pub struct NewFile {
    /// Unguessable (the caller makes it random), unique.
    pub public_id: String,
    pub meeting: MeetingId,
    /// The sharer's session; its participant id and display name are recorded with the file.
    pub session: SessionId,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub blob_key: String,
    pub preview_key: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FileRecord {
    pub id: i64,
    pub public_id: String,
    pub meeting: MeetingId,
    pub session: SessionId,
    pub participant_id: String,
    pub display_name: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub blob_key: String,
    pub preview_key: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub created_at: Millis,
}

/// What recording a file came to.
#[derive(Clone, Debug, PartialEq)]
pub enum FileInsert {
    Stored(Box<FileRecord>),
    /// The meeting's files already hold `used` bytes, and this one would take them over the quota.
    OverQuota {
        used: i64,
    },
}

const COLUMNS: &str = "id, public_id, meeting_id, session_id, participant_id, display_name, name, \
     content_type, size, sha256, blob_key, preview_key, width, height, created_at";

fn from_row(row: &AnyRow) -> Result<FileRecord> {
    Ok(FileRecord {
        id: row.try_get("id")?,
        public_id: row.try_get("public_id")?,
        meeting: MeetingId(row.try_get("meeting_id")?),
        session: SessionId(row.try_get("session_id")?),
        participant_id: row.try_get("participant_id")?,
        display_name: row.try_get("display_name")?,
        name: row.try_get("name")?,
        content_type: row.try_get("content_type")?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
        blob_key: row.try_get("blob_key")?,
        preview_key: row.try_get("preview_key")?,
        width: row.try_get("width")?,
        height: row.try_get("height")?,
        created_at: row.try_get("created_at")?,
    })
}

impl SqlStore {
    pub(crate) async fn insert_file(&self, f: &NewFile, quota: i64) -> Result<FileInsert> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        // (SUM of a BIGINT is NUMERIC on PostgreSQL, hence the casts below.)
        // Touching the meeting row locks it until commit (as a chat append does), so two uploads to
        // one meeting cannot both pass the quota on PostgreSQL; SQLite serialises writers anyway.
        let touched = sqlx::query("UPDATE meetings SET last_seen_at = last_seen_at WHERE id = $1")
            .bind(f.meeting.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if touched == 0 {
            return Err(StoreError::NotFound("meeting"));
        }
        let sharer = sqlx::query(
            "SELECT participant_id, display_name FROM participant_sessions \
             WHERE id = $1 AND meeting_id = $2",
        )
        .bind(f.session.0)
        .bind(f.meeting.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("session in this meeting"))?;
        let used: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM meeting_files WHERE meeting_id = $1",
        )
        .bind(f.meeting.0)
        .fetch_one(&mut *tx)
        .await?;
        if used.saturating_add(f.size) > quota {
            tx.rollback().await?;
            return Ok(FileInsert::OverQuota { used });
        }
        let participant_id: String = sharer.try_get("participant_id")?;
        let display_name: String = sharer.try_get("display_name")?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO meeting_files (public_id, meeting_id, session_id, participant_id, \
             display_name, name, content_type, size, sha256, blob_key, preview_key, width, height, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             RETURNING id",
        )
        .bind(f.public_id.as_str())
        .bind(f.meeting.0)
        .bind(f.session.0)
        .bind(participant_id.as_str())
        .bind(display_name.as_str())
        .bind(f.name.as_str())
        .bind(f.content_type.as_str())
        .bind(f.size)
        .bind(f.sha256.as_str())
        .bind(f.blob_key.as_str())
        .bind(f.preview_key.as_deref())
        .bind(f.width)
        .bind(f.height)
        .bind(f.created_at)
        .fetch_one(&mut *tx)
        .await?;
        let data = serde_json::json!({
            "file_id": f.public_id,
            "participant_id": participant_id,
            "display_name": display_name,
            "name": f.name,
            "content_type": f.content_type,
            "size": f.size,
            "sha256": f.sha256,
        });
        crate::outbox::append(&mut tx, f.meeting, "file_shared", data, f.created_at).await?;
        tx.commit().await?;
        Ok(FileInsert::Stored(Box::new(FileRecord {
            id,
            public_id: f.public_id.clone(),
            meeting: f.meeting,
            session: f.session,
            participant_id,
            display_name,
            name: f.name.clone(),
            content_type: f.content_type.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
            blob_key: f.blob_key.clone(),
            preview_key: f.preview_key.clone(),
            width: f.width,
            height: f.height,
            created_at: f.created_at,
        })))
    }

    pub(crate) async fn file_by_public_id(&self, public_id: &str) -> Result<Option<FileRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM meeting_files WHERE public_id = $1");
        let row = sqlx::query(&sql)
            .bind(public_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn files_of(&self, meeting: MeetingId, limit: i64) -> Result<Vec<FileRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM meeting_files WHERE meeting_id = $1 ORDER BY id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(meeting.0)
            // PostgreSQL rejects a negative LIMIT; treat it as "none".
            .bind(limit.max(0))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub(crate) async fn bytes_of(&self, meeting: MeetingId) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM meeting_files WHERE meeting_id = $1",
        )
        .bind(meeting.0)
        .fetch_one(self.pool())
        .await?)
    }

    pub(crate) async fn remove_file(
        &self,
        meeting: MeetingId,
        public_id: &str,
    ) -> Result<Option<FileRecord>> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let sql = format!(
            "DELETE FROM meeting_files WHERE meeting_id = $1 AND public_id = $2 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(meeting.0)
            .bind(public_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn expire_files_before(
        &self,
        meetings_ended_before: Millis,
        shared_before: Millis,
    ) -> Result<Vec<FileRecord>> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let sql = format!(
            "DELETE FROM meeting_files WHERE created_at < $2 OR meeting_id IN \
             (SELECT id FROM meetings WHERE ended_at IS NOT NULL AND ended_at < $1) \
             RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(meetings_ended_before)
            .bind(shared_before)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(from_row).collect()
    }
}
