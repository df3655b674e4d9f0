//! What a host set during a meeting that a restore must bring back (rooms/restore.rs in the
//! server): a session's host mutes and the meeting's settings. The SQL behind those methods of
//! [`crate::Store`].

use crate::model::{MeetingId, SessionId};
use crate::sql::SqlStore;
use crate::traits::Result;
use crate::StoreError;

impl SqlStore {
    pub(crate) async fn update_session_host_muted(
        &self,
        id: SessionId,
        sources_json: &str,
    ) -> Result<()> {
        let n = sqlx::query("UPDATE participant_sessions SET host_muted = $2 WHERE id = $1")
            .bind(id.0)
            .bind(sources_json)
            .execute(self.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("session"));
        }
        Ok(())
    }

    pub(crate) async fn update_meeting_settings(
        &self,
        id: MeetingId,
        settings_json: &str,
    ) -> Result<()> {
        let n = sqlx::query("UPDATE meetings SET settings_json = $2 WHERE id = $1")
            .bind(id.0)
            .bind(settings_json)
            .execute(self.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("meeting"));
        }
        Ok(())
    }
}
