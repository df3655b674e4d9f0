//! Per-participant state: its str0m `Rtc`, what it publishes and what it receives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use convene_proto::{ParticipantId, RoomId, TrackId};
use str0m::change::SdpPendingOffer;
use str0m::media::{Mid, Pt, Rid};
use str0m::net::Protocol;
use str0m::Rtc;

use crate::ids::TrackKey;
use crate::rewrite::Rewriter;
use crate::simulcast::LayerState;
use crate::track::LocalTrack;
use crate::types::{TrackKind, TrackSource};

/// Where the SDP offer/answer exchange with this participant stands.
#[derive(Debug)]
pub(crate) enum SdpState {
    /// The client always offers first; until then the server does not offer.
    AwaitingFirstOffer,
    Stable,
    /// The server sent an offer and waits for the answer.
    ServerOffered(SdpPendingOffer),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnState {
    New,
    Connected,
    Disconnected,
}

/// Negotiation state of a receive m-line the server adds for someone else's track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutState {
    ToOpen,
    Negotiating(Mid),
    Open(Mid),
    ToStop(Mid),
    NegotiatingStop(Mid),
}

impl OutState {
    pub(crate) fn mid(self) -> Option<Mid> {
        match self {
            OutState::ToOpen => None,
            OutState::Negotiating(m)
            | OutState::Open(m)
            | OutState::ToStop(m)
            | OutState::NegotiatingStop(m) => Some(m),
        }
    }
}

/// The size a subscriber shows a video at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visibility {
    /// No constraint given yet: treat as visible at any size.
    Unconstrained,
    Visible(u32, u32),
    Hidden,
}

#[derive(Debug)]
pub(crate) struct OutTrack {
    pub publisher_id: ParticipantId,
    pub track: TrackId,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub state: OutState,
    pub visibility: Visibility,
    pub layer: LayerState,
    /// Sequence numbers, RTP time and VP8 ids of this subscriber's stream.
    pub rewrite: Rewriter,
    /// The publisher's payload type and the subscriber's for the same codec (cached).
    pub pt: Option<(Pt, Pt)>,
}

#[derive(Debug)]
pub(crate) struct Participant {
    pub id: ParticipantId,
    pub room: RoomId,
    pub rtc: Rtc,
    pub ufrag: String,
    pub ice_pwd: String,
    pub sdp: SdpState,
    pub conn: ConnState,
    pub published: Vec<LocalTrack>,
    /// Receive m-lines keyed by the source track (publisher, publisher's mid).
    pub out: HashMap<TrackKey, OutTrack>,
    /// Sources declared by the client per mid (may arrive before the m-line is negotiated).
    pub declared_sources: HashMap<Mid, TrackSource>,
    pub muted: Vec<TrackSource>,
    /// Whether it receives the others' tracks (false: an access token without `subscribe`).
    pub receives: bool,
    pub bwe_bps: Option<u64>,
    /// Desired bitrate last given to str0m's BWE (to avoid re-setting it every tick).
    pub bwe_desired_bps: u64,
    /// The Rtc's next timeout as registered in the SFU's timeout index.
    pub timeout: Instant,
    /// Transport addresses this participant authenticated from (bounded).
    pub addrs: Vec<(Protocol, SocketAddr)>,
    /// Last cumulative (nacks, plis+firs) per (mid, rid, egress?) from str0m stats.
    pub rtcp_counters: HashMap<(Mid, Option<Rid>, bool), (u64, u64)>,
    /// Since when ICE has been disconnected; past the grace period the session is reset.
    pub disconnected_since: Option<Instant>,
    /// The DTLS fingerprint of the client's peer connection; a different one is a new connection.
    pub remote_fingerprint: Option<String>,
}

impl Participant {
    pub(crate) fn published_mut(&mut self, mid: Mid) -> Option<&mut LocalTrack> {
        self.published.iter_mut().find(|t| t.mid == mid)
    }

    pub(crate) fn out_by_mid(&self, mid: Mid) -> Option<TrackKey> {
        self.out
            .iter()
            .find(|(_, o)| o.state.mid() == Some(mid))
            .map(|(k, _)| *k)
    }
}
