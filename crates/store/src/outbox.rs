//! The webhook outbox: events written in the same transaction as the record each describes (a meeting
//! started, a session opened, ...), numbered 1, 2, 3, ... within their meeting, so that nothing
//! committed is ever missing from what the webhooks deliver, and a receiver can order and
//! deduplicate. The record methods of [`crate::Store`] that make events call [`append`] inside their
//! own transaction.

use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::model::*;
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;
use crate::StoreError;

/// Appends an event of `meeting` within `tx`. Touching the meeting row locks it until commit (so on
/// PostgreSQL concurrent appenders to one meeting queue instead of colliding on its `seq`; SQLite's
/// write transactions are serial anyway) and proves the meeting exists.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    meeting: MeetingId,
    kind: &str,
    data: Value,
    at: Millis,
) -> Result<()> {
    let public_id: Option<String> = sqlx::query_scalar(
        "UPDATE meetings SET last_seen_at = last_seen_at WHERE id = $1 RETURNING public_id",
    )
    .bind(meeting.0)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound("meeting"))?;
    let seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM webhook_events WHERE meeting_id = $1",
    )
    .bind(meeting.0)
    .fetch_one(&mut **tx)
    .await?;
    // Unique without randomness: the meeting's public id is, and seq is within the meeting.
    let event_id = format!(
        "ev_{}_{seq}",
        public_id.unwrap_or_else(|| meeting.0.to_string())
    );
    sqlx::query(
        "INSERT INTO webhook_events (event_id, meeting_id, seq, kind, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event_id)
    .bind(meeting.0)
    .bind(seq)
    .bind(kind)
    .bind(data.to_string())
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The `data` of a session's events.
pub(crate) fn session_data(s: &NewSession) -> Value {
    json!({
        "participant_id": s.participant_id,
        "display_name": s.display_name,
        "user_id": s.user.map(|u| u.0),
        "identity": s.identity,
        "role": s.role,
        "joined_at": s.joined_at,
    })
}

const EVENT_COLUMNS: &str = "e.id, e.event_id, e.meeting_id, m.public_id, m.room, e.seq, e.kind, \
     e.payload, e.created_at";

fn event_from_row(row: &AnyRow) -> Result<EventRecord> {
    let meeting: i64 = row.try_get("meeting_id")?;
    Ok(EventRecord {
        row: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        meeting: MeetingId(meeting),
        meeting_public_id: row
            .try_get::<Option<String>, _>("public_id")?
            .unwrap_or_else(|| meeting.to_string()),
        room: row.try_get("room")?,
        seq: row.try_get("seq")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        created_at: row.try_get("created_at")?,
    })
}

impl SqlStore {
    pub(crate) async fn append_event_row(
        &self,
        meeting: MeetingId,
        kind: &str,
        data: Value,
        at: Millis,
    ) -> Result<()> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        append(&mut tx, meeting, kind, data, at).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn events_after_row(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM webhook_events e JOIN meetings m ON m.id = e.meeting_id \
             WHERE e.id > $1 ORDER BY e.id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(after)
            .bind(limit.max(0))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    pub(crate) async fn event_row(&self, row: i64) -> Result<Option<EventRecord>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM webhook_events e JOIN meetings m ON m.id = e.meeting_id \
             WHERE e.id = $1"
        );
        let found = sqlx::query(&sql)
            .bind(row)
            .fetch_optional(self.pool())
            .await?;
        found.as_ref().map(event_from_row).transpose()
    }

    pub(crate) async fn last_event_row(&self) -> Result<i64> {
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM webhook_events")
            .fetch_one(self.pool())
            .await?;
        Ok(last.unwrap_or(0))
    }

    /// `create_meeting`, with its `room_started`.
    pub(crate) async fn insert_meeting(&self, m: &NewMeeting) -> Result<MeetingId> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO meetings (room, creator, created_at, started_at, max_participants, \
             settings_json, node_id, last_seen_at, public_id) \
             VALUES ($1, $2, $3, $3, $4, $5, $6, $3, $7) RETURNING id",
        )
        .bind(m.room.as_str())
        .bind(m.creator.as_deref())
        .bind(m.created_at)
        .bind(m.max_participants)
        .bind(m.settings_json.as_str())
        .bind(m.node_id.as_str())
        .bind(m.public_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let data = json!({ "started_at": m.created_at });
        append(&mut tx, MeetingId(id), "room_started", data, m.created_at).await?;
        tx.commit().await?;
        Ok(MeetingId(id))
    }

    /// `end_meeting`, with its `room_finished` (once).
    pub(crate) async fn finish_meeting(&self, id: MeetingId, ended_at: Millis) -> Result<()> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let n = sqlx::query("UPDATE meetings SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
            .bind(id.0)
            .bind(ended_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n > 0 {
            let data = json!({ "ended_at": ended_at });
            append(&mut tx, id, "room_finished", data, ended_at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `reopen_meeting`, with a `room_started` that says it is the same meeting again.
    pub(crate) async fn reopen_meeting_row(
        &self,
        id: MeetingId,
        node_id: &str,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let n = sqlx::query(
            "UPDATE meetings SET ended_at = NULL, node_id = $2, \
             last_seen_at = CASE WHEN last_seen_at > $3 THEN last_seen_at ELSE $3 END \
             WHERE id = $1 AND ended_at IS NOT NULL",
        )
        .bind(id.0)
        .bind(node_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 {
            let data = json!({ "started_at": now, "reopened": true });
            append(&mut tx, id, "room_started", data, now).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    /// `open_session`, with its `participant_joined`.
    pub(crate) async fn insert_session(&self, s: &NewSession) -> Result<SessionId> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO participant_sessions (meeting_id, participant_id, display_name, user_id, \
             role, joined_at, node_id, last_seen_at, identity) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8) RETURNING id",
        )
        .bind(s.meeting.0)
        .bind(s.participant_id.as_str())
        .bind(s.display_name.as_str())
        .bind(s.user.map(|u| u.0))
        .bind(s.role.as_str())
        .bind(s.joined_at)
        .bind(s.node_id.as_str())
        .bind(s.identity.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        append(
            &mut tx,
            s.meeting,
            "participant_joined",
            session_data(s),
            s.joined_at,
        )
        .await?;
        tx.commit().await?;
        Ok(SessionId(id))
    }

    /// `close_session`, with its `participant_left` (once).
    pub(crate) async fn finish_session(
        &self,
        id: SessionId,
        left_at: Millis,
        reason: LeaveReason,
    ) -> Result<()> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let closed = sqlx::query(
            "UPDATE participant_sessions SET left_at = $2, leave_reason = $3 \
             WHERE id = $1 AND left_at IS NULL RETURNING meeting_id, participant_id, display_name",
        )
        .bind(id.0)
        .bind(left_at)
        .bind(reason.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = closed {
            left_event(&mut tx, &row, reason.as_str(), left_at).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The `participant_left` of a session row just closed (`meeting_id`, `participant_id`,
/// `display_name`).
pub(crate) async fn left_event(
    tx: &mut Transaction<'static, Any>,
    row: &AnyRow,
    reason: &str,
    left_at: Millis,
) -> Result<()> {
    let meeting: i64 = row.try_get("meeting_id")?;
    let data = json!({
        "participant_id": row.try_get::<String, _>("participant_id")?,
        "display_name": row.try_get::<String, _>("display_name")?,
        "reason": reason,
        "left_at": left_at,
    });
    append(tx, MeetingId(meeting), "participant_left", data, left_at).await
}

/// The events of the rows a recovery closed (sessions first: a meeting's end comes after its
/// people left), as the rows now say.
pub(crate) async fn recovered_events(
    tx: &mut Transaction<'static, Any>,
    sessions: &[i64],
    meetings: &[i64],
) -> Result<()> {
    for id in sessions {
        let row = sqlx::query(
            "SELECT meeting_id, participant_id, display_name, left_at, leave_reason \
             FROM participant_sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        let reason: Option<String> = row.try_get("leave_reason")?;
        let left_at: Option<i64> = row.try_get("left_at")?;
        left_event(
            tx,
            &row,
            reason.as_deref().unwrap_or("server_restart"),
            left_at.unwrap_or(0),
        )
        .await?;
    }
    for id in meetings {
        let ended_at: Option<i64> =
            sqlx::query_scalar("SELECT ended_at FROM meetings WHERE id = $1")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
        let ended_at = ended_at.unwrap_or(0);
        let data = json!({ "ended_at": ended_at, "interrupted": true });
        append(tx, MeetingId(*id), "room_finished", data, ended_at).await?;
    }
    Ok(())
}
