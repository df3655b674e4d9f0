//! Recordings of meetings: their rows (the files are on the server's disk) and the SQL behind the
//! recording methods of [`crate::Store`].

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::model::{MeetingId, Millis};
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;
use crate::StoreError;

/// Where a recording stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordingRowState {
    Recording,
    Complete,
    /// The process stopped before the recording finished (found at start-up).
    Interrupted,
    /// The server could not write it.
    Failed,
}

impl RecordingRowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingRowState::Recording => "recording",
            RecordingRowState::Complete => "complete",
            RecordingRowState::Interrupted => "interrupted",
            RecordingRowState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "recording" => RecordingRowState::Recording,
            "complete" => RecordingRowState::Complete,
            "interrupted" => RecordingRowState::Interrupted,
            "failed" => RecordingRowState::Failed,
            _ => return None,
        })
    }
}

/// A recording that starts now.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRecording {
    /// Unguessable (the caller makes it random), unique.
    pub public_id: String,
    pub meeting: MeetingId,
    pub started_at: Millis,
    /// Its folder, relative to the server's recording directory.
    pub dir: String,
    pub started_by: Option<String>,
    /// The node whose disk it is written to.
    pub node_id: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordingRecord {
    pub id: i64,
    pub public_id: String,
    pub meeting: MeetingId,
    pub state: RecordingRowState,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    pub dir: String,
    pub bytes: i64,
    pub duration_ms: Option<i64>,
    pub started_by: Option<String>,
    /// The node whose disk holds its files; None for recordings made before this was kept.
    pub node_id: Option<String>,
}

/// How a recording ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordingEnd {
    pub state: RecordingRowState,
    pub ended_at: Option<Millis>,
    pub bytes: i64,
    pub duration_ms: Option<i64>,
}

const COLUMNS: &str =
    "id, public_id, meeting_id, state, started_at, ended_at, dir, bytes, duration_ms, started_by, \
     node_id";

fn from_row(row: &AnyRow) -> Result<RecordingRecord> {
    let state: String = row.try_get("state")?;
    Ok(RecordingRecord {
        id: row.try_get("id")?,
        public_id: row.try_get("public_id")?,
        meeting: MeetingId(row.try_get("meeting_id")?),
        state: RecordingRowState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown recording state {state:?}")))?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        dir: row.try_get("dir")?,
        bytes: row.try_get("bytes")?,
        duration_ms: row.try_get("duration_ms")?,
        started_by: row.try_get("started_by")?,
        node_id: row.try_get("node_id")?,
    })
}

impl SqlStore {
    pub(crate) async fn insert_recording(&self, r: &NewRecording) -> Result<i64> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM meetings WHERE id = $1")
            .bind(r.meeting.0)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("meeting"));
        }
        let inserted: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO recordings (public_id, meeting_id, state, started_at, dir, started_by, \
             node_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(r.public_id.as_str())
        .bind(r.meeting.0)
        .bind(RecordingRowState::Recording.as_str())
        .bind(r.started_at)
        .bind(r.dir.as_str())
        .bind(r.started_by.as_deref())
        .bind(r.node_id.as_str())
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            Err(sqlx::Error::Database(db))
                if db.kind() == sqlx::error::ErrorKind::UniqueViolation =>
            {
                return Err(StoreError::Conflict("a recording with this id"));
            }
            Err(e) => return Err(e.into()),
        };
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn end_recording_row(
        &self,
        public_id: &str,
        end: &RecordingEnd,
    ) -> Result<()> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let n = sqlx::query(
            "UPDATE recordings SET state = $2, ended_at = $3, bytes = $4, duration_ms = $5 \
             WHERE public_id = $1",
        )
        .bind(public_id)
        .bind(end.state.as_str())
        .bind(end.ended_at)
        .bind(end.bytes)
        .bind(end.duration_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("recording"));
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn recording_by_public_id(
        &self,
        public_id: &str,
    ) -> Result<Option<RecordingRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM recordings WHERE public_id = $1");
        let row = sqlx::query(&sql)
            .bind(public_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn recordings_of(&self, meeting: MeetingId) -> Result<Vec<RecordingRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM recordings WHERE meeting_id = $1 ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(meeting.0)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub(crate) async fn recordings_of_ended_meetings(
        &self,
        before: Millis,
    ) -> Result<Vec<RecordingRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM recordings WHERE meeting_id IN \
             (SELECT id FROM meetings WHERE ended_at IS NOT NULL AND ended_at < $1) ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(before)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub(crate) async fn recordings_in_state_rows(
        &self,
        state: RecordingRowState,
    ) -> Result<Vec<RecordingRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM recordings WHERE state = $1 ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(state.as_str())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub(crate) async fn remove_recording(
        &self,
        meeting: MeetingId,
        public_id: &str,
    ) -> Result<Option<RecordingRecord>> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let sql = format!(
            "DELETE FROM recordings WHERE meeting_id = $1 AND public_id = $2 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(meeting.0)
            .bind(public_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn expire_recordings_before(
        &self,
        started_before: Millis,
        holder: Option<&str>,
    ) -> Result<Vec<RecordingRecord>> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        // A recording in progress is never swept from under its writer.
        let held = match holder {
            Some(_) => " AND (node_id IS NULL OR node_id = $3)",
            None => "",
        };
        let sql = format!(
            "DELETE FROM recordings WHERE started_at < $1 AND state <> $2{held} RETURNING {COLUMNS}"
        );
        let mut q = sqlx::query(&sql)
            .bind(started_before)
            .bind(RecordingRowState::Recording.as_str());
        if let Some(node) = holder {
            q = q.bind(node);
        }
        let rows = q.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(from_row).collect()
    }
}
