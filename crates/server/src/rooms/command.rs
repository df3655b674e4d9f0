//! What a connection can ask of its room.

use convene_proto::{ParticipantId, RoomId};
use tokio::sync::oneshot;

use super::conn::ConnHandle;
use crate::error::ServerError;

/// A validated join request (names already checked by the connection).
#[derive(Debug)]
pub struct JoinRequest {
    pub room: RoomId,
    pub display_name: String,
    pub resume_token: Option<String>,
    pub mic_muted: bool,
    pub camera_muted: bool,
    /// The signed-in account of the connection, for the record.
    pub user: Option<convene_store::UserId>,
    /// The identity of the access token it joined with, for the record.
    pub identity: Option<String>,
    /// Someone made this room ahead of time: it may be opened even where rooms are not made on join.
    pub planned: bool,
    /// The room's own seat limit, when its plan has one (the server's limit still applies).
    pub seat_limit: Option<u32>,
    /// The address of a guest whose seats per address are limited (None: not limited).
    pub guest_addr: Option<std::net::IpAddr>,
}

#[derive(Debug)]
pub enum JoinRefusal {
    /// The room ended while the request was queued; the registry makes a new one and retries.
    RoomEnded,
    Error(ServerError),
}

pub type JoinReply = Result<ParticipantId, JoinRefusal>;

#[derive(Debug)]
pub enum RoomCmd {
    /// The room sends `joined` itself on `conn`, before any event, so that ordering holds.
    Join {
        req: JoinRequest,
        conn: ConnHandle,
        reply: oneshot::Sender<JoinReply>,
    },
    Chat {
        from: ParticipantId,
        text: String,
        client_msg_id: Option<String>,
        reply: oneshot::Sender<Result<(), ServerError>>,
    },
    SetHand {
        from: ParticipantId,
        raised: bool,
    },
    /// The participant's own report of its connection (bounds already checked).
    SetQuality {
        from: ParticipantId,
        quality: convene_proto::ConnectionQuality,
    },
    /// A reaction already checked against the set; the room applies the sender's rate limit.
    React {
        from: ParticipantId,
        emoji: String,
        reply: oneshot::Sender<Result<(), ServerError>>,
    },
    SetMuted {
        from: ParticipantId,
        mic: Option<bool>,
        camera: Option<bool>,
    },
    /// The participant left on purpose.
    Leave {
        from: ParticipantId,
        conn_id: u64,
    },
    /// The connection ended without `leave`: the participant may resume within the window.
    ConnectionLost {
        from: ParticipantId,
        conn_id: u64,
    },
    /// Output of the media worker about this room or one of its participants.
    Media(crate::media::MediaOut),
    /// Server shutdown: tell everyone, close the records, end the room.
    Drain {
        done: oneshot::Sender<()>,
    },
    /// Who is in the room now (connected, or away within their window).
    Snapshot {
        reply: oneshot::Sender<Vec<convene_proto::ParticipantInfo>>,
    },
    /// End the meeting for everyone (from outside the meeting: an owner, an admin, an API key).
    End {
        done: oneshot::Sender<()>,
    },
}
