//! Every message of the protocol. A message is a JSON object whose `type` field names it; the enums are
//! internally tagged so the JSON stays flat and readable.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::files::{FileAccess, SharedFile};
use crate::ids::{ParticipantId, RoomId, TrackId};
use crate::model::*;
use crate::moderation::{LobbyEntry, MeetingSettings, ModerationAction};
use crate::quality::QualityLevel;
use crate::recording::{RecordPower, RecordingStatus, RecordingStopReason};

/// The protocol version this crate speaks. A client sends it in `join`; the server refuses versions it
/// does not speak with `unsupported_version`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Messages a client sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Enter a room. Must be the first message on a connection.
    Join {
        room: String,
        display_name: String,
        /// Protocol version the client speaks; absent means 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        access_token: Option<String>,
        /// The room's password, for a room that has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        /// From an earlier `joined`: resumes that participant if presented within the resume window.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_token: Option<String>,
        /// Initial microphone / camera state, so others never see a flash of the wrong state.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mic_muted: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        camera_muted: Option<bool>,
    },
    /// Leave the room on purpose (closing the socket without it is a disconnect, which can be resumed).
    Leave,
    /// Send a chat message to everyone in the room.
    ChatSend {
        text: String,
        /// Kept with the message: in the `chat` sent to everyone and in later joiners' history (so the
        /// sender can match its pending message).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<String>,
    },
    /// Raise or lower one's hand.
    SetHand {
        raised: bool,
    },
    /// Announce one's own microphone / camera state. Absent fields are unchanged.
    SetMuted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mic: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        camera: Option<bool>,
    },
    /// Application-level keepalive; answered with `pong` carrying the same `ts`.
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ts: Option<f64>,
    },
    /// SDP offer from the client (publishing, or an ICE restart). `tracks` says what each sending m-line carries.
    SdpOffer {
        sdp: String,
        #[serde(default)]
        tracks: Vec<TrackSource>,
    },
    /// The client's answer to a server `sdp_offer`.
    SdpAnswer {
        sdp: String,
    },
    /// A trickled ICE candidate (`candidate:` line as in RTCIceCandidate.candidate); empty means end of
    /// candidates. Optional: the ICE-lite server learns the client's address from its checks.
    IceCandidate {
        candidate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
    },
    /// How large the client shows a remote video; `null` width/height means hidden (nothing is sent).
    SetVideoConstraint {
        track: TrackId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        width: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        height: Option<u32>,
    },
    /// A brief reaction shown on the sender's tile; `emoji` is one of [`crate::REACTIONS`].
    SendReaction {
        emoji: String,
    },
    /// How the client rates its own connection; shown to everyone as its `connection_quality`.
    SetConnectionQuality {
        level: QualityLevel,
        loss_pct: f64,
        rtt_ms: u32,
    },
    // Host powers: each is refused with `forbidden` unless your role allows it (docs/protocol.md,
    // *Roles and permissions*).
    /// Stop forwarding one source of a participant; they cannot unmute it until allowed.
    MuteParticipant {
        participant_id: ParticipantId,
        source: Source,
    },
    /// Mute one source (microphone or camera) of everyone but hosts and co-hosts.
    MuteAll {
        source: Source,
    },
    /// Let a host-muted participant unmute `source` again (they unmute themselves).
    AllowUnmute {
        participant_id: ParticipantId,
        source: Source,
    },
    /// Ask the hosts to let you unmute a host-muted source.
    AskToUnmute {
        source: Source,
    },
    /// Disconnect a participant; they cannot come back to this meeting.
    RemoveParticipant {
        participant_id: ParticipantId,
    },
    /// End the meeting for everyone (host only).
    EndMeeting,
    /// Make someone a co-host, participant or viewer (host only).
    SetRole {
        participant_id: ParticipantId,
        role: Role,
    },
    /// Hand the host role to someone else; you become a co-host (host only).
    TransferHost {
        participant_id: ParticipantId,
    },
    LowerHand {
        participant_id: ParticipantId,
    },
    /// Lock or unlock the meeting: a locked meeting admits nobody new.
    SetLocked {
        locked: bool,
    },
    /// Turn the lobby on or off for newcomers (turning it off admits nobody already waiting).
    SetLobby {
        enabled: bool,
    },
    /// Let someone waiting in the lobby in.
    Admit {
        participant_id: ParticipantId,
    },
    /// Turn someone waiting in the lobby away.
    Deny {
        participant_id: ParticipantId,
    },
    /// Let everyone waiting in the lobby in.
    AdmitAll,
    /// Delete a shared file for everyone (hosts and co-hosts).
    DeleteFile {
        file_id: String,
    },
    /// Start recording the meeting (hosts, co-hosts and holders of a `record` grant).
    StartRecording,
    /// Stop recording the meeting (the same people).
    StopRecording,
}

/// Messages the server sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Answer to `join`.
    Joined(Box<Joined>),
    ParticipantJoined {
        participant: ParticipantInfo,
    },
    ParticipantLeft {
        participant_id: ParticipantId,
        reason: LeaveReason,
    },
    /// A participant's state changed (mute, hand, screen share, tracks, role, name, connection quality).
    ParticipantUpdated {
        participant: ParticipantInfo,
    },
    /// A chat message, committed to the meeting record before it is sent.
    Chat {
        message: ChatMessage,
    },
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ts: Option<f64>,
        /// Server time, ms since the Unix epoch.
        server_time: i64,
    },
    /// A request failed; the connection stays usable unless the code says otherwise.
    Error {
        code: ErrorCode,
        message: String,
        /// The `type` of the message that failed, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<String>,
    },
    /// The server is ending this session (drain, removal, meeting ended); the socket closes next.
    Closing {
        reason: String,
    },
    /// The server's offer of receive m-lines; `tracks` says which remote track each mid carries.
    SdpOffer {
        sdp: String,
        #[serde(default)]
        tracks: Vec<OfferedTrack>,
    },
    SdpAnswer {
        sdp: String,
    },
    /// Reserved: the server puts all its candidates in its SDP and never sends this in version 1.
    IceCandidate {
        candidate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
    },
    /// A track was published; also sent to its publisher, which learns the id from it.
    TrackPublished {
        participant_id: ParticipantId,
        track: TrackInfo,
    },
    TrackUnpublished {
        participant_id: ParticipantId,
        track_id: TrackId,
    },
    /// The participant who is speaking now (changes with hysteresis).
    DominantSpeaker {
        #[serde(default)]
        participant_id: Option<ParticipantId>,
    },
    /// Audio levels of the loudest participants, 0 (silence) to 127 (loudest), a few times per second.
    AudioLevels {
        levels: Vec<AudioLevel>,
    },
    /// Your media session was reset (the server heard nothing from you for too long): close your
    /// peer connection and make a new first offer. Signaling state is unaffected.
    MediaReset {
        reason: String,
    },
    /// Simulcast layers of one of your tracks that nobody receives: you may stop encoding them.
    LayersUnused {
        track_id: TrackId,
        rids: Vec<String>,
    },
    /// Instead of `joined`: you wait in the lobby until a host or co-host admits you (`joined`
    /// follows) or turns you away (`error` `denied`, then `closing`).
    WaitingInLobby {
        participant_id: ParticipantId,
        /// Whether a host or co-host is in the meeting now (else you wait until one comes).
        host_present: bool,
    },
    /// To hosts and co-hosts: who waits in the lobby now, longest first.
    LobbyUpdated {
        waiting: Vec<LobbyEntry>,
    },
    /// To everyone: the meeting's lock or lobby changed.
    MeetingUpdated {
        settings: MeetingSettings,
    },
    /// To the participant a host or co-host acted on.
    Moderated {
        action: ModerationAction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<Source>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<Role>,
        /// The display name of who did it (absent for the REST API or the server).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by_name: Option<String>,
    },
    /// A file was shared: committed to the meeting record before it is sent, to everyone.
    FileShared {
        file: SharedFile,
    },
    /// A host or co-host deleted a shared file for everyone.
    FileDeleted {
        file_id: String,
    },
    /// To everyone: the meeting is being recorded from now on.
    RecordingStarted {
        recording: RecordingStatus,
    },
    /// To everyone: the recording stopped.
    RecordingStopped {
        reason: RecordingStopReason,
    },
    /// A participant reacted; sent to everyone in the room, the sender included. Not stored.
    Reaction {
        participant_id: ParticipantId,
        emoji: String,
        /// Server time, ms since the Unix epoch.
        ts: i64,
    },
}

/// The `joined` message body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Joined {
    pub protocol_version: u32,
    pub room: RoomId,
    pub participant_id: ParticipantId,
    pub role: Role,
    /// True when a resume token brought back an earlier participant.
    pub resumed: bool,
    /// Present a new token at the next reconnect; the old one is no longer valid.
    pub resume_token: String,
    /// How long after a dropped connection `resume_token` brings you back, while the server runs.
    pub resume_window_secs: u64,
    /// How long after a restart (or crash) of the server `resume_token` brings you back to the same
    /// meeting: keep retrying for this long.
    #[serde(default)]
    pub restart_window_secs: u64,
    /// True when the server still holds your media session (a resume on the same server process):
    /// keep your peer connection. False: make a new peer connection and a new first offer.
    #[serde(default)]
    pub media_kept: bool,
    /// Everyone in the room, you included.
    pub participants: Vec<ParticipantInfo>,
    pub ice_servers: Vec<IceServer>,
    /// The meeting's last messages (at most 100), oldest first.
    pub chat_history: Vec<ChatMessage>,
    pub server_time: i64,
    #[serde(default)]
    pub settings: MeetingSettings,
    /// Who waits in the lobby: filled for hosts and co-hosts only.
    #[serde(default)]
    pub waiting: Vec<LobbyEntry>,
    /// The sources your access token lets you publish (all four without a token). A viewer
    /// publishes nothing, whatever this says; an offer that sends another source is refused.
    #[serde(default)]
    pub publish_sources: Vec<Source>,
    /// The meeting's shared files (at most 100, the oldest first), as the chat history.
    #[serde(default)]
    pub files: Vec<SharedFile>,
    /// How to share and fetch files; absent when the server does not take files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_access: Option<FileAccess>,
    /// Present while the meeting is being recorded: a joiner learns it before any media flows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingStatus>,
    /// Whether you may start and stop recording this meeting.
    #[serde(default)]
    pub record_power: RecordPower,
}

impl ServerMessage {
    /// Every server message type (a test keeps it equal to `type_name`'s).
    pub const TYPES: &'static [&'static str] = &[
        "joined",
        "participant_joined",
        "participant_left",
        "participant_updated",
        "chat",
        "pong",
        "error",
        "closing",
        "sdp_offer",
        "sdp_answer",
        "ice_candidate",
        "track_published",
        "track_unpublished",
        "dominant_speaker",
        "audio_levels",
        "media_reset",
        "layers_unused",
        "reaction",
        "waiting_in_lobby",
        "lobby_updated",
        "meeting_updated",
        "moderated",
        "file_shared",
        "file_deleted",
        "recording_started",
        "recording_stopped",
    ];

    /// The wire name of the message type, for metrics and logs.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServerMessage::Joined(_) => "joined",
            ServerMessage::ParticipantJoined { .. } => "participant_joined",
            ServerMessage::ParticipantLeft { .. } => "participant_left",
            ServerMessage::ParticipantUpdated { .. } => "participant_updated",
            ServerMessage::Chat { .. } => "chat",
            ServerMessage::Pong { .. } => "pong",
            ServerMessage::Error { .. } => "error",
            ServerMessage::Closing { .. } => "closing",
            ServerMessage::SdpOffer { .. } => "sdp_offer",
            ServerMessage::SdpAnswer { .. } => "sdp_answer",
            ServerMessage::IceCandidate { .. } => "ice_candidate",
            ServerMessage::TrackPublished { .. } => "track_published",
            ServerMessage::TrackUnpublished { .. } => "track_unpublished",
            ServerMessage::DominantSpeaker { .. } => "dominant_speaker",
            ServerMessage::AudioLevels { .. } => "audio_levels",
            ServerMessage::MediaReset { .. } => "media_reset",
            ServerMessage::LayersUnused { .. } => "layers_unused",
            ServerMessage::Reaction { .. } => "reaction",
            ServerMessage::WaitingInLobby { .. } => "waiting_in_lobby",
            ServerMessage::LobbyUpdated { .. } => "lobby_updated",
            ServerMessage::MeetingUpdated { .. } => "meeting_updated",
            ServerMessage::Moderated { .. } => "moderated",
            ServerMessage::FileShared { .. } => "file_shared",
            ServerMessage::FileDeleted { .. } => "file_deleted",
            ServerMessage::RecordingStarted { .. } => "recording_started",
            ServerMessage::RecordingStopped { .. } => "recording_stopped",
        }
    }
}

impl ClientMessage {
    /// Every client message type, in protocol order.
    pub const TYPES: &'static [&'static str] = &[
        "join",
        "leave",
        "chat_send",
        "set_hand",
        "set_muted",
        "ping",
        "sdp_offer",
        "sdp_answer",
        "ice_candidate",
        "set_video_constraint",
        "send_reaction",
        "set_connection_quality",
        "mute_participant",
        "mute_all",
        "allow_unmute",
        "ask_to_unmute",
        "remove_participant",
        "end_meeting",
        "set_role",
        "transfer_host",
        "lower_hand",
        "set_locked",
        "set_lobby",
        "admit",
        "deny",
        "admit_all",
        "delete_file",
        "start_recording",
        "stop_recording",
    ];

    /// The wire name of the message type, for metrics and logs.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMessage::Join { .. } => "join",
            ClientMessage::Leave => "leave",
            ClientMessage::ChatSend { .. } => "chat_send",
            ClientMessage::SetHand { .. } => "set_hand",
            ClientMessage::SetMuted { .. } => "set_muted",
            ClientMessage::Ping { .. } => "ping",
            ClientMessage::SdpOffer { .. } => "sdp_offer",
            ClientMessage::SdpAnswer { .. } => "sdp_answer",
            ClientMessage::IceCandidate { .. } => "ice_candidate",
            ClientMessage::SetVideoConstraint { .. } => "set_video_constraint",
            ClientMessage::SendReaction { .. } => "send_reaction",
            ClientMessage::SetConnectionQuality { .. } => "set_connection_quality",
            ClientMessage::MuteParticipant { .. } => "mute_participant",
            ClientMessage::MuteAll { .. } => "mute_all",
            ClientMessage::AllowUnmute { .. } => "allow_unmute",
            ClientMessage::AskToUnmute { .. } => "ask_to_unmute",
            ClientMessage::RemoveParticipant { .. } => "remove_participant",
            ClientMessage::EndMeeting => "end_meeting",
            ClientMessage::SetRole { .. } => "set_role",
            ClientMessage::TransferHost { .. } => "transfer_host",
            ClientMessage::LowerHand { .. } => "lower_hand",
            ClientMessage::SetLocked { .. } => "set_locked",
            ClientMessage::SetLobby { .. } => "set_lobby",
            ClientMessage::Admit { .. } => "admit",
            ClientMessage::Deny { .. } => "deny",
            ClientMessage::AdmitAll => "admit_all",
            ClientMessage::DeleteFile { .. } => "delete_file",
            ClientMessage::StartRecording => "start_recording",
            ClientMessage::StopRecording => "stop_recording",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One message of every server type, with the least in it; `type_name`'s match is exhaustive,
    /// so a new type is added here when it is added there.
    fn one_of_each() -> Vec<ServerMessage> {
        let p = || ParticipantId("p_a".into());
        let t = || TrackId("t".into());
        let s = || String::new();
        vec![
            ServerMessage::ParticipantLeft {
                participant_id: p(),
                reason: LeaveReason::Left,
            },
            ServerMessage::Pong {
                ts: None,
                server_time: 0,
            },
            ServerMessage::Error {
                code: ErrorCode::NotFound,
                message: s(),
                request: None,
            },
            ServerMessage::Closing { reason: s() },
            ServerMessage::SdpOffer {
                sdp: s(),
                tracks: vec![],
            },
            ServerMessage::SdpAnswer { sdp: s() },
            ServerMessage::IceCandidate {
                candidate: s(),
                sdp_mid: None,
            },
            ServerMessage::TrackUnpublished {
                participant_id: p(),
                track_id: t(),
            },
            ServerMessage::DominantSpeaker {
                participant_id: None,
            },
            ServerMessage::AudioLevels { levels: vec![] },
            ServerMessage::MediaReset { reason: s() },
            ServerMessage::LayersUnused {
                track_id: t(),
                rids: vec![],
            },
            ServerMessage::Reaction {
                participant_id: p(),
                emoji: s(),
                ts: 0,
            },
            ServerMessage::WaitingInLobby {
                participant_id: p(),
                host_present: false,
            },
            ServerMessage::LobbyUpdated { waiting: vec![] },
            ServerMessage::MeetingUpdated {
                settings: MeetingSettings::default(),
            },
            ServerMessage::Moderated {
                action: ModerationAction::Muted,
                source: None,
                role: None,
                by_name: None,
            },
            ServerMessage::FileShared {
                file: SharedFile {
                    id: s(),
                    name: s(),
                    size: 0,
                    content_type: s(),
                    from: p(),
                    from_name: s(),
                    shared_at: 0,
                    preview: false,
                    width: None,
                    height: None,
                },
            },
            ServerMessage::FileDeleted { file_id: s() },
            ServerMessage::RecordingStarted {
                recording: RecordingStatus {
                    since: 0,
                    by_name: None,
                },
            },
            ServerMessage::RecordingStopped {
                reason: RecordingStopReason::Stopped,
            },
        ]
    }

    #[test]
    fn every_server_type_is_listed_once() {
        let mut listed: Vec<&str> = ServerMessage::TYPES.to_vec();
        listed.sort();
        listed.dedup();
        assert_eq!(
            listed.len(),
            ServerMessage::TYPES.len(),
            "a type listed twice"
        );
        for m in one_of_each() {
            assert!(
                ServerMessage::TYPES.contains(&m.type_name()),
                "{}",
                m.type_name()
            );
            let wire = serde_json::to_value(&m).unwrap();
            assert_eq!(
                wire["type"],
                m.type_name(),
                "the wire name is the listed one"
            );
        }
        // Those not built above carry large bodies; their names are checked by the wire tests of
        // the server. Each listed name still names a variant:
        for name in [
            "joined",
            "participant_joined",
            "participant_updated",
            "chat",
        ] {
            assert!(ServerMessage::TYPES.contains(&name));
        }
    }

    #[test]
    fn leave_reasons_are_the_documented_words() {
        let doc = include_str!("../../../docs/protocol.md");
        // From "Leave reasons:" to the end of its paragraph.
        let list = doc
            .split("Leave reasons:")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .expect("the leave reasons in docs/protocol.md");
        for r in [
            LeaveReason::Left,
            LeaveReason::Disconnected,
            LeaveReason::ServerShutdown,
            LeaveReason::Removed,
            LeaveReason::MeetingEnded,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            let listed = list.contains(&format!("`{}`", r.as_str()));
            assert!(listed, "{} is not documented", r.as_str());
        }
    }
}
