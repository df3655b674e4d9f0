//! Publishing passes through the room: the room knows the publisher's role, its token's grants and
//! what hosts muted, so it is where an offer is refused before the media plane sees it.

use convene_proto::{ErrorCode, ParticipantId, TrackSource};

use super::room::Room;
use crate::error::ServerError;
use crate::media::offer_sources::sending_sources;
use crate::media::MediaCmd;
use crate::policy;

impl Room {
    pub(super) fn offer(
        &mut self,
        from: &ParticipantId,
        sdp: String,
        tracks: Vec<TrackSource>,
    ) -> Result<(), ServerError> {
        let Some(media) = &self.state.media else {
            return Err(ServerError::client(
                ErrorCode::MediaError,
                "media is not enabled on this server",
            ));
        };
        let Some(p) = self.find(from) else {
            return Err(ServerError::client(
                ErrorCode::NotJoined,
                "not in this room",
            ));
        };
        let sources = sending_sources(&sdp, &tracks);
        policy::may_publish(p.info.role, p.grants.as_ref(), &sources)?;
        media.send(
            &self.id,
            MediaCmd::Offer {
                participant: from.clone(),
                sdp,
                sources: tracks
                    .into_iter()
                    .map(|t| (t.mid, crate::media::source_from_proto(t.source)))
                    .collect(),
            },
        );
        Ok(())
    }
}
