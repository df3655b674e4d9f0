//! Compositions: one video made from a meeting's recording by the server's ffmpeg queue. Their
//! records (the bytes are in the server's blob store) and the SQL behind the composition methods
//! of [`crate::Store`].

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::model::{MeetingId, Millis};
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;
use crate::StoreError;

/// A composition's row number, as the store knows it (the API shows `public_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompositionId(pub i64);

/// Where a composition stands. Stored as its `as_str()` text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompositionState {
    /// Waiting for the node's queue.
    Queued,
    /// ffmpeg is making it; `progress` says how far.
    Running,
    /// The file is in the blob store.
    Done,
    /// ffmpeg failed, or the node stopped before it finished; `error` says which.
    Failed,
}

impl CompositionState {
    pub fn as_str(self) -> &'static str {
        match self {
            CompositionState::Queued => "queued",
            CompositionState::Running => "running",
            CompositionState::Done => "done",
            CompositionState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => CompositionState::Queued,
            "running" => CompositionState::Running,
            "done" => CompositionState::Done,
            "failed" => CompositionState::Failed,
            _ => return None,
        })
    }
}

/// A composition asked for, to be queued.
#[derive(Clone, Debug, PartialEq)]
pub struct NewComposition {
    /// Unguessable (the caller makes it random), unique.
    pub public_id: String,
    pub meeting: MeetingId,
    /// The recording's public id.
    pub recording: String,
    pub node_id: String,
    pub created_at: Millis,
}

/// The file a finished composition made.
#[derive(Clone, Debug, PartialEq)]
pub struct ComposedFile {
    pub file_name: String,
    pub blob_key: String,
    pub bytes: i64,
    pub duration_ms: i64,
}

/// How a composition ended.
#[derive(Clone, Debug, PartialEq)]
pub enum CompositionOutcome {
    Done(ComposedFile),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompositionRecord {
    pub id: CompositionId,
    pub public_id: String,
    pub meeting: MeetingId,
    pub recording: String,
    pub node_id: String,
    pub state: CompositionState,
    /// 0 to 100.
    pub progress: i64,
    pub error: Option<String>,
    /// Set when `state` is done.
    pub file: Option<ComposedFile>,
    pub created_at: Millis,
    pub finished_at: Option<Millis>,
}

const COLUMNS: &str = "id, public_id, meeting_id, recording, node_id, state, progress, error, \
     file_name, blob_key, bytes, duration_ms, created_at, finished_at";

fn from_row(row: &AnyRow) -> Result<CompositionRecord> {
    let state: String = row.try_get("state")?;
    let state = CompositionState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("composition state {state:?}")))?;
    let file_name: Option<String> = row.try_get("file_name")?;
    let blob_key: Option<String> = row.try_get("blob_key")?;
    let bytes: Option<i64> = row.try_get("bytes")?;
    let duration_ms: Option<i64> = row.try_get("duration_ms")?;
    let file = match (file_name, blob_key, bytes, duration_ms) {
        (Some(file_name), Some(blob_key), Some(bytes), Some(duration_ms)) => Some(ComposedFile {
            file_name,
            blob_key,
            bytes,
            duration_ms,
        }),
        _ => None,
    };
    Ok(CompositionRecord {
        id: CompositionId(row.try_get("id")?),
        public_id: row.try_get("public_id")?,
        meeting: MeetingId(row.try_get("meeting_id")?),
        recording: row.try_get("recording")?,
        node_id: row.try_get("node_id")?,
        state,
        progress: row.try_get("progress")?,
        error: row.try_get("error")?,
        file,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

impl SqlStore {
    pub(crate) async fn insert_composition(&self, c: &NewComposition) -> Result<CompositionRecord> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let sql = format!(
            "INSERT INTO compositions (public_id, meeting_id, recording, node_id, state, progress, \
             created_at) VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(c.public_id.as_str())
            .bind(c.meeting.0)
            .bind(c.recording.as_str())
            .bind(c.node_id.as_str())
            .bind(CompositionState::Queued.as_str())
            .bind(c.created_at)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        from_row(&row)
    }

    pub(crate) async fn composition_by_public_id(
        &self,
        public_id: &str,
    ) -> Result<Option<CompositionRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM compositions WHERE public_id = $1");
        let row = sqlx::query(&sql)
            .bind(public_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn compositions_of(
        &self,
        meeting: MeetingId,
        limit: i64,
    ) -> Result<Vec<CompositionRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM compositions WHERE meeting_id = $1 ORDER BY id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(meeting.0)
            // PostgreSQL rejects a negative LIMIT; treat it as "none".
            .bind(limit.max(0))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Only an unfinished composition moves: a deleted or finished one stays as it is.
    pub(crate) async fn set_composition_progress(
        &self,
        id: CompositionId,
        progress: i64,
    ) -> Result<bool> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let n = sqlx::query(
            "UPDATE compositions SET state = $2, progress = $3 \
             WHERE id = $1 AND state IN ('queued', 'running')",
        )
        .bind(id.0)
        .bind(CompositionState::Running.as_str())
        .bind(progress.clamp(0, 100))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    pub(crate) async fn finish_composition_row(
        &self,
        id: CompositionId,
        outcome: &CompositionOutcome,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let q = match outcome {
            CompositionOutcome::Done(f) => sqlx::query(
                "UPDATE compositions SET state = 'done', progress = 100, error = NULL, \
                 file_name = $2, blob_key = $3, bytes = $4, duration_ms = $5, finished_at = $6 \
                 WHERE id = $1 AND state IN ('queued', 'running')",
            )
            .bind(id.0)
            .bind(f.file_name.as_str())
            .bind(f.blob_key.as_str())
            .bind(f.bytes)
            .bind(f.duration_ms)
            .bind(now),
            CompositionOutcome::Failed(e) => sqlx::query(
                "UPDATE compositions SET state = 'failed', error = $2, finished_at = $3 \
                 WHERE id = $1 AND state IN ('queued', 'running')",
            )
            .bind(id.0)
            .bind(e.as_str())
            .bind(now),
        };
        let n = q.execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    pub(crate) async fn remove_composition(
        &self,
        meeting: MeetingId,
        public_id: &str,
    ) -> Result<Option<CompositionRecord>> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let sql = format!(
            "DELETE FROM compositions WHERE meeting_id = $1 AND public_id = $2 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(meeting.0)
            .bind(public_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn expire_compositions_of_meetings_ended_before(
        &self,
        before: Millis,
    ) -> Result<Vec<CompositionRecord>> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let sql = format!(
            "DELETE FROM compositions WHERE meeting_id IN \
             (SELECT id FROM meetings WHERE ended_at IS NOT NULL AND ended_at < $1) \
             RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql).bind(before).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(from_row).collect()
    }

    pub(crate) async fn fail_unfinished_compositions_of(
        &self,
        node_id: &str,
        reason: &str,
        now: Millis,
    ) -> Result<u64> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let n = sqlx::query(
            "UPDATE compositions SET state = 'failed', error = $2, finished_at = $3 \
             WHERE node_id = $1 AND state IN ('queued', 'running')",
        )
        .bind(node_id)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}
