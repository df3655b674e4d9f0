//! What a session reports: events, and a snapshot of its figures.

use std::net::SocketAddr;

use convene_proto::{ParticipantId, ServerMessage, TrackId};

use super::net::{NetCounters, Transport};
use super::publish::SendStats;
use super::receive::TrackStats;

/// What the session reports besides stats.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaEvent {
    /// A server message the session did not consume (everything but `sdp_offer`, `sdp_answer`
    /// and `ice_candidate`; `error`, `track_*` and `layers_unused` are passed on too).
    Signaling(ServerMessage),
    /// ICE and DTLS are up: media flows.
    Connected,
    /// ICE lost the server (it may come back, e.g. after [`crate::MediaSession::restart_ice`]).
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

/// What a tool's own receive path counted for one session (the load tool's lean SRTP path,
/// which decrypts RTP and sends the feedback itself), in [`MediaStats::lean`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeanStats {
    /// RTP and RTCP that did not authenticate (or could not be parsed).
    pub srtp_failures: u64,
    /// Packets on SSRCs no m-line declared.
    pub unknown_ssrc: u64,
    /// Padding-only packets (bandwidth probes).
    pub padding: u64,
    /// Repeated or too late packets, not handed on.
    pub duplicates: u64,
    pub nacks_sent: u64,
    pub twcc_feedback_sent: u64,
    pub receiver_reports_sent: u64,
    /// RTCP str0m wanted to send for streams it never saw, dropped.
    pub str0m_rtcp_dropped: u64,
}
