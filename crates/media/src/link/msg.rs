//! What one core tells another over a link.

use std::fmt;

use convene_proto::{ParticipantId, RoomId, TrackId};
use str0m::media::{Mid, Rid};

use crate::packet::InPacket;
use crate::simulcast::LayerId;
use crate::types::{TrackKind, TrackSource};

/// A message for another core, from `Sfu::poll_relay` to that core's `Sfu::handle_relay`.
/// Cloning a packet shares its payload.
#[derive(Clone)]
pub struct RelayMessage(pub(crate) Msg);

impl RelayMessage {
    /// A media packet (which may be dropped under overload, like a datagram) rather than
    /// control (which must arrive).
    pub fn is_media(&self) -> bool {
        matches!(self.0, Msg::Packet { .. })
    }

    /// Whether both are the same packet of the same publisher, as the core relays one packet to
    /// every link that wants it: a transport to another machine can carry it across once for
    /// all the cores there (and hand each a clone).
    pub fn same_packet(&self, other: &RelayMessage) -> bool {
        match (&self.0, &other.0) {
            (
                Msg::Packet {
                    publisher: a,
                    packet: p,
                },
                Msg::Packet {
                    publisher: b,
                    packet: q,
                },
            ) => {
                a == b
                    && p.mid == q.mid
                    && p.seq == q.seq
                    && std::sync::Arc::ptr_eq(&p.payload, &q.payload)
            }
            _ => false,
        }
    }
}

impl fmt::Debug for RelayMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.0 {
            Msg::Publish { .. } => "publish",
            Msg::Unpublish { .. } => "unpublish",
            Msg::Left { .. } => "left",
            Msg::Packet { .. } => "packet",
            Msg::Layers { .. } => "layers",
            Msg::Demand { .. } => "demand",
            Msg::KeyframeRequest { .. } => "keyframe_request",
        };
        write!(f, "RelayMessage({kind})")
    }
}

/// `publisher` is the publisher's slot on its own core: in `Publish` .. `Frame` the sender's, in
/// `Demand` and `KeyframeRequest` (which go back to the publisher's core) the receiver's.
#[derive(Clone)]
pub(crate) enum Msg {
    Publish {
        room: RoomId,
        publisher: u32,
        id: ParticipantId,
        track: TrackId,
        mid: Mid,
        kind: TrackKind,
        source: TrackSource,
        rids: Vec<Rid>,
    },
    Unpublish {
        publisher: u32,
        mid: Mid,
    },
    Left {
        publisher: u32,
    },
    Packet {
        publisher: u32,
        packet: Box<InPacket>,
    },
    /// The publisher's core's view of a video track's layers, each tick: the other cores choose
    /// layers from it, since they see only the frames of layers they asked for.
    Layers {
        publisher: u32,
        mid: Mid,
        layers: Vec<LayerInfo>,
    },
    Demand {
        publisher: u32,
        mid: Mid,
        layers: Vec<LayerId>,
    },
    KeyframeRequest {
        publisher: u32,
        mid: Mid,
        layer: LayerId,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct LayerInfo {
    pub rid: LayerId,
    pub bitrate_bps: u64,
    pub peak_bps: u64,
    pub size: Option<(u32, u32)>,
    /// Flowing, or stopped only because nobody wanted it (so it may be asked for).
    pub available: bool,
}
