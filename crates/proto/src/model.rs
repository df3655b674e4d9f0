//! Shapes that appear inside messages.

use serde::{Deserialize, Serialize};

use crate::ids::{ParticipantId, TrackId};

/// What a participant may do (docs/protocol.md, *Roles and permissions*). A room has at most one
/// host at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Host,
    /// Moderates like the host, but cannot end the meeting, change roles or act on the host.
    CoHost,
    Participant,
    /// Receives and chats; publishes nothing.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::CoHost => "co_host",
            Role::Participant => "participant",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "host" => Role::Host,
            "co_host" => Role::CoHost,
            "participant" => Role::Participant,
            "viewer" => Role::Viewer,
            _ => return None,
        })
    }

    /// Host or co-host: may moderate.
    pub fn moderates(self) -> bool {
        matches!(self, Role::Host | Role::CoHost)
    }
}

/// Why a participant left the meeting (`participant_left.reason`). The protocol's own words: the
/// records keep their own, which the server maps to these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// On purpose (`leave`).
    Left,
    /// The connection dropped and was not resumed within the window.
    Disconnected,
    /// The server shut down (a drain).
    ServerShutdown,
    /// A host removed them.
    Removed,
    /// The meeting was ended for everyone.
    MeetingEnded,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::Disconnected => "disconnected",
            LeaveReason::ServerShutdown => "server_shutdown",
            LeaveReason::Removed => "removed",
            LeaveReason::MeetingEnded => "meeting_ended",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Audio,
    Video,
}

/// Where a track comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Microphone,
    Camera,
    Screen,
    ScreenAudio,
}

/// Says which of the client's sending m-lines (by `mid`) carries which source. Sent by clients, so
/// strict like every client message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackSource {
    pub mid: String,
    pub source: Source,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInfo {
    pub id: TrackId,
    pub kind: MediaKind,
    pub source: Source,
    /// Simulcast layers by rid, lowest first; empty when not simulcast.
    #[serde(default)]
    pub rids: Vec<String>,
    /// The publisher's m-line that sends this track (a mid of the publisher's session). A
    /// subscriber learns which of its own m-lines carries the track from the server's `sdp_offer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
}

/// A participant as everyone in the room sees them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub id: ParticipantId,
    pub display_name: String,
    pub role: Role,
    pub mic_muted: bool,
    pub camera_muted: bool,
    pub hand_raised: bool,
    pub screen_sharing: bool,
    /// Joined at, ms since the Unix epoch.
    pub joined_at: i64,
    #[serde(default)]
    pub tracks: Vec<TrackInfo>,
    /// What its own client last reported of its link; null until it reports.
    #[serde(default)]
    pub connection_quality: Option<crate::quality::ConnectionQuality>,
    /// Sources a host or co-host muted: not forwarded, and the participant cannot unmute them until
    /// one allows it (`allow_unmute`).
    #[serde(default)]
    pub host_muted: Vec<Source>,
    /// Host-muted sources the participant asked to unmute (`ask_to_unmute`), not yet allowed.
    #[serde(default)]
    pub unmute_asked: Vec<Source>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// 1, 2, 3, ... within the meeting, with no gaps.
    pub seq: i64,
    pub from: ParticipantId,
    pub from_name: String,
    pub text: String,
    /// Server time when it was stored, ms since the Unix epoch.
    pub sent_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
}

/// An ICE server as `RTCIceServer` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioLevel {
    pub participant_id: ParticipantId,
    pub level: u8,
}

/// One receive m-line of a server offer: which participant's track arrives on `mid`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedTrack {
    pub mid: String,
    pub participant_id: ParticipantId,
    pub track_id: TrackId,
    pub kind: MediaKind,
    pub source: Source,
}
