//! The room plane: how every caller addresses rooms — WebSocket sessions, the REST API and the
//! server's own tasks (drain). Requests are plain data and name who asks (the [`Actor`]), so that a
//! cluster can carry them between nodes behind this same trait: [`Registry`] is the in-process
//! implementation, `crate::cluster::plane::ClusterPlane` the cluster's. Whether an actor *may* ask
//! is decided before by `crate::policy`; the room checks only that the request fits the actor (a
//! participant speaks for itself, an outsider cannot chat, ...).

use convene_proto::{
    ConnectionQuality, LobbyEntry, MeetingSettings, ParticipantId, ParticipantInfo, Role, RoomId,
    Source, TrackSource,
};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::command::JoinRequest;
use super::conn::ConnHandle;
use super::registry::{Registry, RoomHandle};
use crate::error::ServerError;
use crate::state::AppState;

/// Who asks a room for something.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A participant of the room, through its own connection.
    Participant { id: ParticipantId },
    /// A signed-in account acting from outside the meeting (the REST API).
    User { id: i64 },
    /// A program, with an API key.
    ApiKey { id: String },
    /// The server itself: a drain, a timer.
    System,
}

/// What is asked of a room. Joins are not here: a join brings a live connection, which no message
/// can carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RoomOp {
    Chat {
        text: String,
        client_msg_id: Option<String>,
    },
    SetHand {
        raised: bool,
    },
    /// The participant's own report of its connection (bounds already checked).
    SetQuality {
        quality: ConnectionQuality,
    },
    /// A reaction already checked against the set; the room applies the sender's rate limit.
    React {
        emoji: String,
    },
    SetMuted {
        mic: Option<bool>,
        camera: Option<bool>,
    },
    /// The participant left on purpose (from connection `conn_id`).
    Leave {
        conn_id: u64,
    },
    /// Connection `conn_id` ended without `leave`: the participant may resume within the window.
    ConnectionLost {
        conn_id: u64,
    },
    /// A publish (or ICE restart) offer: the room checks what it would send before the media
    /// plane sees it.
    Offer {
        sdp: String,
        tracks: Vec<TrackSource>,
    },
    /// A host-muted participant asks to unmute `source`.
    AskToUnmute {
        source: Source,
    },
    /// Host powers (docs/protocol.md, *Host powers*), from a host or co-host, or from outside.
    Mute {
        target: ParticipantId,
        source: Source,
    },
    MuteAll {
        source: Source,
    },
    AllowUnmute {
        target: ParticipantId,
        source: Source,
    },
    LowerHand {
        target: ParticipantId,
    },
    /// Disconnect `target`; it cannot come back to this meeting.
    Remove {
        target: ParticipantId,
    },
    SetRole {
        target: ParticipantId,
        role: Role,
    },
    TransferHost {
        target: ParticipantId,
    },
    SetLocked {
        locked: bool,
    },
    SetLobby {
        enabled: bool,
    },
    Admit {
        target: ParticipantId,
    },
    Deny {
        target: ParticipantId,
    },
    AdmitAll,
    /// Whether the participant may share a file in `meeting` now (asked before its bytes are read).
    MayShareFile {
        meeting: i64,
    },
    /// A file whose bytes are stored: recorded, then announced (`file_shared`).
    ShareFile {
        meeting: i64,
        file: crate::files::StoredFile,
    },
    /// Delete a shared file for everyone (a host power).
    DeleteFile {
        file_id: String,
    },
    /// Record the meeting (hosts, co-hosts, a token's `record` grant; from outside, the REST API).
    StartRecording,
    /// Stop recording it; `reason` is `stopped` unless the server itself stops it.
    StopRecording {
        reason: convene_proto::RecordingStopReason,
    },
    /// Who is in the room now (connected, or away within their window).
    Snapshot,
    /// Who waits in the lobby.
    LobbySnapshot,
    /// End the meeting for everyone.
    End,
    /// Server shutdown: tell everyone, close the records, end the room.
    Drain,
}

impl RoomOp {
    /// Whether `actor` is the kind that may send this: a participant's own acts come from that
    /// participant, host powers from inside (the policy then decides by role) or outside, a look at
    /// the room from outside, a drain from the system only.
    pub fn fits(&self, actor: &Actor) -> bool {
        match self.kind() {
            OpKind::Own => matches!(actor, Actor::Participant { .. }),
            OpKind::Power => true,
            OpKind::Look => !matches!(actor, Actor::Participant { .. }),
            OpKind::Drain => *actor == Actor::System,
        }
    }

    /// Host powers: the policy decides them by the actor's role (rooms/moderation.rs).
    pub fn is_host_power(&self) -> bool {
        self.kind() == OpKind::Power
    }

    /// Exhaustive, so that a new request is classified when it is added.
    fn kind(&self) -> OpKind {
        match self {
            RoomOp::Chat { .. }
            | RoomOp::SetHand { .. }
            | RoomOp::SetQuality { .. }
            | RoomOp::React { .. }
            | RoomOp::SetMuted { .. }
            | RoomOp::Leave { .. }
            | RoomOp::ConnectionLost { .. }
            | RoomOp::Offer { .. }
            | RoomOp::AskToUnmute { .. }
            | RoomOp::MayShareFile { .. }
            | RoomOp::ShareFile { .. } => OpKind::Own,
            RoomOp::Mute { .. }
            | RoomOp::MuteAll { .. }
            | RoomOp::AllowUnmute { .. }
            | RoomOp::LowerHand { .. }
            | RoomOp::Remove { .. }
            | RoomOp::SetRole { .. }
            | RoomOp::TransferHost { .. }
            | RoomOp::SetLocked { .. }
            | RoomOp::SetLobby { .. }
            | RoomOp::Admit { .. }
            | RoomOp::Deny { .. }
            | RoomOp::AdmitAll
            | RoomOp::DeleteFile { .. }
            | RoomOp::StartRecording
            | RoomOp::StopRecording { .. }
            | RoomOp::End => OpKind::Power,
            RoomOp::Snapshot | RoomOp::LobbySnapshot => OpKind::Look,
            RoomOp::Drain => OpKind::Drain,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OpKind {
    /// A participant's own act.
    Own,
    Power,
    /// A look at the room from outside.
    Look,
    Drain,
}

/// What a room answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum RoomAnswer {
    Done,
    Participants {
        list: Vec<ParticipantInfo>,
    },
    Lobby {
        waiting: Vec<LobbyEntry>,
    },
    /// The meeting's lock and lobby, after a change of them.
    Settings {
        settings: MeetingSettings,
    },
    /// A file shared, as everyone was told.
    File {
        file: convene_proto::SharedFile,
    },
}

/// The room directory and its commands, wherever the rooms run.
pub trait RoomPlane: Send + Sync {
    /// Joins a room (made if allowed) with a connection; the room sends `joined` on it.
    fn join<'a>(
        &'a self,
        state: &'a std::sync::Arc<AppState>,
        req: JoinRequest,
        conn: ConnHandle,
    ) -> BoxFuture<'a, Result<(RoomId, ParticipantId), ServerError>>;

    /// Asks `room` for `op` on behalf of `actor`; `not_found` if the room is not live.
    fn request<'a>(
        &'a self,
        room: &'a RoomId,
        actor: Actor,
        op: RoomOp,
    ) -> BoxFuture<'a, Result<RoomAnswer, ServerError>>;

    /// Tells `room` of `op` without waiting for an answer (nothing if the room is not live).
    fn tell<'a>(&'a self, room: &'a RoomId, actor: Actor, op: RoomOp) -> BoxFuture<'a, ()>;

    /// The rooms live now (in a cluster: on any node).
    fn live(&self) -> BoxFuture<'_, Vec<RoomId>>;

    fn is_live<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, bool>;

    /// Drains every room; returns when all are done.
    fn drain_all(&self) -> BoxFuture<'_, ()>;
}

impl RoomPlane for Registry {
    fn join<'a>(
        &'a self,
        state: &'a std::sync::Arc<AppState>,
        req: JoinRequest,
        conn: ConnHandle,
    ) -> BoxFuture<'a, Result<(RoomId, ParticipantId), ServerError>> {
        Box::pin(async move {
            let (room, me) = self.join_room(state, req, conn).await?;
            Ok((room.id, me))
        })
    }

    fn request<'a>(
        &'a self,
        room: &'a RoomId,
        actor: Actor,
        op: RoomOp,
    ) -> BoxFuture<'a, Result<RoomAnswer, ServerError>> {
        Box::pin(async move {
            let handle = self.get(room).ok_or_else(RoomHandle::gone)?;
            handle.request(actor, op).await
        })
    }

    fn tell<'a>(&'a self, room: &'a RoomId, actor: Actor, op: RoomOp) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Some(handle) = self.get(room) {
                handle.tell(actor, op).await;
            }
        })
    }

    fn live(&self) -> BoxFuture<'_, Vec<RoomId>> {
        let rooms = self.handles().into_iter().map(|h| h.id).collect();
        Box::pin(std::future::ready(rooms))
    }

    fn is_live<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, bool> {
        Box::pin(std::future::ready(self.get(room).is_some()))
    }

    fn drain_all(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let waits: Vec<_> = self
                .handles()
                .into_iter()
                .map(|h| async move { h.request(Actor::System, RoomOp::Drain).await })
                .collect();
            futures_util::future::join_all(waits).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_plain_data_that_survive_a_round_trip() {
        let op = RoomOp::Chat {
            text: "hi".into(),
            client_msg_id: Some("c1".into()),
        };
        let actor = Actor::Participant {
            id: ParticipantId("p1".into()),
        };
        let wire = serde_json::to_string(&(&actor, &op)).unwrap();
        assert_eq!(
            wire,
            r#"[{"kind":"participant","id":"p1"},{"op":"chat","text":"hi","client_msg_id":"c1"}]"#
        );
        let back: (Actor, RoomOp) = serde_json::from_str(&wire).unwrap();
        assert_eq!(back, (actor, op));
    }

    #[test]
    fn a_request_must_fit_its_actor() {
        let me = Actor::Participant {
            id: ParticipantId("p1".into()),
        };
        let key = Actor::ApiKey { id: "ck_1".into() };
        let chat = RoomOp::Chat {
            text: "hi".into(),
            client_msg_id: None,
        };
        assert!(chat.fits(&me) && !chat.fits(&key) && !chat.fits(&Actor::System));
        assert!(RoomOp::End.fits(&key) && RoomOp::End.fits(&Actor::System));
        assert!(
            RoomOp::End.fits(&me),
            "ending for all is a host power: the policy decides by the participant's role"
        );
        let offer = RoomOp::Offer {
            sdp: "v=0".into(),
            tracks: vec![],
        };
        assert!(offer.fits(&me) && !offer.fits(&key));
        assert!(!RoomOp::Snapshot.fits(&me) && RoomOp::Snapshot.fits(&key));
        assert!(RoomOp::Drain.fits(&Actor::System) && !RoomOp::Drain.fits(&key));
    }
}
