//! Reactions: relayed to everyone in the room (the sender too, so every client shows them the same
//! way), within each participant's own rate limit. Ephemeral: nothing is stored.

use std::time::Instant;

use convene_proto::{ErrorCode, ParticipantId, ServerMessage};

use super::room::Room;
use crate::clock::now_ms;
use crate::error::ServerError;

impl Room {
    /// Broadcasts `emoji` (already checked against the set) from `from`, or refuses it with
    /// `rate_limited` when the participant has used up its bucket.
    pub(super) fn react(&mut self, from: &ParticipantId, emoji: String) -> Result<(), ServerError> {
        let Some(p) = self.find_mut(from) else {
            return Err(ServerError::client(
                ErrorCode::NotJoined,
                "not in this room",
            ));
        };
        if !p.reactions.take(Instant::now()) {
            let l = &self.state.config.limits;
            return Err(ServerError::client(
                ErrorCode::RateLimited,
                format!(
                    "too many reactions: {} in a row, then {} per second",
                    l.reactions_burst, l.reactions_per_sec
                ),
            ));
        }
        self.broadcast(&ServerMessage::Reaction {
            participant_id: from.clone(),
            emoji,
            ts: now_ms(),
        });
        Ok(())
    }
}
