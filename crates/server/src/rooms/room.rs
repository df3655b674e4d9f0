//! One room: an actor task that owns its participants and its meeting record. Everything that changes a
//! room goes through its queue, so a room needs no locks and events reach everyone in one order.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use convene_proto::{
    ChatMessage, MeetingSettings, ParticipantId, ParticipantInfo, Role, RoomId, ServerMessage,
    Source,
};
use convene_store::{LeaveReason, MeetingId};
use tokio::sync::mpsc;

use super::command::{JoinRefusal, RoomCmd};
use super::conn::{encode, Delivery};
use super::participant::{Participant, Presence};
use super::plane::{RoomAnswer, RoomOp};
use super::writer::{Done, RoomWriter};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::media::MediaCmd;
use crate::pending_writes::PendingWrite;
use crate::state::AppState;

/// Where a room is in its life.
pub(super) enum Lifecycle {
    Active,
    /// Nobody is in the room (not even within a resume window) since then.
    Empty {
        since: Instant,
    },
}

/// Whether the meeting follows a plan someone made ahead of time (taken from its first join).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PlanState {
    Unknown,
    AdHoc,
    Planned(super::command::PlanSettings),
}

pub struct Room {
    pub(super) id: RoomId,
    /// Distinguishes this room from a later one of the same name in the registry.
    generation: u64,
    pub(super) state: Arc<AppState>,
    pub(super) meeting: Option<MeetingId>,
    pub(super) participants: Vec<Participant>,
    pub(super) chat: VecDeque<ChatMessage>,
    /// The meeting's newest shared files (rooms/files.rs).
    pub(super) files: VecDeque<convene_proto::SharedFile>,
    pub(super) lifecycle: Lifecycle,
    pub(super) writer: RoomWriter,
    pub(super) plan: PlanState,
    pub(super) settings: MeetingSettings,
    /// People at the door (rooms/lobby.rs), longest first.
    pub(super) lobby: Vec<super::lobby::Waiting>,
    /// Whether the people waiting were last told that someone who can admit them is here.
    pub(super) hosts_were_present: bool,
    pub(super) bans: super::bans::Bans,
    /// Joins whose rows are being written (rooms/arrival.rs): they hold their seats.
    pub(super) arriving: Vec<super::arrival::Arrival>,
    /// When the meeting started (wall clock, ms): its recordings' clock starts there.
    pub(super) meeting_since: i64,
    pub(super) recording: super::recording::Recording,
}

impl Room {
    pub fn new(id: RoomId, generation: u64, state: Arc<AppState>) -> Self {
        let writer = RoomWriter::spawn(state.clone());
        Self {
            writer,
            plan: PlanState::Unknown,
            settings: MeetingSettings::default(),
            lobby: Vec::new(),
            hosts_were_present: false,
            bans: Default::default(),
            arriving: Vec::new(),
            meeting_since: now_ms(),
            recording: Default::default(),
            id,
            generation,
            state,
            meeting: None,
            participants: Vec::new(),
            chat: VecDeque::new(),
            files: VecDeque::new(),
            lifecycle: Lifecycle::Empty {
                since: Instant::now(),
            },
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<RoomCmd>) {
        self.state.metrics.rooms.fetch_add(1, Ordering::Relaxed);
        loop {
            let deadline = self.next_deadline();
            let cmd = tokio::select! {
                cmd = rx.recv() => cmd,
                Some(done) = self.writer.results.recv() => {
                    match done {
                        Done::Chat(stored) => self.chat_stored(stored),
                        Done::Join(stored) => self.join_stored(*stored),
                        Done::File(done) => self.file_done(done),
                    }
                    continue;
                }
                _ = sleep_until(deadline) => {
                    if self.on_timer().await == Continue::Stop {
                        break;
                    }
                    continue;
                }
            };
            let Some(cmd) = cmd else { break };
            if self.handle(cmd).await == Continue::Stop {
                break;
            }
        }
        // Messages written before the end (the record closed after them) are kept: say so.
        self.writer.results.close();
        while let Ok(done) = self.writer.results.try_recv() {
            match done {
                Done::Chat(stored) => stored.answer_directly(),
                Done::Join(stored) => stored.room_gone(&*self.state.store).await,
                Done::File(done) => done.answer_directly(),
            }
        }
        // Refuse what is still queued: joins go to a new room, other requests are moot.
        self.state.rooms.remove(&self.id, self.generation);
        rx.close();
        while let Ok(cmd) = rx.try_recv() {
            match cmd {
                RoomCmd::Join { reply, .. } => {
                    let _ = reply.send(Err(JoinRefusal::RoomEnded));
                }
                RoomCmd::Request {
                    reply: Some(reply),
                    op,
                    ..
                } => {
                    // A drain or an end asked of a room that has just ended is done already.
                    let _ = reply.send(match op {
                        RoomOp::Drain | RoomOp::End => Ok(RoomAnswer::Done),
                        _ => Err(super::registry::RoomHandle::gone()),
                    });
                }

                _ => {}
            }
        }
        self.state.metrics.rooms.fetch_sub(1, Ordering::Relaxed);
        tracing::info!(room = %self.id, "room closed");
    }

    async fn handle(&mut self, cmd: RoomCmd) -> Continue {
        match cmd {
            RoomCmd::Join { req, conn, reply } => self.join(req, conn, reply).await,
            RoomCmd::Request { actor, op, reply } => return self.request(actor, op, reply).await,
            RoomCmd::Media(out) => self.on_media(out),
        }
        Continue::Go
    }

    /// What a participant says is muted is not forwarded either: a client that keeps sending after
    /// muting leaks nothing, and nobody spends bandwidth on it.
    pub(super) fn server_mute(&self, id: &ParticipantId, mic: Option<bool>, camera: Option<bool>) {
        let held = self
            .find(id)
            .map(|p| p.info.host_muted.clone())
            .unwrap_or_default();
        let viewer = self.find(id).is_some_and(|p| p.info.role == Role::Viewer);
        for (source, muted) in [(Source::Microphone, mic), (Source::Camera, camera)] {
            if let Some(muted) = muted {
                // A host's mute, or a viewer's role, holds whatever the participant says.
                self.media_mute(id, source, muted || viewer || held.contains(&source));
            }
        }
    }

    /// Starts or stops forwarding one source of a participant (`screen` with its audio).
    pub(super) fn media_mute(&self, id: &ParticipantId, source: Source, muted: bool) {
        let Some(media) = &self.state.media else {
            return;
        };
        let sources: &[Source] = match source {
            Source::Screen | Source::ScreenAudio => &[Source::Screen, Source::ScreenAudio],
            Source::Microphone => &[Source::Microphone],
            Source::Camera => &[Source::Camera],
        };
        for s in sources {
            media.send(
                &self.id,
                MediaCmd::ServerMute {
                    participant: id.clone(),
                    source: crate::media::source_from_proto(*s),
                    muted,
                },
            );
        }
    }

    /// When a connection lost now stops being resumable.
    pub(super) fn resume_deadline(&self) -> Instant {
        Instant::now() + Duration::from_secs(self.state.config.rooms.resume_window_secs)
    }

    pub(super) fn update(
        &mut self,
        from: &ParticipantId,
        change: impl FnOnce(&mut ParticipantInfo),
    ) {
        let Some(p) = self.find_mut(from) else { return };
        let before = p.info.clone();
        change(&mut p.info);
        if p.info != before {
            let msg = ServerMessage::ParticipantUpdated {
                participant: p.info.clone(),
            };
            if p.hidden() {
                // Nobody else knows of a hidden participant.
                if let Some(conn) = p.conn() {
                    conn.send(&msg);
                }
            } else {
                self.broadcast(&msg);
            }
        }
    }

    pub(super) async fn remove(&mut self, id: &ParticipantId, reason: LeaveReason) {
        let Some(idx) = self.participants.iter().position(|p| &p.info.id == id) else {
            return;
        };
        let p = self.participants.remove(idx);
        if let Some(media) = &self.state.media {
            self.state.set_media_route(&p.info.id, None);
            media.send(
                &self.id,
                MediaCmd::RemoveParticipant {
                    participant: p.info.id.clone(),
                },
            );
        }
        self.state
            .metrics
            .participants
            .fetch_sub(1, Ordering::Relaxed);
        if p.in_record() {
            self.writer.close_session(p.session, now_ms(), reason);
        }
        tracing::info!(room = %self.id, participant = %id, reason = reason.as_str(), "left");
        if !p.hidden() {
            // The room announces the end of the leaver's publications itself: the media core
            // reports them too, but after the participant is gone from the room, which drops that
            // report.
            for track in &p.info.tracks {
                self.track_event("track_unpublished", &p.info.id, track);
                self.broadcast(&ServerMessage::TrackUnpublished {
                    participant_id: p.info.id.clone(),
                    track_id: track.id.clone(),
                });
            }
            self.broadcast(&ServerMessage::ParticipantLeft {
                participant_id: p.info.id.clone(),
                reason: wire_reason(reason),
            });
        }
        if p.info.role == Role::Host {
            self.hand_over_host();
        } else if p.info.role.moderates() {
            self.tell_waiters_about_hosts();
        }
        self.settle_if_empty();
    }

    /// Tells everyone `closing`, closes their connections and their sessions, and the meeting: a
    /// drain (a restart, which people come back from) or a meeting ended for everyone.
    pub(super) async fn end_for_all(&mut self, ending: Ending) {
        let (reason, code, why, leave) = match ending {
            Ending::Drain => (
                "server_shutdown",
                convene_proto::close::GOING_AWAY,
                "server shutting down",
                LeaveReason::ServerShutdown,
            ),
            Ending::ForAll => (
                "meeting_ended",
                convene_proto::close::NORMAL,
                "meeting ended",
                LeaveReason::MeetingEnded,
            ),
        };
        self.recording_ends(); // Told before `closing`, while everyone is connected.
        let closing = ServerMessage::Closing {
            reason: reason.into(),
        };
        for conn in self
            .participants
            .iter()
            .filter_map(Participant::conn)
            .chain(self.lobby.iter().map(|w| &w.conn))
        {
            conn.send(&closing);
            conn.close(code, why);
        }
        self.lobby.clear();
        let ids: Vec<ParticipantId> = self
            .participants
            .iter()
            .map(|p| p.info.id.clone())
            .collect();
        for id in ids {
            self.remove(&id, leave).await;
        }
        self.end_meeting().await;
    }

    async fn on_timer(&mut self) -> Continue {
        let now = Instant::now();
        let expired: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|p| matches!(p.presence, Presence::Away { until } if now >= until))
            .map(|p| p.info.id.clone())
            .collect();
        for id in expired {
            self.remove(&id, LeaveReason::Disconnected).await;
        }
        self.flush_quality(now);
        let grace = self.empty_grace();
        if let Lifecycle::Empty { since } = self.lifecycle {
            if now >= since + grace {
                self.end_meeting().await;
                return Continue::Stop;
            }
        }
        Continue::Go
    }

    async fn end_meeting(&mut self) {
        self.recording_ends();
        // Messages sent before the end are written before the record closes.
        self.writer.flush().await;
        if let Some(m) = self.meeting.take() {
            let ended_at = now_ms();
            if let Err(e) = self.state.store.end_meeting(m, ended_at).await {
                self.storage_failed(e);
                self.state
                    .pending_writes
                    .push(PendingWrite::Meeting { id: m, ended_at });
            }
            tracing::info!(room = %self.id, meeting = m.0, "meeting ended");
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let away = self.participants.iter().filter_map(|p| match p.presence {
            Presence::Away { until } => Some(until),
            Presence::Connected(_) => None,
        });
        let empty = match self.lifecycle {
            Lifecycle::Empty { since } => Some(since + self.empty_grace()),
            Lifecycle::Active => None,
        };
        away.chain(empty).chain(self.quality_deadline()).min()
    }

    /// Queues a webhook event of this meeting that has no record of its own (none before the
    /// meeting exists).
    pub(super) fn event(&self, kind: &'static str, data: serde_json::Value) {
        if let Some(m) = self.meeting {
            self.writer.event(m, kind, data, now_ms());
        }
    }

    pub(super) fn track_event(
        &self,
        kind: &'static str,
        participant: &ParticipantId,
        t: &convene_proto::TrackInfo,
    ) {
        // A hidden participant publishes nothing; tracks of others are public to the meeting.
        let data = serde_json::json!({
            "participant_id": participant,
            "track_id": t.id,
            "kind": t.kind,
            "source": t.source,
        });
        self.event(kind, data);
    }

    /// How long the room stays open once empty: its plan's `empty_room_timeout`, or the server's.
    fn empty_grace(&self) -> Duration {
        match self.plan {
            PlanState::Planned(super::command::PlanSettings {
                empty_timeout: Some(t),
                ..
            }) => t,
            _ => Duration::from_secs(self.state.config.rooms.empty_grace_secs),
        }
    }

    /// Sends a message to one participant, if connected.
    pub(super) fn send_to(&self, id: &ParticipantId, msg: &ServerMessage) {
        if let Some(conn) = self.find(id).and_then(Participant::conn) {
            conn.send(msg);
        }
    }

    pub(super) fn broadcast(&mut self, msg: &ServerMessage) {
        let text = encode(msg);
        let ty = msg.type_name();
        let mut slow = Vec::new();
        for p in &self.participants {
            if let Some(conn) = p.conn() {
                if conn.send_frame(text.clone(), ty) == Delivery::Dropped {
                    slow.push(p.info.id.clone());
                }
            }
        }
        let until = self.resume_deadline();
        for id in slow {
            tracing::warn!(room = %self.id, participant = %id, "client too slow; connection dropped");
            if let Some(p) = self.find_mut(&id) {
                p.presence = Presence::Away { until };
            }
        }
    }

    pub(super) fn storage_failed(&self, e: convene_store::StoreError) -> JoinRefusalOr {
        tracing::error!(room = %self.id, error = %e, "meeting record write failed");
        self.state
            .metrics
            .storage_failures
            .fetch_add(1, Ordering::Relaxed);
        JoinRefusalOr(ServerError::Storage(e))
    }

    pub(super) fn is_current(&self, id: &ParticipantId, conn_id: u64) -> bool {
        self.find(id)
            .and_then(Participant::conn)
            .is_some_and(|c| c.id() == conn_id)
    }

    pub(super) fn find(&self, id: &ParticipantId) -> Option<&Participant> {
        self.participants.iter().find(|p| &p.info.id == id)
    }

    pub(super) fn find_mut(&mut self, id: &ParticipantId) -> Option<&mut Participant> {
        self.participants.iter_mut().find(|p| &p.info.id == id)
    }
}

/// A storage failure on its way to becoming either a join refusal or a plain error.
pub struct JoinRefusalOr(ServerError);

impl From<JoinRefusalOr> for JoinRefusal {
    fn from(e: JoinRefusalOr) -> Self {
        JoinRefusal::Error(e.0)
    }
}

impl From<JoinRefusalOr> for ServerError {
    fn from(e: JoinRefusalOr) -> Self {
        e.0
    }
}

/// The protocol's word for why someone left; the one place the records' reasons are mapped.
fn wire_reason(r: LeaveReason) -> convene_proto::LeaveReason {
    use convene_proto::LeaveReason as Wire;
    match r {
        LeaveReason::Left => Wire::Left,
        LeaveReason::Disconnected => Wire::Disconnected,
        LeaveReason::ServerShutdown => Wire::ServerShutdown,
        LeaveReason::Removed => Wire::Removed,
        LeaveReason::MeetingEnded => Wire::MeetingEnded,
        // Written by the start-up recovery only, for people no running room announces.
        LeaveReason::ServerRestart => Wire::Disconnected,
        // Written by a survivor in a cluster for a node that died, likewise.
        LeaveReason::NodeLost => Wire::Disconnected,
    }
}

/// How a meeting ends for everyone in it at once.
#[derive(Clone, Copy)]
pub(super) enum Ending {
    /// The server drains (a restart): people come back.
    Drain,
    /// A host or an operator ended it.
    ForAll,
}

#[derive(PartialEq, Eq)]
pub(super) enum Continue {
    Go,
    Stop,
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
