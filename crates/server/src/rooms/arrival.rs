//! A join on its way into the room. Its checks pass in the room's loop; its meeting and session rows
//! are written by the room's writer, off the loop (a slow database must not freeze the room); it
//! holds its seat meanwhile. Only once the rows are committed do the others hear of it and does it
//! get `joined`.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use convene_proto::{ParticipantId, ParticipantInfo, Role, ServerMessage};
use convene_store::{MeetingId, NewMeeting, NewSession, SessionId};
use tokio::sync::oneshot;

use super::command::{JoinRefusal, JoinReply, JoinRequest};
use super::conn::ConnHandle;
use super::participant::{reaction_bucket, Participant, Presence, Resumable};
use super::room::{Lifecycle, Room};
use super::writer::{JoinStored, JoinWrite, MeetingSlot};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::media::MediaCmd;
use crate::policy::EntryRole;

/// What a join comes to in the room's loop.
pub enum Entry {
    /// Answered now: a resume, or a wait in the lobby.
    Now(ParticipantId),
    /// Checked: its rows are to be written.
    Write(ParticipantId, Box<JoinRequest>, ConnHandle),
}

/// Where a join's outcome goes.
#[derive(Debug)]
pub enum Answer {
    /// The join's own request.
    Reply(oneshot::Sender<JoinReply>),
    /// Someone let in from the lobby: their join was answered when they began to wait, so a
    /// failure now is told on their connection.
    Admitted,
}

/// A join whose rows are being written.
#[derive(Debug)]
pub struct PendingJoin {
    pub id: ParticipantId,
    pub req: JoinRequest,
    pub conn: ConnHandle,
    pub role: Role,
    pub entry: EntryRole,
    pub joined_at: i64,
    pub answer: Answer,
}

/// The seat an arriving join holds.
#[derive(Debug)]
pub struct Arrival {
    pub id: ParticipantId,
    pub role: Role,
    pub hidden: bool,
    pub guest_addr: Option<IpAddr>,
}

impl PendingJoin {
    pub fn refuse(self, e: ServerError) {
        match self.answer {
            Answer::Reply(r) => {
                let _ = r.send(Err(JoinRefusal::Error(e)));
            }
            Answer::Admitted => {
                self.conn.send(&e.to_message(Some("join")));
                self.conn.send(&ServerMessage::Closing {
                    reason: e.code().as_str().into(),
                });
                self.conn
                    .close(convene_proto::close::REMOVED, "not admitted");
            }
        }
    }

    /// The room ended before the join was in.
    pub fn room_ended(self) {
        match self.answer {
            Answer::Reply(r) => {
                let _ = r.send(Err(JoinRefusal::RoomEnded));
            }
            Answer::Admitted => {
                self.conn.send(&ServerMessage::Closing {
                    reason: "meeting_ended".into(),
                });
                self.conn
                    .close(convene_proto::close::NORMAL, "meeting ended");
            }
        }
    }
}

impl Room {
    /// Holds a seat for a checked join and hands its rows to the writer.
    pub(super) fn queue_join(
        &mut self,
        id: ParticipantId,
        req: JoinRequest,
        conn: ConnHandle,
        entry: EntryRole,
        answer: Answer,
    ) {
        let role = self.role_on_entry(entry, req.hidden());
        let now = now_ms();
        let node_id = self.state.config.server.node_id.clone();
        let meeting = match self.meeting {
            Some(m) => MeetingSlot::Known(m),
            None if !self.arriving.is_empty() => MeetingSlot::FromEarlier,
            None => MeetingSlot::Create(NewMeeting {
                room: self.id.0.clone(),
                creator: Some(req.display_name.clone()),
                created_at: now,
                max_participants: i64::from(self.state.config.rooms.max_participants),
                settings_json: "{}".into(),
                node_id: node_id.clone(),
                // The API names meetings by this, so that ids cannot be walked.
                public_id: super::participant::new_token(),
            }),
        };
        let session = NewSession {
            // Filled in by the writer once the meeting is known.
            meeting: self.meeting.unwrap_or(MeetingId(0)),
            participant_id: id.0.clone(),
            display_name: req.display_name.clone(),
            user: req.user,
            role: role.as_str().into(),
            joined_at: now,
            node_id,
            identity: req.identity.clone(),
        };
        self.arriving.push(Arrival {
            id: id.clone(),
            role,
            hidden: req.hidden(),
            guest_addr: req.guest_addr,
        });
        self.lifecycle = Lifecycle::Active;
        let pending = PendingJoin {
            id,
            req,
            conn,
            role,
            entry,
            joined_at: now,
            answer,
        };
        self.writer.join(JoinWrite { meeting, session }, pending);
    }

    /// A join's rows are written (or not): it comes in now, or is refused.
    pub(super) fn join_stored(&mut self, JoinStored { pending, result }: JoinStored) {
        self.arriving.retain(|a| a.id != pending.id);
        match result {
            Ok((meeting, session)) => {
                if self.meeting.is_none() {
                    tracing::info!(room = %self.id, meeting = meeting.0, "meeting started");
                    self.meeting = Some(meeting);
                    self.meeting_since = crate::clock::now_ms();
                }
                // Before the newcomer's `joined`, which then says the meeting is recorded.
                self.record_on_connect();
                self.come_in(pending, session);
            }
            Err(e) => {
                let e = self.storage_failed(e);
                pending.refuse(e.into());
                self.settle_if_empty();
            }
        }
    }

    /// The committed join becomes a participant: the others hear of it, it gets a media session
    /// and `joined`.
    fn come_in(&mut self, p: PendingJoin, session: SessionId) {
        let PendingJoin {
            id,
            req,
            conn,
            role,
            entry,
            joined_at,
            answer,
        } = p;
        let hidden = req.hidden();
        let info = ParticipantInfo {
            id: id.clone(),
            display_name: req.display_name,
            role,
            mic_muted: req.mic_muted,
            camera_muted: req.camera_muted,
            hand_raised: false,
            screen_sharing: false,
            joined_at,
            tracks: Vec::new(),
            connection_quality: None,
            host_muted: Vec::new(),
            unmute_asked: Vec::new(),
        };
        // Committed: now the others may hear of it (of a hidden participant, nobody does).
        if !hidden {
            self.broadcast(&ServerMessage::ParticipantJoined {
                participant: info.clone(),
            });
        }
        let receives = req.grants.as_ref().is_none_or(|g| g.subscribe);
        self.participants.push(Participant {
            user: req.user,
            identity: req.identity,
            grants: req.grants,
            info,
            session,
            // `send_joined` below issues the first token and its nonce. Until then no token can
            // match: every issued nonce is 32 hex digits, never empty.
            resumable: Resumable::Issued {
                nonce: String::new(),
            },
            presence: Presence::Connected(conn),
            guest_addr: req.guest_addr,
            reactions: reaction_bucket(&self.state.config.limits, Instant::now()),
            quality: Default::default(),
        });
        if let Some(p) = self.participants.last() {
            self.recording_name(&p.info);
        }
        self.add_to_media(&id, req.mic_muted, req.camera_muted, &[]);
        if let (false, Some(media)) = (receives, &self.state.media) {
            let participant = id.clone();
            media.send(
                &self.id,
                MediaCmd::SetReceives {
                    participant,
                    receives,
                },
            );
        }
        let metrics = &self.state.metrics;
        metrics.participants.fetch_add(1, Ordering::Relaxed);
        metrics.joins.fetch_add(1, Ordering::Relaxed);
        let idx = self.participants.len() - 1;
        self.send_joined(idx, false, false);
        if entry == EntryRole::Owner {
            // The owner takes host back from whoever held it meanwhile.
            self.demote_other_hosts(&id);
        }
        self.tell_waiters_about_hosts();
        tracing::info!(room = %self.id, participant = %id, role = role.as_str(), "joined");
        if let Answer::Reply(r) = answer {
            let _ = r.send(Ok(id));
        }
    }
}
