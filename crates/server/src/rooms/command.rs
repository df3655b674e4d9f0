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
    /// The role the policy gives the joiner; the room applies its own rules on top (the first of
    /// an ad-hoc room hosts it, a co-host hosts a meeting nobody hosts).
    pub entry: crate::policy::EntryRole,
    /// The grants of the access token it joined with.
    pub grants: Option<crate::auth::tokens::Grants>,
    /// The room's plan, when someone made it ahead of time: a meeting takes its settings from the
    /// first join.
    pub plan: Option<PlanSettings>,
}

impl JoinRequest {
    pub fn hidden(&self) -> bool {
        self.grants.as_ref().is_some_and(|g| g.hidden)
    }
}

/// What a planned room sets for its meetings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanSettings {
    pub lobby: bool,
    /// How long the room stays open once empty (the server's `rooms.empty_grace_secs` if None).
    pub empty_timeout: Option<std::time::Duration>,
    /// Its meetings are recorded from their start.
    pub record_on_connect: bool,
}

#[derive(Debug)]
pub enum JoinRefusal {
    /// The room ended while the request was queued; the registry makes a new one and retries.
    RoomEnded,
    Error(ServerError),
}

pub type JoinReply = Result<ParticipantId, JoinRefusal>;

/// Where a room's answer to a request goes.
pub type AnswerTo = oneshot::Sender<Result<super::plane::RoomAnswer, ServerError>>;

#[derive(Debug)]
pub enum RoomCmd {
    /// The room sends `joined` itself on `conn`, before any event, so that ordering holds.
    Join {
        req: JoinRequest,
        conn: ConnHandle,
        reply: oneshot::Sender<JoinReply>,
    },
    /// A request of the room plane (see `plane`), answered on `reply` when there is one.
    Request {
        actor: super::plane::Actor,
        op: super::plane::RoomOp,
        reply: Option<AnswerTo>,
    },
    /// Output of the media worker about this room or one of its participants.
    Media(crate::media::MediaOut),
}
