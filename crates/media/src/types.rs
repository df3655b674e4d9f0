//! Public value types exchanged with the server crate.

use convene_proto::{ParticipantId, RoomId, TrackId};

use crate::ids::LinkId;
use crate::link::RelayMessage;
use crate::sink::output::Recorded;

/// Audio or video. Mirrors str0m's `MediaKind` but is ours so the public API does not leak it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    Audio,
    Video,
}

/// What a published track carries, as declared by the client per m-line (mid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackSource {
    Microphone,
    Camera,
    Screen,
    ScreenAudio,
}

impl TrackSource {
    /// The source assumed for an m-line the client did not describe.
    pub fn default_for(kind: TrackKind) -> Self {
        match kind {
            TrackKind::Audio => TrackSource::Microphone,
            TrackKind::Video => TrackSource::Camera,
        }
    }

    pub fn kind(self) -> TrackKind {
        match self {
            TrackSource::Microphone | TrackSource::ScreenAudio => TrackKind::Audio,
            TrackSource::Camera | TrackSource::Screen => TrackKind::Video,
        }
    }
}

/// A receive m-line the server put in an offer to a subscriber: which remote track it carries.
/// The same mapping is in the SDP (`a=msid:<publisher> <track>`); this saves the client parsing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedTrack {
    pub mid: String,
    pub publisher: ParticipantId,
    pub track: TrackId,
    pub kind: TrackKind,
    pub source: TrackSource,
}

/// Something the server must act on or relay. Drained with [`crate::Sfu::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Send this SDP offer to the participant; its answer goes to [`crate::Sfu::handle_answer`].
    /// Poll events only after sending the answer returned by `handle_offer` (a re-offer may follow it).
    SendOffer {
        participant: ParticipantId,
        sdp: String,
        tracks: Vec<OfferedTrack>,
    },
    /// ICE and DTLS are up: media can flow.
    Connected { participant: ParticipantId },
    /// ICE timed out (or the peer closed). The session is kept through the disconnect grace.
    Disconnected { participant: ParticipantId },
    /// The participant stayed silent past the grace period: its tracks ended and its media session
    /// was replaced by a fresh one. Its client must drop its peer connection and offer anew.
    SessionReset { participant: ParticipantId },
    TrackPublished {
        participant: ParticipantId,
        track: TrackId,
        mid: String,
        kind: TrackKind,
        source: TrackSource,
        /// Simulcast rids as offered (empty when the track is not simulcast).
        layers: Vec<String>,
    },
    TrackUnpublished {
        participant: ParticipantId,
        track: TrackId,
    },
    /// The publisher may stop encoding these simulcast layers: no subscriber wants them now.
    /// Emitted when the set changes; an empty list means every layer is wanted again.
    LayersUnused {
        participant: ParticipantId,
        track: TrackId,
        rids: Vec<String>,
    },
    /// The room's dominant speaker changed (with hysteresis).
    DominantSpeaker {
        room: RoomId,
        participant: ParticipantId,
    },
    /// Loudest few speaking participants, loudest first. Level is 0 (silence) ..= 127 (0 dBov),
    /// i.e. 127 minus the RFC 6464 `-dBov` value. An empty list follows the last non-empty one.
    AudioLevels {
        room: RoomId,
        levels: Vec<(ParticipantId, u8)>,
    },
}

/// What [`crate::Sfu::poll_output`] yields.
#[derive(Debug)]
pub enum Output {
    /// A datagram to send.
    Transmit(str0m::net::Transmit),
    /// A message for another core sharing a room (the server's worker `LinkId`).
    Relay(LinkId, RelayMessage),
    Event(Event),
    Recorded(Recorded),
}
