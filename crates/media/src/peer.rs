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

/// The participant's str0m peer connection. It is made at the client's first offer, not at join:
/// until then a joined participant costs its seat and not a media session (a `Rtc` with its
/// DTLS state, bandwidth estimator and codec table is ~28 KiB; docs/benchmarks.md, idle
/// connections). Boxed, so that a waiting participant's slot stays small too.
#[derive(Debug)]
pub(crate) enum RtcSession {
    AwaitingOffer,
    Live(Box<Rtc>),
}

impl RtcSession {
    pub(crate) fn live(&mut self) -> Option<&mut Rtc> {
        match self {
            RtcSession::Live(rtc) => Some(rtc),
            RtcSession::AwaitingOffer => None,
        }
    }

    pub(crate) fn get(&self) -> Option<&Rtc> {
        match self {
            RtcSession::Live(rtc) => Some(rtc),
            RtcSession::AwaitingOffer => None,
        }
    }

    /// Alive: made and not disconnected.
    pub(crate) fn is_alive(&self) -> bool {
        self.get().is_some_and(Rtc::is_alive)
    }

    pub(crate) fn disconnect(&mut self) {
        if let Some(rtc) = self.live() {
            rtc.disconnect();
        }
    }
}

#[derive(Debug)]
pub(crate) struct Participant {
    pub id: ParticipantId,
    pub room: RoomId,
    pub rtc: RtcSession,
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
    /// A fresh session, awaiting the client's first offer (which makes its `Rtc`).
    pub(crate) fn new(id: ParticipantId, room: RoomId, now: Instant) -> Self {
        let creds = IceCreds::new();
        Participant {
            id,
            room,
            rtc: RtcSession::AwaitingOffer,
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

    /// The `Rtc`, made now if the first offer is what just arrived.
    pub(crate) fn make_rtc(
        &mut self,
        config: &SfuConfig,
        dtls_cert: &str0m::config::DtlsCert,
        candidates: &[Candidate],
        now: Instant,
    ) -> &mut Rtc {
        if let RtcSession::AwaitingOffer = self.rtc {
            let creds = IceCreds {
                ufrag: self.ufrag.clone(),
                pass: self.ice_pwd.clone(),
            };
            self.rtc = RtcSession::Live(Box::new(build_rtc(
                config, dtls_cert, candidates, creds, now,
            )));
        }
        match &mut self.rtc {
            RtcSession::Live(rtc) => rtc,
            // Made just above.
            RtcSession::AwaitingOffer => unreachable!("the Rtc was just made"),
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

/// An ICE-lite peer connection with our codecs, the participant's ICE credentials and the node's
/// candidates.
fn build_rtc(
    config: &SfuConfig,
    dtls_cert: &str0m::config::DtlsCert,
    candidates: &[Candidate],
    creds: IceCreds,
    now: Instant,
) -> Rtc {
    let mut cfg = Rtc::builder()
        .set_ice_lite(true)
        .set_local_ice_credentials(creds)
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
    rtc
}
