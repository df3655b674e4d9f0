//! Bans and the moderation audit log: the SQL behind the moderation methods of [`crate::Store`].

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::model::*;
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;
use crate::StoreError;

const BAN_COLUMNS: &str =
    "id, meeting_id, participant_id, user_id, identity, display_name, created_at";
const AUDIT_COLUMNS: &str = "id, meeting_id, at, actor_kind, actor_id, actor_name, action, \
     target_id, target_name, detail";

fn ban_from_row(row: &AnyRow) -> Result<BanRecord> {
    Ok(BanRecord {
        id: row.try_get("id")?,
        meeting: MeetingId(row.try_get("meeting_id")?),
        participant_id: row.try_get("participant_id")?,
        user: row.try_get::<Option<i64>, _>("user_id")?.map(UserId),
        identity: row.try_get("identity")?,
        display_name: row.try_get("display_name")?,
        created_at: row.try_get("created_at")?,
    })
}

fn audit_from_row(row: &AnyRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        id: row.try_get("id")?,
        meeting: MeetingId(row.try_get("meeting_id")?),
        at: row.try_get("at")?,
        actor_kind: row.try_get("actor_kind")?,
        actor_id: row.try_get("actor_id")?,
        actor_name: row.try_get("actor_name")?,
        action: row.try_get("action")?,
        target_id: row.try_get("target_id")?,
        target_name: row.try_get("target_name")?,
        detail: row.try_get("detail")?,
    })
}

/// Proves the meeting exists inside the writing transaction, so the caller gets `NotFound` rather
/// than a foreign-key error (whose code differs per database).
async fn require_meeting(tx: &mut Transaction<'static, Any>, meeting: MeetingId) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM meetings WHERE id = $1")
        .bind(meeting.0)
        .fetch_optional(&mut **tx)
        .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound("meeting"))
}

impl SqlStore {
    pub(crate) async fn insert_ban(&self, b: &NewBan) -> Result<i64> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        require_meeting(&mut tx, b.meeting).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO meeting_bans (meeting_id, participant_id, user_id, identity, \
             display_name, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(b.meeting.0)
        .bind(b.participant_id.as_str())
        .bind(b.user.map(|u| u.0))
        .bind(b.identity.as_deref())
        .bind(b.display_name.as_str())
        .bind(b.created_at)
        .fetch_one(&mut *tx)
        .await?;
        let data = serde_json::json!({
            "participant_id": b.participant_id,
            "display_name": b.display_name,
            "user_id": b.user.map(|u| u.0),
            "identity": b.identity,
        });
        crate::outbox::append(
            &mut tx,
            b.meeting,
            "participant_removed",
            data,
            b.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn bans_of(&self, meeting: MeetingId) -> Result<Vec<BanRecord>> {
        let sql = format!(
            "SELECT {BAN_COLUMNS} FROM meeting_bans WHERE meeting_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(meeting.0)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(ban_from_row).collect()
    }

    pub(crate) async fn insert_audit(&self, e: &NewAuditEntry) -> Result<i64> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        require_meeting(&mut tx, e.meeting).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO moderation_audit (meeting_id, at, actor_kind, actor_id, actor_name, \
             action, target_id, target_name, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(e.meeting.0)
        .bind(e.at)
        .bind(e.actor_kind.as_str())
        .bind(e.actor_id.as_deref())
        .bind(e.actor_name.as_deref())
        .bind(e.action.as_str())
        .bind(e.target_id.as_deref())
        .bind(e.target_name.as_deref())
        .bind(e.detail.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn audit_of(
        &self,
        meeting: MeetingId,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM moderation_audit WHERE meeting_id = $1 \
             ORDER BY at, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(meeting.0)
            // PostgreSQL rejects a negative LIMIT; treat it as "none".
            .bind(limit.max(0))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(audit_from_row).collect()
    }
}
