//! Media for the client: a str0m peer connection to the server's SFU, driven by a tokio task,
//! that publishes synthetic audio/video and records what it receives.
//!
//! [`MediaSession::start`] takes a joined [`Signaling`] connection; from then on the task owns it:
//! it makes the first offer, answers the server's offers, and hands every other server message
//! out as a [`MediaEvent::Signaling`]. [`MediaSession::stop`] gives the connection back.

mod driver;
mod link;
mod net;
mod packets;
pub mod parts;
mod publish;
mod receive;
mod session;
pub mod stamped;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use convene_proto::{ParticipantId, ServerMessage, TrackId};
use str0m::config::DtlsCert;

use crate::signaling::ClientError;

pub use net::{NetCounters, Transport};
pub use parts::LeanStats;
pub use publish::{catch_up, PublishOptions, SendStats, Synthesizer, MAX_LAG, RIDS};
pub use receive::TrackStats;
pub use session::{MediaSession, Outcome, Publishing, ReceiveOnly};

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("signaling: {0}")]
    Signaling(#[from] ClientError),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad local candidate: {0}")]
    Candidate(String),
    #[error("the server's answer has no passive ICE-TCP candidate")]
    NoTcpCandidate,
    #[error("WebRTC: {0}")]
    Rtc(#[from] str0m::RtcError),
    #[error("bad SDP from the server: {0}")]
    Sdp(String),
    #[error("the media session has ended")]
    Ended,
    #[error("could not make a DTLS certificate")]
    DtlsCertificate,
    /// The server reset this client's media session (it heard nothing for too long). The signaling
    /// connection is still good: a new `MediaSession` on it starts over.
    #[error("the server reset the media session: {0}")]
    ResetByServer(String),
    /// Whatever ran this session's peer (a tool's own runner, see [`parts`]) ended it.
    #[error("media failed: {0}")]
    Failed(String),
}

/// How to run a session.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// The IP to bind and announce as our host candidate.
    pub local_ip: IpAddr,
    pub transport: Transport,
    /// Published from the first offer; [`PublishOptions::none`] offers an inactive audio m-line only.
    pub publish: PublishOptions,
    /// Keep each track's last frame in [`TrackStats::last_payload`] (a copy per frame).
    pub keep_last_payload: bool,
    /// Stop encoding simulcast layers the server reports in `layers_unused`.
    pub honor_layers_unused: bool,
    /// Capacity of the event queue; events beyond it are dropped and counted.
    pub event_capacity: usize,
    /// Our DTLS certificate; None makes one for this session (an ECDSA key generation each).
    /// A load generator shares one ([`new_dtls_cert`]) across all its sessions.
    pub dtls_cert: Option<DtlsCert>,
}

/// How to run a receive-only session in packet mode ([`MediaSession::receive_packets`]): str0m's
/// RTP mode, each packet checked as it arrives and frames completed by sequence number, without
/// a jitter buffer or a copy of the frame (cheaper, for load generation). It measures the same
/// things per frame as a [`MediaConfig`] session (loss and reordering by our header's sequence
/// number, delay, corruption, foreign frames). str0m's RTP mode has no frame writer, so such a
/// session has nothing to publish with, and its handle no [`MediaSession::publish`].
#[derive(Clone, Debug)]
pub struct PacketConfig {
    /// The IP to bind and announce as our host candidate.
    pub local_ip: IpAddr,
    pub transport: Transport,
    /// Keep each track's last frame in [`TrackStats::last_payload`] (a copy per frame).
    pub keep_last_payload: bool,
    /// Capacity of the event queue; events beyond it are dropped and counted.
    pub event_capacity: usize,
    /// As [`MediaConfig::dtls_cert`].
    pub dtls_cert: Option<DtlsCert>,
}

impl Default for PacketConfig {
    fn default() -> Self {
        let c = MediaConfig::default();
        PacketConfig {
            local_ip: c.local_ip,
            transport: c.transport,
            keep_last_payload: c.keep_last_payload,
            event_capacity: c.event_capacity,
            dtls_cert: None,
        }
    }
}

impl From<PacketConfig> for MediaConfig {
    /// The same session, publishing nothing (an inactive audio m-line only).
    fn from(c: PacketConfig) -> Self {
        MediaConfig {
            local_ip: c.local_ip,
            transport: c.transport,
            publish: PublishOptions::none(),
            keep_last_payload: c.keep_last_payload,
            honor_layers_unused: false,
            event_capacity: c.event_capacity,
            dtls_cert: c.dtls_cert,
        }
    }
}

/// A DTLS certificate to share between sessions ([`MediaConfig::dtls_cert`]).
pub fn new_dtls_cert() -> Result<DtlsCert, MediaError> {
    str0m::crypto::from_feature_flags()
        .dtls_provider
        .generate_certificate()
        .ok_or(MediaError::DtlsCertificate)
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            local_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            transport: Transport::Udp,
            publish: PublishOptions::default(),
            keep_last_payload: true,
            honor_layers_unused: true,
            event_capacity: 1024,
            dtls_cert: None,
        }
    }
}

/// What the session reports besides stats.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaEvent {
    /// A server message the session did not consume (everything but `sdp_offer`, `sdp_answer`
    /// and `ice_candidate`; `error`, `track_*` and `layers_unused` are passed on too).
    Signaling(ServerMessage),
    /// ICE and DTLS are up: media flows.
    Connected,
    /// ICE lost the server (it may come back, e.g. after [`MediaSession::restart_ice`]).
    Disconnected,
    /// A server offer was answered; [`MediaStats::tracks`] has the new mapping.
    TracksChanged,
    /// The task stopped, with the reason.
    Ended(String),
}

/// A snapshot of the session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaStats {
    pub connected: bool,
    /// str0m's ICE state, e.g. "Connected", "Disconnected".
    pub ice_state: String,
    pub transport: Transport,
    /// Our host candidate's address (ICE-TCP: the announced active address, port 9).
    pub local_addr: Option<SocketAddr>,
    /// The server address media goes to, once known.
    pub remote_addr: Option<SocketAddr>,
    pub offers_sent: u64,
    pub answers_received: u64,
    /// Server offers answered / ignored because our own offer was pending (glare).
    pub server_offers_answered: u64,
    pub server_offers_ignored: u64,
    pub ice_restarts: u64,
    pub net: NetCounters,
    pub sent: SendStats,
    /// Every remote track offered so far.
    pub tracks: Vec<TrackStats>,
    /// Frames (packet mode: RTP packets) on m-lines the offers did not describe.
    pub unmapped_frames: u64,
    /// Events not delivered because the queue was full.
    pub events_dropped: u64,
    /// The last error the server sent about media (`media_error`), or a local media failure.
    pub last_error: Option<String>,
    /// What a tool's own receive path counted (the load tool's lean SRTP path), once the
    /// session took it; always None for sessions this crate runs.
    pub lean: Option<LeanStats>,
}

impl MediaStats {
    pub fn track(&self, id: &TrackId) -> Option<&TrackStats> {
        self.tracks.iter().rev().find(|t| &t.track_id == id)
    }

    /// Active tracks of one publisher.
    pub fn tracks_from<'a>(
        &'a self,
        participant: &'a ParticipantId,
    ) -> impl Iterator<Item = &'a TrackStats> + 'a {
        self.tracks
            .iter()
            .filter(move |t| t.active && &t.participant_id == participant)
    }
}
