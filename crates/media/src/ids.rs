//! The core's names for things: participants, other cores' publishers, links, tracks and their
//! subscribers. Plain values, so that every part can use them without depending on another.

use str0m::media::Mid;

/// Index of a participant in the SFU's slab; cheaper than hashing the string id per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PeerIdx(pub u32);

/// Index of another core's publisher in this core's slab of them (not its slot on its own core).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RemoteIdx(pub u32);

/// Index of a recording sink in the core's slab of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SinkIdx(pub u32);

/// Another core hosting participants of a room. The server chooses the numbers (its worker index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u32);

/// Where a published track comes from: a participant of this core, or one of another core whose
/// packets arrive over a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TrackOrigin {
    Local(PeerIdx),
    Remote(RemoteIdx),
}

/// A published track: its origin and the publisher's mid.
pub(crate) type TrackKey = (TrackOrigin, Mid);

/// Who receives a track: a participant of this core (through a receive m-line of its own),
/// another core (which forwards it to its participants), or a recording sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subscriber {
    Peer(PeerIdx),
    Link(LinkId),
    Sink(SinkIdx),
}
