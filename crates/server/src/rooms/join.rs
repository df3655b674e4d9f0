//! Entering a room: a fresh join, or a resume by token (after a dropped connection, or after a restart
//! of the server), and the `joined` message that answers both.

use std::sync::atomic::Ordering;

use convene_proto::{
    ChatMessage, ErrorCode, Joined, ParticipantId, RecordPower, ServerMessage, Source,
    PROTOCOL_VERSION,
};
use convene_store::NewSession;
use tokio::sync::oneshot;

use super::arrival::{Answer, Entry};
use super::command::{JoinRefusal, JoinReply, JoinRequest};
use super::conn::ConnHandle;
use super::participant::{new_participant_id, Presence, Resumable};
use super::room::{Lifecycle, Room};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::media::MediaCmd;

/// Most octets of chat history one `joined` carries (texts, names and ids; the newest messages that
/// fit). 100 messages of 4,000 four-octet characters would otherwise make a 1.6 MB `joined`.
pub const JOINED_CHAT_BUDGET: usize = 256 * 1024;
/// What one history entry costs besides its strings (field names, numbers, punctuation).
const CHAT_ENTRY_OVERHEAD: usize = 96;

impl Room {
    /// A join: answered on `reply` now (a resume, the lobby, a refusal) or once its session is
    /// written (rooms/arrival.rs).
    pub(super) async fn join(
        &mut self,
        req: JoinRequest,
        conn: ConnHandle,
        reply: oneshot::Sender<JoinReply>,
    ) {
        match self.enter(req, conn).await {
            Ok(Entry::Now(id)) => {
                let _ = reply.send(Ok(id));
            }
            Ok(Entry::Write(id, req, conn)) => {
                let entry = req.entry;
                self.queue_join(id, *req, conn, entry, Answer::Reply(reply));
            }
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
            }
        }
    }

    async fn enter(&mut self, req: JoinRequest, conn: ConnHandle) -> Result<Entry, JoinRefusal> {
        // The plan's settings first: a meeting restored below brings back the ones its hosts set.
        self.take_plan(&req);
        if self.meeting.is_none() {
            // A room that starts may be a meeting coming back after a restart of the server.
            self.restore().await.map_err(|e| self.storage_failed(e))?;
        }
        if let Some(token) = req.resume_token.as_deref() {
            if self.resume_is_banned(token) {
                return Err(removed());
            }
            if let Some(idx) = self.resumable(token) {
                return self.resume(idx, conn, &req).await.map(Entry::Now);
            }
        }
        if self.bans.refuses(req.user, req.identity.as_deref()) {
            return Err(removed());
        }
        let id = new_participant_id();
        let moderator = req.entry.moderates();
        if self.settings.locked && !moderator {
            return Err(JoinRefusal::Error(ServerError::client(
                ErrorCode::MeetingLocked,
                "the meeting is locked: nobody new gets in",
            )));
        }
        if self.settings.lobby && !moderator && !req.hidden() {
            return self.hold_in_lobby(id, req, conn).map(Entry::Now);
        }
        self.may_seat(&req)?;
        Ok(Entry::Write(id, Box::new(req), conn))
    }

    /// Whether a resume token names someone removed from this meeting.
    fn resume_is_banned(&self, token: &str) -> bool {
        self.state
            .resume_key
            .verify(token)
            .is_some_and(|c| Some(c.meeting) == self.meeting && self.bans.has(&c.participant))
    }

    /// The participant a resume token brings back, if it is valid here and now.
    fn resumable(&self, token: &str) -> Option<usize> {
        let claims = self.state.resume_key.verify(token)?;
        if Some(claims.meeting) != self.meeting {
            return None;
        }
        self.participants.iter().position(|p| {
            p.info.id == claims.participant
                && p.session == claims.session
                && match &p.resumable {
                    Resumable::Issued { nonce } => claims.nonce_is(nonce),
                    Resumable::Restored => true,
                }
        })
    }

    /// Whether the room has a seat for this join (and its media a place): the checks before its
    /// session is written.
    pub(super) fn may_seat(&self, req: &JoinRequest) -> Result<(), JoinRefusal> {
        let server_max = self.state.config.rooms.max_participants;
        let max = req.seat_limit.map_or(server_max, |l| l.min(server_max)) as usize;
        // Hidden participants (recorders, monitors) take no seat; those arriving do.
        let seated = self.participants.iter().filter(|p| !p.hidden()).count()
            + self.arriving.iter().filter(|a| !a.hidden).count();
        if !req.hidden() && seated >= max {
            return Err(JoinRefusal::Error(ServerError::client(
                ErrorCode::RoomFull,
                format!("the room is full ({max} participants)"),
            )));
        }
        let per_address = self.state.config.limits.guest_seats_per_address as usize;
        if let Some(addr) = req.guest_addr.filter(|_| per_address > 0) {
            let taken = self
                .participants
                .iter()
                .map(|p| p.guest_addr)
                .chain(self.arriving.iter().map(|a| a.guest_addr))
                .filter(|a| *a == Some(addr))
                .count();
            if taken >= per_address {
                return Err(JoinRefusal::Error(ServerError::client(
                    ErrorCode::TooManyFromAddress,
                    format!(
                        "your address has {taken} guests in this meeting already; sign in to join"
                    ),
                )));
            }
        }
        self.admit_media()
    }

    /// Brings participant `idx` back on `conn`. One restored after a restart gets a new session row
    /// (the record shows the gap) and a new media session; one that was only away keeps both.
    async fn resume(&mut self, idx: usize, conn: ConnHandle, req: &JoinRequest) -> JoinReply {
        let restored = !self.participants[idx].in_record();
        if restored {
            self.admit_media()?;
            let Some(meeting) = self.meeting else {
                return Err(JoinRefusal::Error(ServerError::Internal(
                    "a restored participant without a meeting".into(),
                )));
            };
            let p = &self.participants[idx];
            let new = NewSession {
                meeting,
                participant_id: p.info.id.0.clone(),
                display_name: p.info.display_name.clone(),
                user: req.user,
                role: p.info.role.as_str().into(),
                joined_at: now_ms(),
                node_id: self.state.config.server.node_id.clone(),
                identity: req.identity.clone(),
            };
            let session = self
                .state
                .store
                .open_session(&new)
                .await
                .map_err(|e| self.storage_failed(e))?;
            self.participants[idx].session = session;
            let held = &self.participants[idx].info.host_muted;
            if !held.is_empty() {
                // The new session row carries the host's mutes on, for a later restore.
                self.writer.host_muted(session, held);
            }
        }
        let id = self.participants[idx].info.id.clone();
        if req.grants.is_some() {
            // After a restart the record did not keep them; the token brought them again.
            self.participants[idx].grants = req.grants.clone();
        }
        // The client says what its microphone and camera are now (a host's mute still holds); the
        // others hear of it before the participant is connected again, so that `joined` stays its
        // first message.
        let held = self.participants[idx].info.host_muted.clone();
        let mic_muted = req.mic_muted || held.contains(&Source::Microphone);
        let camera_muted = req.camera_muted || held.contains(&Source::Camera);
        self.update(&id, |info| {
            info.mic_muted = mic_muted;
            info.camera_muted = camera_muted;
        });
        let p = &mut self.participants[idx];
        if let Presence::Connected(old) = &p.presence {
            // A reload can beat the server to noticing the old socket is gone.
            old.close(
                convene_proto::close::REPLACED,
                "replaced by a resumed connection",
            );
        }
        p.presence = Presence::Connected(conn);
        self.lifecycle = Lifecycle::Active;
        if restored {
            self.add_to_media(&id, mic_muted, camera_muted, &held);
        } else {
            self.server_mute(&id, Some(mic_muted), Some(camera_muted));
        }
        self.state.metrics.resumes.fetch_add(1, Ordering::Relaxed);
        self.send_joined(idx, true, !restored);
        tracing::info!(room = %self.id, participant = %id, restored, "resumed");
        Ok(id)
    }

    pub(super) fn admit_media(&self) -> Result<(), JoinRefusal> {
        let Some(media) = &self.state.media else {
            return Ok(());
        };
        if media.admits(&self.id) {
            return Ok(());
        }
        self.state
            .metrics
            .joins_refused_busy
            .fetch_add(1, Ordering::Relaxed);
        Err(JoinRefusal::Error(ServerError::client(
            ErrorCode::ServerBusy,
            "the server is at capacity (its media workers are saturated); try again later",
        )))
    }

    /// Gives the participant a media session (before `joined` goes out, so that it exists in the
    /// core when the first offer arrives) and applies its mute state there, with the sources a host
    /// muted (`held`).
    pub(super) fn add_to_media(
        &mut self,
        id: &ParticipantId,
        mic_muted: bool,
        camera_muted: bool,
        held: &[Source],
    ) {
        let Some(media) = &self.state.media else {
            return;
        };
        media.send(
            &self.id,
            MediaCmd::AddParticipant {
                room: self.id.clone(),
                participant: id.clone(),
            },
        );
        if let Some(me) = self.state.rooms.get(&self.id) {
            self.state.set_media_route(id, Some(me));
        }
        self.server_mute(id, Some(mic_muted), Some(camera_muted));
        for source in held {
            self.media_mute(id, *source, true);
        }
    }

    /// Sends `joined` to participant `idx`, with a new resume token (the previous one stops working).
    pub(super) fn send_joined(&mut self, idx: usize, resumed: bool, media_kept: bool) {
        let Some(meeting) = self.meeting else { return };
        let p = &self.participants[idx];
        let (token, nonce) = self.state.resume_key.issue(meeting, p.session, &p.info.id);
        let rooms = &self.state.config.rooms;
        let joined = ServerMessage::Joined(Box::new(Joined {
            protocol_version: PROTOCOL_VERSION,
            room: self.id.clone(),
            participant_id: p.info.id.clone(),
            role: p.info.role,
            resumed,
            resume_token: token,
            resume_window_secs: rooms.resume_window_secs,
            restart_window_secs: rooms.restart_window_secs,
            media_kept,
            participants: self
                .participants
                .iter()
                .filter(|o| !o.hidden() || o.info.id == p.info.id)
                .map(|p| p.info.clone())
                .collect(),
            ice_servers: crate::media::ice_servers::for_participant(
                &self.state.config.media,
                self.state.turn.as_deref(),
                p.info.id.as_str(),
                (now_ms() / 1000).max(0) as u64,
            ),
            chat_history: history_within(self.chat.iter(), JOINED_CHAT_BUDGET),
            server_time: now_ms(),
            settings: self.settings,
            waiting: if p.info.role.moderates() {
                self.lobby_entries()
            } else {
                Vec::new()
            },
            publish_sources: crate::policy::granted_sources(p.grants.as_ref()),
            files: self.files.iter().cloned().collect(),
            file_access: self.file_access(meeting, &p.info.id),
            recording: self.recording_status(),
            // As `start_recording` decides: no recorder or no media, nothing to record.
            record_power: if self.state.recorder.is_none() || self.state.media.is_none() {
                RecordPower::None
            } else if p.grants.as_ref().is_some_and(|g| g.record) {
                RecordPower::Grant
            } else {
                RecordPower::Moderator
            },
        }));
        if let Some(conn) = p.conn() {
            conn.send(&joined);
        }
        self.participants[idx].resumable = Resumable::Issued { nonce };
    }
}

fn removed() -> JoinRefusal {
    JoinRefusal::Error(ServerError::client(
        ErrorCode::Removed,
        "you were removed from this meeting and cannot come back to it",
    ))
}

/// The newest messages of `chat` (oldest first) whose strings fit in `budget` octets.
pub fn history_within<'a>(
    chat: impl DoubleEndedIterator<Item = &'a ChatMessage>,
    budget: usize,
) -> Vec<ChatMessage> {
    let mut used = 0;
    let mut kept: Vec<ChatMessage> = chat
        .rev()
        .take_while(|m| {
            used += m.text.len()
                + m.from_name.len()
                + m.from.0.len()
                + m.client_msg_id.as_ref().map_or(0, String::len)
                + CHAT_ENTRY_OVERHEAD;
            used <= budget
        })
        .cloned()
        .collect();
    kept.reverse();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: i64, text: &str) -> ChatMessage {
        ChatMessage {
            seq,
            from: ParticipantId("p_a".into()),
            from_name: "Ada".into(),
            text: text.into(),
            sent_at: 0,
            client_msg_id: None,
        }
    }

    #[test]
    fn history_keeps_the_newest_that_fit() {
        let chat: Vec<ChatMessage> = (1..=10).map(|i| msg(i, &"x".repeat(1000))).collect();
        let all = history_within(chat.iter(), usize::MAX);
        assert_eq!(all.len(), 10);
        let some = history_within(chat.iter(), 3 * 1200);
        let seqs: Vec<i64> = some.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![8, 9, 10], "newest, in reading order");
        assert!(history_within(chat.iter(), 10).is_empty());
    }
}
