//! A published track as this core knows it: what every track has (`Track`), and what only a
//! track of this core's participant (`LocalTrack`) or of another core's (`RemoteTrack`) needs.

use std::ops::{Deref, DerefMut};
use std::time::Instant;

use convene_proto::TrackId;
use str0m::format::PayloadParams;
use str0m::media::{Mid, Rid};

use crate::ids::{LinkId, PeerIdx, SinkIdx, Subscriber};
use crate::keyframe_cache::KeyframeCache;
use crate::packet::InPacket;
use crate::simulcast::LayerId;
use crate::types::{TrackKind, TrackSource};

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
    /// When its first frame came: until the startup grace (`sfu/alloc.rs`) after it, the publisher
    /// is not told the layer is unused.
    pub first_frame: Option<Instant>,
    pub last_keyframe_request: Option<Instant>,
    /// Its packets since its last keyframe, while recent (see `keyframe_cache.rs`).
    pub cache: KeyframeCache,
}

/// A layer not seen for this long is not offered to subscribers (publisher stopped it).
const LAYER_STALE_MS: u128 = 1500;

impl IngressLayer {
    /// Whether subscribers may be given it: it is flowing, or we asked the publisher to stop it
    /// (`unused_reported`, of a local track; a remote track's core reports those as available in
    /// its layer figures).
    pub(crate) fn available(&self, unused_reported: &[Rid], now: Instant) -> bool {
        self.last_frame
            .is_some_and(|f| now.saturating_duration_since(f).as_millis() < LAYER_STALE_MS)
            || self.rid.is_some_and(|r| unused_reported.contains(&r))
    }

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

/// One subscriber of a track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subscription {
    /// A participant here; the layer it wants is in its receive m-line's layer state.
    Peer(PeerIdx),
    /// Another core, with the layers it asked for (its `Demand`): only those are relayed to it.
    Link(LinkId, Vec<LayerId>),
    /// A recording sink (of a local track only: each core records its own participants).
    Sink(SinkIdx),
}

impl Subscription {
    pub(crate) fn subscriber(&self) -> Subscriber {
        match self {
            Subscription::Peer(p) => Subscriber::Peer(*p),
            Subscription::Link(l, _) => Subscriber::Link(*l),
            Subscription::Sink(s) => Subscriber::Sink(*s),
        }
    }
}

/// What every published track has, local or remote.
#[derive(Debug)]
pub(crate) struct Track {
    pub id: TrackId,
    pub mid: Mid,
    pub kind: TrackKind,
    pub source: TrackSource,
    /// Layers in offer order; lowest-first ordering is derived from measured bitrates.
    pub layers: Vec<IngressLayer>,
    /// Who receives it. Only a local track has link subscribers (a core relays only its own
    /// participants' packets).
    pub subscribers: Vec<Subscription>,
}

impl Track {
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
        Track {
            id,
            mid,
            kind,
            source,
            layers,
            subscribers: Vec::new(),
        }
    }

    pub(crate) fn layer_mut(&mut self, rid: LayerId) -> Option<&mut IngressLayer> {
        self.layers.iter_mut().find(|l| l.rid == rid)
    }

    /// The participants here that receive it.
    pub(crate) fn peer_subscribers(&self) -> impl Iterator<Item = PeerIdx> + '_ {
        self.subscribers.iter().filter_map(|s| match s {
            Subscription::Peer(p) => Some(*p),
            Subscription::Link(..) | Subscription::Sink(_) => None,
        })
    }

    /// Its recording sink, if it is being recorded.
    pub(crate) fn sink(&self) -> Option<SinkIdx> {
        self.subscribers.iter().find_map(|s| match s {
            Subscription::Sink(i) => Some(*i),
            Subscription::Peer(_) | Subscription::Link(..) => None,
        })
    }

    pub(crate) fn add_sink(&mut self, sink: SinkIdx) {
        self.subscribers.push(Subscription::Sink(sink));
    }

    pub(crate) fn add_peer(&mut self, sub: PeerIdx) {
        if !self.subscribers.contains(&Subscription::Peer(sub)) {
            self.subscribers.push(Subscription::Peer(sub));
        }
    }

    pub(crate) fn remove(&mut self, who: Subscriber) {
        self.subscribers.retain(|s| s.subscriber() != who);
    }

    /// `link` now wants these layers (none: it unsubscribes).
    pub(crate) fn set_link_layers(&mut self, link: LinkId, layers: Vec<LayerId>) {
        self.remove(Subscriber::Link(link));
        if !layers.is_empty() {
            self.subscribers.push(Subscription::Link(link, layers));
        }
    }

    /// The layers the other cores asked for.
    pub(crate) fn link_layers(&self) -> impl Iterator<Item = LayerId> + '_ {
        self.subscribers
            .iter()
            .flat_map(|s| match s {
                Subscription::Link(_, layers) => layers.as_slice(),
                Subscription::Peer(_) | Subscription::Sink(_) => &[],
            })
            .copied()
    }
}

/// A track of a participant of this core.
#[derive(Debug)]
pub(crate) struct LocalTrack {
    pub track: Track,
    /// Last `LayersUnused` we reported, to report only changes.
    pub unused_reported: Vec<Rid>,
    /// The codec of the last payload type seen (looked up again when the PT changes).
    pub params: Option<PayloadParams>,
}

impl LocalTrack {
    pub(crate) fn new(track: Track) -> Self {
        LocalTrack {
            track,
            unused_reported: Vec::new(),
            params: None,
        }
    }

    /// Ingress bookkeeping for one packet of this track (bitrate, liveness, resolution). A
    /// remote track's figures come from its own core instead.
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
}

/// A track of another core's participant.
#[derive(Debug)]
pub(crate) struct RemoteTrack {
    pub track: Track,
    /// The layers last asked of its core (`None` before the first ask).
    pub demand_sent: Option<Vec<LayerId>>,
}

impl RemoteTrack {
    pub(crate) fn new(track: Track) -> Self {
        RemoteTrack {
            track,
            demand_sent: None,
        }
    }
}

// A local or remote track is a track with a few more fields: reading through to the common part
// keeps `t.mid` and `t.layers` as short as they were.
impl Deref for LocalTrack {
    type Target = Track;
    fn deref(&self) -> &Track {
        &self.track
    }
}

impl DerefMut for LocalTrack {
    fn deref_mut(&mut self) -> &mut Track {
        &mut self.track
    }
}

impl Deref for RemoteTrack {
    type Target = Track;
    fn deref(&self) -> &Track {
        &self.track
    }
}

impl DerefMut for RemoteTrack {
    fn deref_mut(&mut self) -> &mut Track {
        &mut self.track
    }
}
