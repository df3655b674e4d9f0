//! What a program says to join a meeting, and what it hears back.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use convene_proto::{ClientMessage, ErrorCode, ParticipantId, ServerMessage};

use crate::media::{MediaError, PublishOptions, Transport};
use crate::signaling::ClientError;

/// Who joins which room. Built from the two things every join needs; the rest is optional.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinRequest {
    room: String,
    display_name: String,
    access_token: Option<String>,
    password: Option<String>,
    resume_token: Option<String>,
}

impl JoinRequest {
    pub fn new(room: impl Into<String>, display_name: impl Into<String>) -> Self {
        JoinRequest {
            room: room.into(),
            display_name: display_name.into(),
            access_token: None,
            password: None,
            resume_token: None,
        }
    }

    /// An access token from the meeting's owner (docs/protocol.md, *Access tokens*).
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }

    /// The room's password, for a room that has one.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Come back as the participant of an earlier connection (its last `joined.resume_token`).
    pub fn resume_token(mut self, token: impl Into<String>) -> Self {
        self.resume_token = Some(token.into());
        self
    }

    pub fn room(&self) -> &str {
        &self.room
    }

    /// The `join` message: with `resume` (the token of the last `joined`) if given, else the
    /// request's own; the mute state says what `publish` sends.
    pub(crate) fn message(&self, resume: Option<&str>, publish: &PublishOptions) -> ClientMessage {
        ClientMessage::Join {
            room: self.room.clone(),
            display_name: self.display_name.clone(),
            version: Some(convene_proto::PROTOCOL_VERSION),
            access_token: self.access_token.clone(),
            password: self.password.clone(),
            resume_token: resume.map(str::to_owned).or(self.resume_token.clone()),
            mic_muted: Some(!publish.audio),
            camera_muted: Some(!publish.video),
        }
    }
}

/// How to come back after the connection to the server is lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconnect {
    /// The ceiling of the random delay before an attempt: it starts at 250 ms and doubles per
    /// attempt up to this.
    pub max_delay: Duration,
    /// How long one attempt may take, from opening the socket to `joined`.
    pub attempt_timeout: Duration,
    /// How long to keep trying; None: as long as the server honours the resume token (the
    /// longer of `joined`'s resume and restart windows).
    pub window: Option<Duration>,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            max_delay: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(15),
            window: None,
        }
    }
}

/// How to run a meeting.
#[derive(Clone, Debug)]
pub struct MeetingOptions {
    /// The IP to bind media to and announce as our host candidate.
    pub local_ip: IpAddr,
    pub transport: Transport,
    /// What to publish from the start ([`PublishOptions::none`]: nothing).
    pub publish: PublishOptions,
    /// None: a lost connection ends the meeting.
    pub reconnect: Option<Reconnect>,
    /// How often to send `ping`. A connection that hears nothing for three of these is taken as
    /// lost (a server that vanished without closing the socket).
    pub ping_interval: Duration,
}

impl Default for MeetingOptions {
    fn default() -> Self {
        MeetingOptions {
            local_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            transport: Transport::Udp,
            publish: PublishOptions::default(),
            reconnect: Some(Reconnect::default()),
            ping_interval: Duration::from_secs(10),
        }
    }
}

/// What happens in a meeting, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum MeetingEvent {
    /// A server message: chat, participants, tracks, errors about requests. After a
    /// reconnection the new `joined` comes here too (then [`MeetingEvent::Reconnected`]).
    Message(ServerMessage),
    /// Media flows (ICE and DTLS are up).
    MediaConnected,
    /// ICE lost the server; it may come back by itself.
    MediaDisconnected,
    /// The server changed what we receive; [`crate::MediaStats::tracks`] has the new mapping.
    TracksChanged,
    /// The connection was lost and attempt `attempt` (1, 2, ...) to come back is starting.
    Reconnecting { attempt: u32, reason: String },
    /// Back in the meeting. `resumed`: as the same participant (false when the server no longer
    /// knew us: then `participant_id` is a new one). Media is being rebuilt.
    Reconnected {
        participant_id: ParticipantId,
        resumed: bool,
    },
    /// The server reset our media session; a new peer connection republishes and resubscribes.
    MediaRebuilt { reason: String },
    /// The meeting is over for this client; no event follows.
    Ended(EndReason),
}

/// Why the meeting ended for this client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// [`crate::Meeting::leave`].
    Left,
    /// A host removed us (close code 4003, `closing: removed`).
    Removed,
    /// A host turned us away from the lobby.
    Denied,
    /// The meeting was ended for everyone.
    MeetingEnded,
    /// Another connection resumed this participant (close code 4001).
    Replaced,
    /// A reconnection was refused for a reason that asking again does not change.
    Refused { code: ErrorCode, message: String },
    /// The connection was lost and did not come back in the reconnection window (or
    /// reconnection is off).
    Disconnected { last_error: String },
}

#[derive(Debug, thiserror::Error)]
pub enum MeetingError {
    #[error("signaling: {0}")]
    Signaling(#[from] ClientError),
    #[error("media: {0}")]
    Media(#[from] MediaError),
    /// Not connected right now (reconnecting); try again after [`MeetingEvent::Reconnected`].
    #[error("reconnecting to the server")]
    Reconnecting,
    #[error("the meeting has ended")]
    Ended,
}
