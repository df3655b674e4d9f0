//! Per-participant state: its str0m `Rtc`, what it publishes and what it receives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use convene_proto::{ParticipantId, RoomId, TrackId};
use str0m::change::SdpPendingOffer;
use str0m::format::PayloadParams;
use str0m::media::{Mid, Pt, Rid};
use str0m::net::Protocol;
use str0m::Rtc;

use crate::keyframe_cache::KeyframeCache;
use crate::packet::InPacket;
use crate::rewrite::Rewriter;
use crate::simulcast::{LayerId, LayerState};
use crate::types::{TrackKind, TrackSource};

/// Index of a participant in the SFU's slab; cheaper than hashing the string id per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PeerIdx(pub u32);

/// Whose track a subscriber receives: a participant of this core, or one of another core whose
/// frames arrive over a link (see `relay.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum PubRef {
    Local(PeerIdx),
    Remote(u32),
}

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

/// A simulcast layer (or the single stream) of a published video, as measured on ingress.
#[derive(Debug, Clone)]
pub(crate) struct IngressLayer {
    pub rid: LayerId,
    /// Bytes received since the last tick.
    pub bytes: u64,
    /// Smoothed bitrate, bits/s (0 until measured).
    pub bitrate_bps: u64,
    /// Highest smoothed bitrate seen: it orders the layers. The current bitrate cannot, because a
    /// layer the publisher paused keeps an old figure and one it resumes ramps up from low, which
    /// would swap the order back and forth and make the choice of layer flap.
    pub peak_bps: u64,
    pub size: Option<(u32, u32)>,
    pub last_frame: Option<Instant>,
    /// When its first frame came: until [`crate::alloc::STARTUP_GRACE`] after it, the publisher
    /// is not told the layer is unused.
    pub first_frame: Option<Instant>,
    pub last_keyframe_request: Option<Instant>,
    /// Its packets since its last keyframe, while recent (see `keyframe_cache.rs`).
    pub cache: KeyframeCache,
}

impl IngressLayer {
    pub(crate) fn new(rid: LayerId) -> Self {
        IngressLayer {
            rid,
            bytes: 0,
            bitrate_bps: 0,
            peak_bps: 0,
            size: None,
            last_frame: None,
            first_frame: None,
            last_keyframe_request: None,
            cache: KeyframeCache::default(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct PublishedTrack {
    pub id: TrackId,
    pub mid: Mid,
    pub kind: TrackKind,
    pub source: TrackSource,
    /// Layers in offer order; lowest-first ordering is derived from measured bitrates.
    pub layers: Vec<IngressLayer>,
    pub subscribers: Vec<PeerIdx>,
    /// Last `LayersUnused` we reported, to report only changes.
    pub unused_reported: Vec<Rid>,
    /// The codec of the last payload type seen (looked up again when the PT changes).
    pub params: Option<PayloadParams>,
    /// For a local track: the layers each other core hosting the room wants relayed to it.
    pub link_demand: Vec<(crate::relay::LinkId, Vec<LayerId>)>,
    /// For a remote track: the layers last asked of its core (`None` before the first ask).
    pub demand_sent: Option<Vec<LayerId>>,
}

impl PublishedTrack {
    pub(crate) fn new(
        id: TrackId,
        mid: Mid,
        kind: TrackKind,
        source: TrackSource,
        rids: &[Rid],
    ) -> Self {
        let layers = if rids.is_empty() {
            vec![IngressLayer::new(None)]
        } else {
            rids.iter().map(|r| IngressLayer::new(Some(*r))).collect()
        };
        PublishedTrack {
            id,
            mid,
            kind,
            source,
            layers,
            subscribers: Vec::new(),
            unused_reported: Vec::new(),
            params: None,
            link_demand: Vec::new(),
            demand_sent: None,
        }
    }

    /// Ingress bookkeeping for one packet of this track (bitrate, liveness, resolution).
    pub(crate) fn on_packet(&mut self, p: &InPacket, size: Option<(u32, u32)>, now: Instant) {
        if self.kind != TrackKind::Video {
            return;
        }
        if self.layer_mut(p.rid).is_none() {
            // A rid the offer did not list (str0m only lets declared rids through, but be
            // robust): treat it as one more layer.
            self.layers.push(IngressLayer::new(p.rid));
        }
        if let Some(layer) = self.layer_mut(p.rid) {
            layer.bytes += p.payload.len() as u64;
            layer.last_frame = Some(now);
            layer.first_frame.get_or_insert(now);
            if size.is_some() {
                layer.size = size;
            }
        }
    }

    pub(crate) fn layer_mut(&mut self, rid: LayerId) -> Option<&mut IngressLayer> {
        self.layers.iter_mut().find(|l| l.rid == rid)
    }
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
    pub published: Vec<PublishedTrack>,
    /// Receive m-lines keyed by the source track (publisher, publisher's mid).
    pub out: HashMap<(PubRef, Mid), OutTrack>,
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
    pub(crate) fn published_mut(&mut self, mid: Mid) -> Option<&mut PublishedTrack> {
        self.published.iter_mut().find(|t| t.mid == mid)
    }

    pub(crate) fn out_by_mid(&self, mid: Mid) -> Option<(PubRef, Mid)> {
        self.out
            .iter()
            .find(|(_, o)| o.state.mid() == Some(mid))
            .map(|(k, _)| *k)
    }
}
