//! Record writes that failed because the database was unreachable wait here and are retried, with
//! the time they really happened, before each heartbeat and once more at shutdown: record closes
//! (without this a session whose close failed would stay open and be marked alive by every
//! heartbeat), role changes, moderation audit entries and webhook events (what the room already
//! did and told its people: the record must say so too). They live in memory: a crash during an
//! outage loses them, as it would lose the room itself. A write that fails for another reason (a
//! constraint: its meeting was purged meanwhile) is dropped with an error, not retried forever.

use std::sync::Mutex;

use convene_store::{LeaveReason, MeetingId, Millis, NewAuditEntry, SessionId, Store, StoreError};

/// Writes kept at most, a bound on the memory a long outage takes (each is a few hundred bytes).
pub const LIMIT: usize = 100_000;

#[derive(Clone, Debug, PartialEq)]
pub enum PendingWrite {
    Session {
        id: SessionId,
        left_at: Millis,
        reason: LeaveReason,
    },
    Meeting {
        id: MeetingId,
        ended_at: Millis,
    },
    Role {
        session: SessionId,
        role: &'static str,
    },
    /// The sources a host muted a session on (JSON), for a restore.
    HostMuted {
        session: SessionId,
        sources_json: String,
    },
    /// A meeting's lock and lobby (JSON), for a restore.
    Settings {
        meeting: MeetingId,
        settings_json: String,
    },
    Audit(Box<NewAuditEntry>),
    Event {
        meeting: MeetingId,
        kind: &'static str,
        data: serde_json::Value,
        at: Millis,
    },
}

/// What a state write sets, for a newer one to replace it.
#[derive(Debug, PartialEq, Eq)]
enum StateKey {
    Role(SessionId),
    HostMuted(SessionId),
    Settings(MeetingId),
}

impl PendingWrite {
    /// The state this write sets, when it sets one (a role, host mutes, settings: the newest
    /// value is the one to keep) rather than adds a row or ends a record.
    fn state_key(&self) -> Option<StateKey> {
        match self {
            PendingWrite::Role { session, .. } => Some(StateKey::Role(*session)),
            PendingWrite::HostMuted { session, .. } => Some(StateKey::HostMuted(*session)),
            PendingWrite::Settings { meeting, .. } => Some(StateKey::Settings(*meeting)),
            _ => None,
        }
    }

    pub async fn apply(&self, store: &dyn Store) -> Result<(), StoreError> {
        match self {
            PendingWrite::Session {
                id,
                left_at,
                reason,
            } => store.close_session(*id, *left_at, *reason).await,
            PendingWrite::Meeting { id, ended_at } => store.end_meeting(*id, *ended_at).await,
            PendingWrite::Role { session, role } => store.set_session_role(*session, role).await,
            PendingWrite::HostMuted {
                session,
                sources_json,
            } => store.set_session_host_muted(*session, sources_json).await,
            PendingWrite::Settings {
                meeting,
                settings_json,
            } => store.set_meeting_settings(*meeting, settings_json).await,
            PendingWrite::Audit(entry) => store.record_moderation(entry).await.map(|_| ()),
            PendingWrite::Event {
                meeting,
                kind,
                data,
                at,
            } => store.append_event(*meeting, kind, data.clone(), *at).await,
        }
    }
}

pub struct PendingWrites {
    list: Mutex<Vec<PendingWrite>>,
    limit: usize,
}

impl Default for PendingWrites {
    fn default() -> Self {
        Self::with_limit(LIMIT)
    }
}

impl PendingWrites {
    pub fn with_limit(limit: usize) -> Self {
        Self {
            list: Mutex::new(Vec::new()),
            limit,
        }
    }

    /// A newer write of the same state is being made: the older one waiting here must not be
    /// retried after it (it would put the old value back). Left: a retry already under way when
    /// the database has just come back, a window of one round trip.
    pub fn supersede(&self, newer: &PendingWrite) {
        let Some(key) = newer.state_key() else {
            return;
        };
        self.lock().retain(|w| w.state_key().as_ref() != Some(&key));
    }

    /// Keeps `write` for a later retry (in place of an older write of the same state); false (and
    /// logged) when the list is full.
    pub fn push(&self, write: PendingWrite) -> bool {
        self.supersede(&write);
        let mut list = self.lock();
        if list.len() >= self.limit {
            tracing::error!(
                limit = self.limit,
                ?write,
                "too many record writes wait for the database: this one is lost"
            );
            return false;
        }
        list.push(write);
        true
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tries every pending write once, in the order they failed; those that find the database
    /// unreachable again stay. Returns how many are left.
    pub async fn retry(&self, store: &dyn Store) -> usize {
        let todo = std::mem::take(&mut *self.lock());
        let mut failed = Vec::new();
        for write in todo {
            match write.apply(store).await {
                Ok(()) => {}
                Err(e) if e.is_unreachable() => failed.push(write),
                Err(e) => {
                    tracing::error!(error = %e, ?write, "a delayed record write failed: dropped")
                }
            }
        }
        let mut list = self.lock();
        // Those that failed again go first: they are older than any pushed meanwhile.
        let newer = std::mem::take(&mut *list);
        *list = failed;
        list.extend(newer);
        list.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PendingWrite>> {
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
        let (meeting, session) = meeting_and_session(&store).await;
        let pending = PendingWrites::default();
        pending.push(PendingWrite::Session {
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

    async fn meeting_and_session(store: &convene_store::SqlStore) -> (MeetingId, SessionId) {
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
                role: "participant".into(),
                joined_at: 1_000,
                node_id: "n".into(),
                identity: None,
            })
            .await
            .unwrap();
        (meeting, session)
    }

    #[tokio::test]
    async fn a_role_an_audit_entry_and_an_event_land_once_the_database_is_back() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = convene_store::connect(&url).await.unwrap();
        let (meeting, session) = meeting_and_session(&store).await;
        let pending = PendingWrites::default();
        pending.push(PendingWrite::Role {
            session,
            role: "co_host",
        });
        pending.push(PendingWrite::Audit(Box::new(NewAuditEntry {
            meeting,
            at: 2_000,
            actor_kind: "participant".into(),
            actor_id: Some("p_0".into()),
            actor_name: Some("Host".into()),
            action: "role".into(),
            target_id: Some("p_1".into()),
            target_name: Some("Ada".into()),
            detail: Some("co_host".into()),
        })));
        pending.push(PendingWrite::Event {
            meeting,
            kind: "track_published",
            data: serde_json::json!({"participant_id": "p_1"}),
            at: 2_001,
        });
        let down = convene_store::connect(&url).await.unwrap();
        down.close().await;
        assert_eq!(pending.retry(&down).await, 3, "unreachable: all stay");
        assert_eq!(pending.retry(&store).await, 0);
        let s = &store.sessions(meeting).await.unwrap()[0];
        assert_eq!(s.role, "co_host");
        let log = store.moderation_log(meeting, 10).await.unwrap();
        assert_eq!(
            (log.len(), log[0].at),
            (1, 2_000),
            "at the time it happened"
        );
        let events = store.events_after(0, 100).await.unwrap();
        let published: Vec<_> = events
            .iter()
            .filter(|e| e.kind == "track_published")
            .collect();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].created_at, 2_001);
    }

    #[tokio::test]
    async fn a_write_refused_for_another_reason_is_dropped_not_retried_forever() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("d.db").display());
        let store = convene_store::connect(&url).await.unwrap();
        let pending = PendingWrites::default();
        // No such meeting: the outbox's foreign key refuses it.
        pending.push(PendingWrite::Event {
            meeting: MeetingId(999),
            kind: "track_published",
            data: serde_json::json!({}),
            at: 1,
        });
        assert_eq!(pending.retry(&store).await, 0);
    }

    #[test]
    fn the_list_is_bounded() {
        let pending = PendingWrites::with_limit(2);
        let close = |id| PendingWrite::Meeting {
            id: MeetingId(id),
            ended_at: 1,
        };
        assert!(pending.push(close(1)));
        assert!(pending.push(close(2)));
        assert!(!pending.push(close(3)), "over the limit");
        assert_eq!(pending.len(), 2);
    }

    #[test]
    fn a_newer_state_replaces_an_older_one_waiting() {
        let pending = PendingWrites::default();
        let muted = |json: &str| PendingWrite::HostMuted {
            session: SessionId(7),
            sources_json: json.into(),
        };
        pending.push(muted(r#"["microphone"]"#));
        pending.push(PendingWrite::Meeting {
            id: MeetingId(1),
            ended_at: 5,
        });
        pending.push(muted("[]"));
        assert_eq!(pending.len(), 2, "one state per session, and the close");
        // A newer value written directly: the one waiting must not be retried after it.
        pending.supersede(&muted(r#"["camera"]"#));
        assert_eq!(pending.len(), 1);
        let other = PendingWrite::HostMuted {
            session: SessionId(8),
            sources_json: "[]".into(),
        };
        pending.supersede(&other);
        assert_eq!(pending.len(), 1, "another session's state is another state");
    }
}
