//! Routing to the recording sinks: which tracks get one, the layer each records, and the
//! keyframes they ask for.

use std::time::Instant;

use convene_proto::RoomId;
use str0m::media::Mid;

use super::alloc::video_demand;
use super::Sfu;
use crate::ids::{PeerIdx, SinkIdx, TrackOrigin};
use crate::simulcast::LayerId;
use crate::sink::output::{Recorded, RecordingId};
use crate::sink::TrackLabel;
use crate::types::TrackKind;

impl Sfu {
    /// Record `room` or stop recording it: every track its participants of this core publish gets
    /// a sink (from now on, and as they publish), or every sink ends. The sinks' output comes out
    /// of [`Sfu::poll_recorded`].
    pub fn set_recording(&mut self, room: &RoomId, on: bool, now: Instant) {
        if !self.sinks.set_room(room, on) {
            return;
        }
        if on {
            let members = self
                .rooms
                .get(room)
                .map(|r| r.members.clone())
                .unwrap_or_default();
            for idx in members {
                let mids: Vec<Mid> = self
                    .peer(idx)
                    .map(|p| p.published.iter().map(|t| t.mid).collect())
                    .unwrap_or_default();
                for mid in mids {
                    self.add_sink(idx, mid);
                }
            }
            self.tick_sinks(now);
        } else {
            for idx in self.sinks.of_room(room) {
                self.end_sink(idx);
            }
        }
    }

    /// Frames of recording `id` were lost after `poll_recorded` handed them out (a full queue to
    /// the writer): its video goes on from a new keyframe, asked for now, so that the file never
    /// holds a frame whose reference is missing. The caller marks the gap itself.
    pub fn resync_recording(&mut self, id: RecordingId, now: Instant) {
        let Some((_, r)) = self.sinks.find(id) else {
            return;
        };
        r.resync();
        let (key, layer) = (r.key, r.keyframe_wanted());
        if let Some(layer) = layer {
            self.request_keyframe(key.0, key.1, layer, now);
        }
    }

    /// What the sinks recorded, in order per track.
    pub fn poll_recorded(&mut self) -> Option<Recorded> {
        self.sinks.poll()
    }

    /// A sink on `idx`'s track `mid` when its room is being recorded.
    pub(crate) fn add_sink(&mut self, idx: PeerIdx, mid: Mid) {
        let Some(p) = self.peers.get(idx) else { return };
        if !self.sinks.is_recording(&p.room) {
            return;
        }
        let Some(t) = p.published.iter().find(|t| t.mid == mid) else {
            return;
        };
        if t.sink().is_some() {
            return;
        }
        let label = TrackLabel {
            room: p.room.clone(),
            participant: p.id.clone(),
            track: t.id.clone(),
            kind: t.kind,
            source: t.source,
        };
        let sink = self.sinks.add((TrackOrigin::Local(idx), mid), label);
        if let Some(t) = self.peers.get_mut(idx).and_then(|p| p.published_mut(mid)) {
            t.add_sink(sink);
        }
    }

    /// Ends a sink and takes it off its track.
    pub(crate) fn end_sink(&mut self, sink: SinkIdx) {
        if let Some((_, key, _)) = self.sinks.tracks().into_iter().find(|(i, ..)| *i == sink) {
            if let Some(t) = self.track_mut(key) {
                t.remove(crate::ids::Subscriber::Sink(sink));
            }
        }
        self.sinks.end(sink);
    }

    /// Each sink records its track's best layer arriving, and hands out what waited long enough;
    /// the keyframes they wait for are asked for (rate-limited per layer).
    pub(crate) fn tick_sinks(&mut self, now: Instant) {
        for (sink, key, kind) in self.sinks.tracks() {
            let best = match kind {
                TrackKind::Audio => None,
                TrackKind::Video => self.best_layer(key, now),
            };
            if let Some(layer) = self.sinks.tick(sink, best, now) {
                self.request_keyframe(key.0, key.1, layer, now);
            }
        }
    }

    /// The highest layer of a video that is arriving.
    fn best_layer(&self, key: crate::ids::TrackKey, now: Instant) -> Option<LayerId> {
        let t = self.track(key)?;
        let (_, ids) = video_demand(t, self.unused_reported(key), None, None, now)?;
        ids.last().copied()
    }
}
