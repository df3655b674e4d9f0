//! How a room relays the media plane's output: answers and offers to their participant, track changes
//! to everyone (and into the participant's visible state), speaker events to everyone.

use convene_media::Event;
use convene_proto::{AudioLevel, ErrorCode, OfferedTrack, ServerMessage, Source, TrackInfo};

use super::room::Room;
use crate::media::{kind_to_proto, source_to_proto, MediaOut};

impl Room {
    pub(super) fn on_media(&mut self, out: MediaOut) {
        match out {
            MediaOut::Answer { participant, sdp } => {
                self.send_to(&participant, &ServerMessage::SdpAnswer { sdp });
            }
            MediaOut::Failed {
                participant,
                request,
                error,
            } => {
                // The library's text (parser internals, even addresses) stays in the log.
                let e = crate::error::media_failure(&error);
                if e.code() == ErrorCode::InternalError {
                    tracing::warn!(room = %self.id, %participant, request, error = %error, "media request failed");
                } else {
                    tracing::debug!(room = %self.id, %participant, request, error = %error, "media request refused");
                }
                self.state.metrics.errors.inc(e.code().as_str());
                self.send_to(&participant, &e.to_message(Some(request)));
            }
            MediaOut::Refused {
                participant,
                request,
                code,
                message,
            } => {
                tracing::debug!(room = %self.id, %participant, request, %message, "media request refused on another node");
                let e = crate::error::ServerError::client(code, message);
                self.state.metrics.errors.inc(code.as_str());
                self.send_to(&participant, &e.to_message(Some(request)));
            }
            MediaOut::Moved { participant } => {
                tracing::info!(room = %self.id, %participant, "media session moved: its node was lost");
                let reason = "media_node_lost".into();
                self.send_to(&participant, &ServerMessage::MediaReset { reason });
            }
            MediaOut::Event(e) => self.on_media_event(e),
        }
    }

    fn on_media_event(&mut self, e: Event) {
        match e {
            Event::SendOffer {
                participant,
                sdp,
                tracks,
            } => {
                let tracks = tracks
                    .into_iter()
                    .map(|t| OfferedTrack {
                        mid: t.mid,
                        participant_id: t.publisher,
                        track_id: t.track,
                        kind: kind_to_proto(t.kind),
                        source: source_to_proto(t.source),
                    })
                    .collect();
                self.send_to(&participant, &ServerMessage::SdpOffer { sdp, tracks });
            }
            Event::TrackPublished {
                participant,
                track,
                mid,
                kind,
                source,
                layers,
            } => {
                let info = TrackInfo {
                    id: track,
                    kind: kind_to_proto(kind),
                    source: source_to_proto(source),
                    rids: layers,
                    mid: Some(mid),
                };
                let track_id = info.id.clone();
                self.track_event("track_published", &participant, &info);
                let msg = ServerMessage::TrackPublished {
                    participant_id: participant.clone(),
                    track: info.clone(),
                };
                self.change_tracks(&participant, msg, |tracks| {
                    tracks.retain(|t| t.id != track_id);
                    tracks.push(info);
                });
            }
            Event::TrackUnpublished { participant, track } => {
                if let Some(info) = self
                    .find(&participant)
                    .and_then(|p| p.info.tracks.iter().find(|t| t.id == track))
                    .cloned()
                {
                    self.track_event("track_unpublished", &participant, &info);
                }
                let msg = ServerMessage::TrackUnpublished {
                    participant_id: participant.clone(),
                    track_id: track.clone(),
                };
                self.change_tracks(&participant, msg, |tracks| tracks.retain(|t| t.id != track));
            }
            Event::LayersUnused {
                participant,
                track,
                rids,
            } => {
                self.send_to(
                    &participant,
                    &ServerMessage::LayersUnused {
                        track_id: track,
                        rids,
                    },
                );
            }
            Event::DominantSpeaker { participant, .. } => {
                self.broadcast(&ServerMessage::DominantSpeaker {
                    participant_id: Some(participant),
                });
            }
            Event::AudioLevels { levels, .. } => {
                let levels = levels
                    .into_iter()
                    .map(|(participant_id, level)| AudioLevel {
                        participant_id,
                        level,
                    })
                    .collect();
                self.broadcast(&ServerMessage::AudioLevels { levels });
            }
            Event::SessionReset { participant } => {
                tracing::info!(room = %self.id, %participant, "media session reset after silence");
                self.send_to(
                    &participant,
                    &ServerMessage::MediaReset {
                        reason: "no_media_from_client".into(),
                    },
                );
            }
            Event::Connected { participant } => {
                tracing::info!(room = %self.id, %participant, "media connected");
            }
            Event::Disconnected { participant } => {
                // The core keeps the session through a grace period (the client may recover or
                // restart ICE) and then ends its tracks itself; the others learn it from
                // `track_unpublished`. A page that comes back with a new peer connection gets a
                // fresh session on its first offer.
                tracing::info!(room = %self.id, %participant, "media disconnected");
            }
        }
    }

    /// Applies a track change to a participant's visible state, tells everyone `msg`, and, when
    /// screen sharing started or stopped with it, the participant's new state too.
    fn change_tracks(
        &mut self,
        participant: &convene_proto::ParticipantId,
        msg: ServerMessage,
        change: impl FnOnce(&mut Vec<TrackInfo>),
    ) {
        let Some(p) = self.find_mut(participant) else {
            return;
        };
        change(&mut p.info.tracks);
        let sharing = p.info.tracks.iter().any(|t| t.source == Source::Screen);
        let changed = sharing != p.info.screen_sharing;
        p.info.screen_sharing = sharing;
        let updated = p.info.clone();
        self.broadcast(&msg);
        if changed {
            self.broadcast(&ServerMessage::ParticipantUpdated {
                participant: updated,
            });
        }
    }
}
