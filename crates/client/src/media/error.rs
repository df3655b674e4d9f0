//! How a media session fails.

use crate::signaling::ClientError;

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
    /// Whatever ran this session's peer (a tool's own runner, see [`crate::parts`]) ended it.
    #[error("media failed: {0}")]
    Failed(String),
}
