//! What the rooms tell the media plane (`MediaCmd`) and what it reports back (`MediaOut`), and
//! the mapping between the protocol's names and the media core's.

use std::net::SocketAddr;

use convene_media::{MediaError, TrackSource};
use convene_proto::{ParticipantId, RoomId, TrackId};
use tokio::sync::mpsc;

/// Commands to the media worker. Sent in order on one channel, so that e.g. a participant is always
/// added before its first offer is handled.
#[derive(Debug)]
pub enum MediaCmd {
    AddParticipant {
        room: RoomId,
        participant: ParticipantId,
    },
    RemoveParticipant {
        participant: ParticipantId,
    },
    /// The answer (or the failure) comes back as a [`MediaOut`], in order with the events that follow.
    Offer {
        participant: ParticipantId,
        sdp: String,
        sources: Vec<(String, TrackSource)>,
    },
    Answer {
        participant: ParticipantId,
        sdp: String,
    },
    Candidate {
        participant: ParticipantId,
        candidate: String,
    },
    VideoConstraint {
        participant: ParticipantId,
        track: TrackId,
        size: Option<(u32, u32)>,
    },
    ServerMute {
        participant: ParticipantId,
        source: TrackSource,
        muted: bool,
    },
    /// Whether the participant receives the others' tracks (an access token's `subscribe`).
    SetReceives {
        participant: ParticipantId,
        receives: bool,
    },
    TcpOpen {
        peer: SocketAddr,
        tx: mpsc::Sender<Vec<u8>>,
    },
    TcpInput {
        peer: SocketAddr,
        data: Vec<u8>,
    },
    /// A datagram another worker read from the shared socket that belongs to this worker.
    Datagram {
        src: SocketAddr,
        data: Vec<u8>,
    },
    TcpClosed {
        peer: SocketAddr,
    },
    /// Record `room` (every track its participants on this worker publish) or stop.
    SetRecording {
        room: RoomId,
        on: bool,
    },
    /// The core `link` names (another worker, or a worker of another node: `remote.rs`) holds
    /// participants of `room` too: relay media between the two.
    AddLink {
        room: RoomId,
        link: convene_media::LinkId,
    },
    RemoveLink {
        room: RoomId,
        link: convene_media::LinkId,
    },
    /// A message from the core `from` names to this worker's core (a room spanning both).
    Relay {
        from: convene_media::LinkId,
        msg: convene_media::RelayMessage,
    },
    /// The server is stopping: the worker ends its loop and its thread.
    Stop,
}

/// What the worker reports back, routed to rooms by [`router::route`].
#[derive(Debug)]
pub enum MediaOut {
    Event(convene_media::Event),
    Answer {
        participant: ParticipantId,
        sdp: String,
    },
    /// A participant's request was refused; `crate::error::media_failure` says what the client is
    /// told, in the protocol's words rather than the library's.
    Failed {
        participant: ParticipantId,
        request: &'static str,
        error: MediaError,
    },
    /// A request refused by another node's plane holding the participant's session, in the words
    /// the client is told (`cluster/span`).
    Refused {
        participant: ParticipantId,
        request: &'static str,
        code: convene_proto::ErrorCode,
        message: String,
    },
    /// The node holding the participant's media session was lost; the session was placed
    /// again: its client must make a new first offer (`cluster/span`).
    Moved {
        participant: ParticipantId,
    },
}

/// The link id of this node's worker `worker`.
pub fn worker_link(worker: usize) -> convene_media::LinkId {
    convene_media::LinkId(worker as u32)
}

/// The participant a command is about, if any.
pub(crate) fn participant_of(cmd: &MediaCmd) -> Option<&ParticipantId> {
    match cmd {
        MediaCmd::AddParticipant { participant, .. }
        | MediaCmd::RemoveParticipant { participant }
        | MediaCmd::Offer { participant, .. }
        | MediaCmd::Answer { participant, .. }
        | MediaCmd::Candidate { participant, .. }
        | MediaCmd::VideoConstraint { participant, .. }
        | MediaCmd::ServerMute { participant, .. }
        | MediaCmd::SetReceives { participant, .. } => Some(participant),
        _ => None,
    }
}

/// Maps the protocol's source names to the core's.
pub fn source_from_proto(s: convene_proto::Source) -> TrackSource {
    match s {
        convene_proto::Source::Microphone => TrackSource::Microphone,
        convene_proto::Source::Camera => TrackSource::Camera,
        convene_proto::Source::Screen => TrackSource::Screen,
        convene_proto::Source::ScreenAudio => TrackSource::ScreenAudio,
    }
}

pub fn source_to_proto(s: TrackSource) -> convene_proto::Source {
    match s {
        TrackSource::Microphone => convene_proto::Source::Microphone,
        TrackSource::Camera => convene_proto::Source::Camera,
        TrackSource::Screen => convene_proto::Source::Screen,
        TrackSource::ScreenAudio => convene_proto::Source::ScreenAudio,
    }
}

pub fn kind_from_proto(k: convene_proto::MediaKind) -> convene_media::TrackKind {
    match k {
        convene_proto::MediaKind::Audio => convene_media::TrackKind::Audio,
        convene_proto::MediaKind::Video => convene_media::TrackKind::Video,
    }
}

pub fn kind_to_proto(k: convene_media::TrackKind) -> convene_proto::MediaKind {
    match k {
        convene_media::TrackKind::Audio => convene_proto::MediaKind::Audio,
        convene_media::TrackKind::Video => convene_proto::MediaKind::Video,
    }
}
