//! What a session's signaling task (`shared.rs`) asks of its shard, and how it names its session.

use convene_proto::{OfferedTrack, TrackId};
use str0m::config::DtlsCert;
use str0m::Candidate;
use tokio::sync::{mpsc, oneshot};

use convene_client::{MediaError, MediaEvent, MediaStats, NetCounters};

/// Which session of a shard: its slot, and the slot's generation (slots are reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub(super) slot: usize,
    pub(super) gen: u32,
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, MediaError>>;

/// What a session's signaling task asks of its shard.
pub(crate) enum ShardCmd {
    /// A new session; replies with its key and first offer (an inactive audio m-line only).
    Open {
        events: mpsc::Sender<MediaEvent>,
        cert: Option<DtlsCert>,
        ended: oneshot::Sender<String>,
        reply: Reply<(Key, String)>,
    },
    /// The server's answer; replies with a new offer if one is due (an ICE restart asked for
    /// while the answered offer was pending).
    Answer {
        key: Key,
        sdp: String,
        reply: Reply<Option<String>>,
    },
    /// The server's offer; replies with our answer, or None if ignored (our offer is pending).
    Offer {
        key: Key,
        sdp: String,
        tracks: Vec<OfferedTrack>,
        reply: Reply<Option<String>>,
    },
    RestartIce {
        key: Key,
        reply: Reply<Option<String>>,
    },
    Candidate {
        key: Key,
        candidate: Candidate,
    },
    TrackEnded {
        key: Key,
        track: TrackId,
    },
    Note {
        key: Key,
        error: String,
    },
    /// The signaling task could not queue an event for the caller.
    EventDropped {
        key: Key,
    },
    Stats {
        key: Key,
        reply: oneshot::Sender<MediaStats>,
    },
    Counters {
        key: Key,
        reply: oneshot::Sender<NetCounters>,
    },
    Close {
        key: Key,
    },
}
