//! One participant's session: its str0m `Rtc`, what it publishes and what it receives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use convene_proto::{ParticipantId, RoomId, TrackId};
use str0m::bwe::Bitrate;
use str0m::change::SdpPendingOffer;
use str0m::format::{Codec, FormatParams};
use str0m::media::Frequency;
use str0m::media::{Mid, Pt, Rid};
use str0m::net::Protocol;
use str0m::{Candidate, IceCreds, Rtc};

use crate::config::SfuConfig;
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

/// Payload type browsers use for Opus.
const OPUS_PT: u8 = 111;

impl Participant {
    /// A fresh session, awaiting the client's first offer.
    pub(crate) fn new(
        id: ParticipantId,
        room: RoomId,
        config: &SfuConfig,
        dtls_cert: &str0m::config::DtlsCert,
        candidates: &[Candidate],
        now: Instant,
    ) -> Self {
        let creds = IceCreds::new();
        let mut cfg = Rtc::builder()
            .set_ice_lite(true)
            .set_local_ice_credentials(creds.clone())
            .set_dtls_cert(dtls_cert.clone())
            // Forward RTP packets as they come, not frames (see sfu/forward.rs).
            .set_rtp_mode(true)
            .clear_codecs();
        // Opus with in-band FEC and DTX; str0m's default Opus config has FEC but not DTX.
        cfg.codec_config().add_config(
            Pt::from(OPUS_PT),
            None,
            Codec::Opus,
            Frequency::FORTY_EIGHT_KHZ,
            Some(2),
            FormatParams {
                min_p_time: Some(10),
                use_inband_fec: Some(true),
                use_dtx: Some(true),
                ..Default::default()
            },
        );
        let mut rtc = cfg
            .enable_vp8(true)
            .enable_h264(true)
            .enable_vp9(true)
            .enable_av1(true)
            .enable_bwe(Some(Bitrate::bps(config.initial_bitrate_bps)))
            .set_stats_interval(Some(config.rtc_stats_interval))
            .build(now);
        for c in candidates {
            rtc.add_local_candidate(c.clone());
        }
        Participant {
            id,
            room,
            rtc,
            ufrag: creds.ufrag,
            ice_pwd: creds.pass,
            sdp: SdpState::AwaitingFirstOffer,
            conn: ConnState::New,
            published: Vec::new(),
            out: HashMap::new(),
            declared_sources: HashMap::new(),
            muted: Vec::new(),
            receives: true,
            bwe_bps: None,
            bwe_desired_bps: 0,
            timeout: now,
            addrs: Vec::new(),
            rtcp_counters: HashMap::new(),
            disconnected_since: None,
            remote_fingerprint: None,
        }
    }

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
