//! The records' retention: deleting whole meetings that ended long enough ago, with everything
//! that refers to them, in one transaction.

use crate::model::Millis;
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;

impl SqlStore {
    pub(crate) async fn purge_meetings(&self, before: Millis, holder: Option<&str>) -> Result<u64> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        // In a cluster a meeting with a recording on another node's disk waits for that node: its
        // row names the folder that node must delete. Each statement below picks the same
        // meetings, since none of them deletes such a recording.
        let kept = match holder {
            Some(_) => {
                " AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.meeting_id = meetings.id \
                 AND r.node_id IS NOT NULL AND r.node_id <> $2)"
            }
            None => "",
        };
        let old =
            format!("SELECT id FROM meetings WHERE ended_at IS NOT NULL AND ended_at < $1{kept}");
        // Children first: each of these refers to the meeting (chat also to its sessions).
        // An outbox event's deliveries go with it.
        let mut statements = vec![format!(
            "DELETE FROM webhook_deliveries WHERE event_row IN \
             (SELECT id FROM webhook_events WHERE meeting_id IN ({old}))"
        )];
        for table in [
            "meeting_files",
            "recordings",
            "compositions",
            "chat_messages",
            "participant_sessions",
            "meeting_bans",
            "moderation_audit",
            "webhook_events",
        ] {
            statements.push(format!("DELETE FROM {table} WHERE meeting_id IN ({old})"));
        }
        statements.push(format!("DELETE FROM meetings WHERE id IN ({old})"));
        let mut n = 0;
        for sql in &statements {
            let mut q = sqlx::query(sql).bind(before);
            if let Some(node) = holder {
                q = q.bind(node);
            }
            n = q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        // The last statement's count: the meetings.
        Ok(n)
    }
}
