//! A meeting that comes back after a restart of the server. When a room starts, its latest meeting
//! may have been cut by a drain (SIGTERM) or a crash within `rooms.restart_window_secs`: then the room
//! reopens that meeting instead of starting a new one, with its chat, and holds a place for each
//! person who was in it, awaited as if their connection had dropped. Whoever comes back first sees
//! the others listed; when they return with their resume tokens they are the same participants, so
//! nobody sees a leave and a join of the same person.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use convene_proto::{ChatMessage, ParticipantId, ParticipantInfo, Role};
use convene_store::{LeaveReason, SessionRecord, StoreError};

use super::participant::{reaction_bucket, Participant, Presence, Resumable};
use super::room::{Lifecycle, Room};
use crate::clock::now_ms;

impl Room {
    /// Reopens the room's interrupted meeting, if there is one within the restart window.
    pub(super) async fn restore(&mut self) -> Result<(), StoreError> {
        let store = self.state.store.clone();
        let rooms = &self.state.config.rooms;
        let window = Duration::from_secs(rooms.restart_window_secs);
        let now = now_ms();
        let Some(meeting) = store.meetings(Some(&self.id.0), 1).await?.pop() else {
            return Ok(());
        };
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        match meeting.ended_at {
            Some(ended) if ended >= now.saturating_sub(window_ms) => {}
            _ => return Ok(()),
        }
        let sessions = store.sessions(meeting.id).await?;
        let awaited = interrupted(&sessions);
        if awaited.is_empty() {
            return Ok(());
        }
        let node = &self.state.config.server.node_id;
        if !store.reopen_meeting(meeting.id, node, now).await? {
            return Ok(());
        }
        let keep = i64::from(rooms.chat_history);
        self.chat = store
            .chat_history(meeting.id, keep)
            .await?
            .into_iter()
            .map(|c| ChatMessage {
                seq: c.seq,
                from: ParticipantId(c.participant_id),
                from_name: c.display_name,
                text: c.text,
                sent_at: c.sent_at,
                client_msg_id: None,
            })
            .collect();
        self.files = super::files::history(
            &store
                .files(meeting.id, crate::files::FILES_LISTED_MAX)
                .await?,
        );
        self.meeting = Some(meeting.id);
        self.meeting_since = meeting.started_at.unwrap_or(meeting.created_at);
        self.bans = super::bans::Bans::from_records(store.bans(meeting.id).await?);
        // The lock and the lobby a host set; a planned room's own settings otherwise.
        if let Ok(settings) = serde_json::from_str(&meeting.settings_json) {
            self.settings = settings;
        }
        let until = Instant::now() + window;
        for a in &awaited {
            self.participants.push(Participant {
                info: ParticipantInfo {
                    id: ParticipantId(a.last.participant_id.clone()),
                    display_name: a.last.display_name.clone(),
                    role: role_from(&a.last.role),
                    // Nothing flows until they are back; they say their state when they resume.
                    mic_muted: true,
                    camera_muted: true,
                    hand_raised: false,
                    screen_sharing: false,
                    joined_at: a.first_joined_at,
                    tracks: Vec::new(),
                    connection_quality: None,
                    // A host's mutes hold until a host allows the source again.
                    host_muted: serde_json::from_str(&a.last.host_muted).unwrap_or_default(),
                    unmute_asked: Vec::new(),
                },
                session: a.last.id,
                resumable: Resumable::Restored,
                presence: Presence::Away { until },
                user: a.last.user,
                identity: a.last.identity.clone(),
                // Not in the record: the token brings them again on return.
                grants: None,
                guest_addr: None,
                reactions: reaction_bucket(&self.state.config.limits, Instant::now()),
                quality: Default::default(),
            });
        }
        self.lifecycle = Lifecycle::Active;
        self.state
            .metrics
            .participants
            .fetch_add(awaited.len() as i64, Ordering::Relaxed);
        tracing::info!(
            room = %self.id,
            meeting = meeting.id.0,
            awaited = awaited.len(),
            "meeting reopened after a restart"
        );
        Ok(())
    }
}

/// A person who was in the meeting when the server stopped.
struct Awaited<'a> {
    /// Their latest session, closed by the drain or the crash recovery.
    last: &'a SessionRecord,
    /// When they first joined this meeting, so that the longest present keep their order.
    first_joined_at: i64,
}

/// Everyone whose latest session in the meeting was ended by the server going away, in order of
/// their first join.
fn interrupted(sessions: &[SessionRecord]) -> Vec<Awaited<'_>> {
    let mut by_id: HashMap<&str, Awaited<'_>> = HashMap::new();
    for s in sessions {
        by_id
            .entry(s.participant_id.as_str())
            .and_modify(|a| {
                if (s.joined_at, s.id) > (a.last.joined_at, a.last.id) {
                    a.last = s;
                }
                a.first_joined_at = a.first_joined_at.min(s.joined_at);
            })
            .or_insert(Awaited {
                last: s,
                first_joined_at: s.joined_at,
            });
    }
    let mut awaited: Vec<Awaited<'_>> = by_id
        .into_values()
        .filter(|a| {
            matches!(
                a.last.leave_reason,
                Some(
                    LeaveReason::ServerShutdown
                        | LeaveReason::ServerRestart
                        | LeaveReason::NodeLost
                )
            )
        })
        .collect();
    awaited.sort_by_key(|a| (a.first_joined_at, a.last.id));
    awaited
}

fn role_from(text: &str) -> Role {
    Role::parse(text).unwrap_or(Role::Participant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use convene_store::{MeetingId, SessionId};

    fn s(id: i64, pid: &str, joined: i64, reason: Option<LeaveReason>) -> SessionRecord {
        SessionRecord {
            id: SessionId(id),
            meeting: MeetingId(1),
            participant_id: pid.into(),
            display_name: pid.to_uppercase(),
            user: None,
            role: "participant".into(),
            joined_at: joined,
            left_at: reason.map(|_| joined + 1),
            leave_reason: reason,
            last_seen_at: joined,
            identity: None,
            host_muted: "[]".into(),
        }
    }

    #[test]
    fn only_those_the_server_cut_off_are_awaited() {
        use LeaveReason::*;
        let sessions = [
            s(1, "p_a", 10, Some(ServerRestart)),
            s(2, "p_b", 20, Some(Left)),
            // p_c came back once already (after an earlier restart) and was cut again.
            s(3, "p_c", 5, Some(ServerShutdown)),
            s(4, "p_c", 30, Some(ServerShutdown)),
            // p_d was cut once, came back, then left on purpose.
            s(5, "p_d", 1, Some(ServerRestart)),
            s(6, "p_d", 40, Some(Left)),
            s(7, "p_e", 50, Some(Disconnected)),
        ];
        let awaited = interrupted(&sessions);
        let got: Vec<(&str, i64, i64)> = awaited
            .iter()
            .map(|a| {
                (
                    a.last.participant_id.as_str(),
                    a.last.id.0,
                    a.first_joined_at,
                )
            })
            .collect();
        assert_eq!(got, vec![("p_c", 4, 5), ("p_a", 1, 10)]);
    }
}
