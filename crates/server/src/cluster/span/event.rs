//! The media core's events as plain data, for the link between nodes (wire.rs): a helper's
//! events about the sessions it holds reach the owner's rooms as if its own workers had made them.

use convene_media::{Event, OfferedTrack};
use convene_proto::{MediaKind, ParticipantId, RoomId, Source, TrackId};
use serde::{Deserialize, Serialize};

use crate::media::{kind_from_proto, kind_to_proto, source_from_proto, source_to_proto};

/// The media core's events, as plain data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum WireEvent {
    SendOffer {
        participant: ParticipantId,
        sdp: String,
        tracks: Vec<WireOffered>,
    },
    Connected {
        participant: ParticipantId,
    },
    Disconnected {
        participant: ParticipantId,
    },
    SessionReset {
        participant: ParticipantId,
    },
    TrackPublished {
        participant: ParticipantId,
        track: TrackId,
        mid: String,
        kind: MediaKind,
        source: Source,
        layers: Vec<String>,
    },
    TrackUnpublished {
        participant: ParticipantId,
        track: TrackId,
    },
    LayersUnused {
        participant: ParticipantId,
        track: TrackId,
        rids: Vec<String>,
    },
    DominantSpeaker {
        room: RoomId,
        participant: ParticipantId,
    },
    AudioLevels {
        room: RoomId,
        levels: Vec<(ParticipantId, u8)>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireOffered {
    pub mid: String,
    pub publisher: ParticipantId,
    pub track: TrackId,
    pub kind: MediaKind,
    pub source: Source,
}

impl From<Event> for WireEvent {
    fn from(e: Event) -> Self {
        match e {
            Event::SendOffer {
                participant,
                sdp,
                tracks,
            } => WireEvent::SendOffer {
                participant,
                sdp,
                tracks: tracks
                    .into_iter()
                    .map(|t| WireOffered {
                        mid: t.mid,
                        publisher: t.publisher,
                        track: t.track,
                        kind: kind_to_proto(t.kind),
                        source: source_to_proto(t.source),
                    })
                    .collect(),
            },
            Event::Connected { participant } => WireEvent::Connected { participant },
            Event::Disconnected { participant } => WireEvent::Disconnected { participant },
            Event::SessionReset { participant } => WireEvent::SessionReset { participant },
            Event::TrackPublished {
                participant,
                track,
                mid,
                kind,
                source,
                layers,
            } => WireEvent::TrackPublished {
                participant,
                track,
                mid,
                kind: kind_to_proto(kind),
                source: source_to_proto(source),
                layers,
            },
            Event::TrackUnpublished { participant, track } => {
                WireEvent::TrackUnpublished { participant, track }
            }
            Event::LayersUnused {
                participant,
                track,
                rids,
            } => WireEvent::LayersUnused {
                participant,
                track,
                rids,
            },
            Event::DominantSpeaker { room, participant } => {
                WireEvent::DominantSpeaker { room, participant }
            }
            Event::AudioLevels { room, levels } => WireEvent::AudioLevels { room, levels },
        }
    }
}

impl From<WireEvent> for Event {
    fn from(e: WireEvent) -> Self {
        match e {
            WireEvent::SendOffer {
                participant,
                sdp,
                tracks,
            } => Event::SendOffer {
                participant,
                sdp,
                tracks: tracks
                    .into_iter()
                    .map(|t| OfferedTrack {
                        mid: t.mid,
                        publisher: t.publisher,
                        track: t.track,
                        kind: kind_from_proto(t.kind),
                        source: source_from_proto(t.source),
                    })
                    .collect(),
            },
            WireEvent::Connected { participant } => Event::Connected { participant },
            WireEvent::Disconnected { participant } => Event::Disconnected { participant },
            WireEvent::SessionReset { participant } => Event::SessionReset { participant },
            WireEvent::TrackPublished {
                participant,
                track,
                mid,
                kind,
                source,
                layers,
            } => Event::TrackPublished {
                participant,
                track,
                mid,
                kind: kind_from_proto(kind),
                source: source_from_proto(source),
                layers,
            },
            WireEvent::TrackUnpublished { participant, track } => {
                Event::TrackUnpublished { participant, track }
            }
            WireEvent::LayersUnused {
                participant,
                track,
                rids,
            } => Event::LayersUnused {
                participant,
                track,
                rids,
            },
            WireEvent::DominantSpeaker { room, participant } => {
                Event::DominantSpeaker { room, participant }
            }
            WireEvent::AudioLevels { room, levels } => Event::AudioLevels { room, levels },
        }
    }
}
