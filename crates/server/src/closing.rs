//! Record closes that failed (the database was unreachable) wait here and are retried, with the time
//! they really happened, before each heartbeat and once more at shutdown. Without this a session
//! whose close failed would stay open and be marked alive by every heartbeat.

use std::sync::Mutex;

use convene_store::{LeaveReason, MeetingId, Millis, SessionId, Store};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PendingClose {
    Session {
        id: SessionId,
        left_at: Millis,
        reason: LeaveReason,
    },
    Meeting {
        id: MeetingId,
        ended_at: Millis,
    },
}

#[derive(Default)]
pub struct PendingCloses {
    list: Mutex<Vec<PendingClose>>,
}

impl PendingCloses {
    pub fn push(&self, close: PendingClose) {
        self.lock().push(close);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tries every pending close once; the ones that fail again stay. Returns how many are left.
    pub async fn retry(&self, store: &dyn Store) -> usize {
        let todo = std::mem::take(&mut *self.lock());
        let mut failed = Vec::new();
        for close in todo {
            let result = match close {
                PendingClose::Session {
                    id,
                    left_at,
                    reason,
                } => store.close_session(id, left_at, reason).await,
                PendingClose::Meeting { id, ended_at } => store.end_meeting(id, ended_at).await,
            };
            if result.is_err() {
                failed.push(close);
            }
        }
        let mut list = self.lock();
        list.extend(failed);
        list.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PendingClose>> {
        // A plain list: a panic elsewhere cannot leave it half-changed.
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convene_store::{NewMeeting, NewSession};

    #[tokio::test]
    async fn a_failed_close_is_kept_and_applied_later_with_its_own_time() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let store = convene_store::connect(&url).await.unwrap();
        let meeting = store
            .create_meeting(&NewMeeting {
                room: "r".into(),
                creator: None,
                created_at: 1_000,
                max_participants: 10,
                settings_json: "{}".into(),
                node_id: "n".into(),
                public_id: "p".into(),
            })
            .await
            .unwrap();
        let session = store
            .open_session(&NewSession {
                meeting,
                participant_id: "p_1".into(),
                display_name: "Ada".into(),
                user: None,
                role: "host".into(),
                joined_at: 1_000,
                node_id: "n".into(),
                identity: None,
            })
            .await
            .unwrap();
        let pending = PendingCloses::default();
        pending.push(PendingClose::Session {
            id: session,
            left_at: 2_000,
            reason: LeaveReason::Left,
        });
        // The database is unreachable: the close stays pending.
        let down = convene_store::connect(&url).await.unwrap();
        down.close().await;
        assert_eq!(pending.retry(&down).await, 1);
        // It is back: the close lands, at the time it happened.
        assert_eq!(pending.retry(&store).await, 0);
        let s = &store.sessions(meeting).await.unwrap()[0];
        assert_eq!(s.left_at, Some(2_000));
        assert_eq!(s.leave_reason, Some(LeaveReason::Left));
    }
}
