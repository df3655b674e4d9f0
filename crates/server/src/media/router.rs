//! Routes the media worker's output to the rooms: events about a participant go to that participant's
//! room, room-wide events (dominant speaker, audio levels) to the room by name.

use std::sync::Arc;

use convene_media::Event;
use convene_proto::{ParticipantId, RoomId};

use super::MediaOut;
use crate::rooms::RoomCmd;
use crate::state::AppState;

pub async fn route(state: Arc<AppState>, mut rx: tokio::sync::mpsc::UnboundedReceiver<MediaOut>) {
    while let Some(out) = rx.recv().await {
        // Reports about sessions this node holds for another node's room go back there.
        let out = match &state.spans {
            Some(spans) => match spans.claim(out) {
                Some(out) => out,
                None => continue,
            },
            None => out,
        };
        let handle = match target(&out) {
            Target::Participant(p) => state.media_route(p),
            // The media plane is this node's: its events go to this node's rooms directly, not
            // through the room plane.
            Target::Room(room) => state.rooms.get(room),
        };
        // No route: the participant or room is gone; its media events are moot.
        if let Some(h) = handle {
            h.send(RoomCmd::Media(out)).await;
        }
    }
}

/// Whom a report of the media plane is about.
pub enum Target<'a> {
    Participant(&'a ParticipantId),
    /// Room-wide (dominant speaker, audio levels).
    Room(&'a RoomId),
}

pub fn target(out: &MediaOut) -> Target<'_> {
    match out {
        MediaOut::Answer { participant, .. }
        | MediaOut::Failed { participant, .. }
        | MediaOut::Refused { participant, .. }
        | MediaOut::Moved { participant } => Target::Participant(participant),
        MediaOut::Event(e) => match e {
            Event::SendOffer { participant, .. }
            | Event::Connected { participant }
            | Event::Disconnected { participant }
            | Event::SessionReset { participant }
            | Event::TrackPublished { participant, .. }
            | Event::TrackUnpublished { participant, .. }
            | Event::LayersUnused { participant, .. } => Target::Participant(participant),
            Event::DominantSpeaker { room, .. } | Event::AudioLevels { room, .. } => {
                Target::Room(room)
            }
        },
    }
}
