//! Recording sinks: the core's third kind of subscriber, next to a participant and another core.
//!
//! A room being recorded has a sink on every track its participants of this core publish (another
//! core records its own participants' tracks). The part owns the recorders and the rooms being
//! recorded; it hands its output out through its own queue (`poll`), which the server drains off
//! the media thread into files.

mod assemble;
mod depacketize;
pub mod output;
mod recorder;

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use convene_proto::RoomId;

use crate::ids::{SinkIdx, TrackKey};
use crate::packet::InPacket;
use crate::simulcast::LayerId;
use crate::types::TrackKind;
use output::{Recorded, RecordingId};
use recorder::Recorder;
pub(crate) use recorder::TrackLabel;

#[derive(Debug, Default)]
pub(crate) struct Sinks {
    slots: Vec<Option<Recorder>>,
    free: Vec<u32>,
    rooms: HashSet<RoomId>,
    out: VecDeque<Recorded>,
    next_id: u64,
    /// How long a missing video packet is waited for (a retransmission) before it is given up on.
    wait: Duration,
}

impl Sinks {
    pub(crate) fn new(wait: Duration) -> Self {
        Sinks {
            wait,
            ..Default::default()
        }
    }

    pub(crate) fn is_recording(&self, room: &RoomId) -> bool {
        self.rooms.contains(room)
    }

    /// Marks `room` as recorded or not; true when that changed.
    pub(crate) fn set_room(&mut self, room: &RoomId, on: bool) -> bool {
        if on {
            self.rooms.insert(room.clone())
        } else {
            self.rooms.remove(room)
        }
    }

    /// A new sink on track `key`.
    pub(crate) fn add(&mut self, key: TrackKey, label: TrackLabel) -> SinkIdx {
        self.next_id += 1;
        let r = Recorder::new(RecordingId(self.next_id), key, label, self.wait);
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(r);
                SinkIdx(i)
            }
            None => {
                self.slots.push(Some(r));
                SinkIdx((self.slots.len() - 1) as u32)
            }
        }
    }

    /// The sink's track ended, or its recording stopped.
    pub(crate) fn end(&mut self, idx: SinkIdx) {
        let Some(mut r) = self.slots.get_mut(idx.0 as usize).and_then(Option::take) else {
            return;
        };
        r.end(&mut self.out);
        self.free.push(idx.0);
    }

    /// The sinks of `room`'s tracks (by the room of their label).
    pub(crate) fn of_room(&self, room: &RoomId) -> Vec<SinkIdx> {
        self.iter()
            .filter(|(_, r)| r.room() == room)
            .map(|(i, _)| i)
            .collect()
    }

    fn iter(&self) -> impl Iterator<Item = (SinkIdx, &Recorder)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (SinkIdx(i as u32), r)))
    }

    /// Every sink with its track (for the tick's layer choice).
    pub(crate) fn tracks(&self) -> Vec<(SinkIdx, TrackKey, TrackKind)> {
        self.iter().map(|(i, r)| (i, r.key, r.kind())).collect()
    }

    /// A packet forwarded to sink `idx`; returns a layer to ask a keyframe of.
    pub(crate) fn on_packet(&mut self, idx: SinkIdx, d: &InPacket) -> Option<LayerId> {
        let r = self.slots.get_mut(idx.0 as usize)?.as_mut()?;
        r.on_packet(d, d.arrival, &mut self.out)
    }

    /// The tick: record `best` from now on (a video's best layer arriving), hand out what waited
    /// long enough. Returns a layer to ask a keyframe of.
    pub(crate) fn tick(
        &mut self,
        idx: SinkIdx,
        best: Option<LayerId>,
        now: Instant,
    ) -> Option<LayerId> {
        let r = self.slots.get_mut(idx.0 as usize)?.as_mut()?;
        if let Some(best) = best {
            r.set_layer(best);
        }
        r.drain(now, &mut self.out).or_else(|| r.keyframe_wanted())
    }

    /// The sink recording `id` and its recorder, if it still runs.
    pub(crate) fn find(&mut self, id: RecordingId) -> Option<(SinkIdx, &mut Recorder)> {
        self.slots.iter_mut().enumerate().find_map(|(i, r)| {
            r.as_mut()
                .filter(|r| r.id == id)
                .map(|r| (SinkIdx(i as u32), r))
        })
    }

    /// The layers sink `idx` needs its publisher to keep sending.
    pub(crate) fn needed(&self, idx: SinkIdx) -> Vec<LayerId> {
        self.slots
            .get(idx.0 as usize)
            .and_then(Option::as_ref)
            .map(|r| r.needed().collect())
            .unwrap_or_default()
    }

    pub(crate) fn poll(&mut self) -> Option<Recorded> {
        self.out.pop_front()
    }
}
