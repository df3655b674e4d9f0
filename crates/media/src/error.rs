//! Errors of the API calls and reasons for dropping datagrams.

use convene_proto::ParticipantId;
use str0m::RtcError;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("unknown participant {0}")]
    UnknownParticipant(ParticipantId),
    #[error("participant {0} already exists")]
    DuplicateParticipant(ParticipantId),
    #[error("malformed SDP: {0}")]
    BadSdp(String),
    #[error("no server offer is pending for {0}; stale or unexpected answer")]
    NoPendingOffer(ParticipantId),
    /// The offer's `tracks` do not fit its m-lines. Our own words: the server sends them as they are.
    #[error("`tracks`: mid `{mid}` {problem}")]
    BadTrackDeclaration { mid: String, problem: &'static str },
    #[error("malformed ICE candidate: {0}")]
    BadCandidate(String),
    #[error("the crypto provider cannot make a DTLS certificate")]
    DtlsCertificate,
    #[error("negotiation failed: {0}")]
    Rtc(#[from] RtcError),
}

/// Why an incoming datagram was dropped. Every variant is counted in [`crate::Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Zero-length datagram.
    Empty,
    /// First byte matches none of STUN, DTLS, RTP, RTCP (RFC 7983 demultiplexing).
    NotWebRtc,
    /// Looks like STUN but does not parse.
    MalformedStun,
    /// A STUN message an ICE-lite server never expects (responses, indications, TURN methods).
    UnexpectedStun,
    /// STUN binding request whose username names no participant.
    UnknownUfrag,
    /// STUN binding request for a participant, but MESSAGE-INTEGRITY fails.
    BadStunCredentials,
    /// Non-STUN datagram from an address no participant has authenticated from.
    UnknownPeer,
    /// RTP/RTCP/DTLS shorter than its own header (plus SRTP auth tag) claims.
    Truncated,
    /// Handed to the participant's WebRTC stack, which rejected it.
    Rejected,
}

impl DropReason {
    pub const ALL: [DropReason; 9] = [
        DropReason::Empty,
        DropReason::NotWebRtc,
        DropReason::MalformedStun,
        DropReason::UnexpectedStun,
        DropReason::UnknownUfrag,
        DropReason::BadStunCredentials,
        DropReason::UnknownPeer,
        DropReason::Truncated,
        DropReason::Rejected,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Empty => "empty",
            DropReason::NotWebRtc => "not_webrtc",
            DropReason::MalformedStun => "malformed_stun",
            DropReason::UnexpectedStun => "unexpected_stun",
            DropReason::UnknownUfrag => "unknown_ufrag",
            DropReason::BadStunCredentials => "bad_stun_credentials",
            DropReason::UnknownPeer => "unknown_peer",
            DropReason::Truncated => "truncated",
            DropReason::Rejected => "rejected",
        }
    }
}
