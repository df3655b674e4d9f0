//! How a session's task ended.

use super::error::MediaError;
use crate::signaling::Signaling;

/// How a session's task ended ([`crate::MediaSession::finish`]).
pub enum Outcome {
    /// Stopped by its handle: the connection is still joined.
    Stopped(Signaling),
    /// The server reset the media session (`media_reset`: it heard nothing from us for too
    /// long). The connection is still joined; a new session on it starts over.
    Reset {
        signaling: Signaling,
        reason: String,
    },
    /// The session failed; the connection went with it (or was the cause).
    Failed(MediaError),
}

impl Outcome {
    /// The connection back, or the error; a reset is [`MediaError::ResetByServer`].
    pub fn into_result(self) -> Result<Signaling, MediaError> {
        match self {
            Outcome::Stopped(s) => Ok(s),
            Outcome::Reset { reason, .. } => Err(MediaError::ResetByServer(reason)),
            Outcome::Failed(e) => Err(e),
        }
    }
}
