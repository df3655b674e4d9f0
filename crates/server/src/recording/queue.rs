//! The bounded queue from a media worker to the recording writer. The worker never waits on the
//! disk: a frame that does not fit is dropped (counted in `convene_recording_dropped_frames_total`),
//! the core is asked to resume that video at a new keyframe, the track's later frames are dropped
//! until that keyframe, and a `Dropped` gap goes to the writer just before it, so the file never
//! holds a frame whose references are missing. A track's start, end and gaps are never dropped:
//! when the queue is full they wait here, in order, and frames wait behind them (dropped).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;

use convene_media::{Recorded, RecordingId};

/// Items the writer may lag behind by: about 40 s of one video and one audio track, or a second of
/// a few hundred tracks.
pub const QUEUE_CAPACITY: usize = 4096;

/// What a media worker hands the writer.
#[derive(Debug)]
pub struct Item {
    /// The worker (core) it comes from: a `RecordingId` is unique per core only.
    pub worker: usize,
    pub what: What,
}

#[derive(Debug)]
pub enum What {
    Core(Recorded),
    /// Frames of `id` from `from` up to `to` were dropped here; the next frame is a keyframe.
    Dropped {
        id: RecordingId,
        from: Instant,
        to: Instant,
        frames: u64,
    },
}

/// A track whose frames are being dropped until its next keyframe.
#[derive(Clone, Copy, Debug)]
struct Dropping {
    from: Instant,
    frames: u64,
}

/// One worker's end of the queue.
pub struct RecordQueue {
    worker: usize,
    tx: SyncSender<Item>,
    /// Starts, ends and gaps that did not fit, oldest first.
    held: VecDeque<Item>,
    dropping: HashMap<RecordingId, Dropping>,
    dropped: Arc<AtomicU64>,
}

impl RecordQueue {
    /// `dropped` counts every frame dropped (the /metrics counter).
    pub fn new(worker: usize, tx: SyncSender<Item>, dropped: Arc<AtomicU64>) -> Self {
        Self {
            worker,
            tx,
            held: VecDeque::new(),
            dropping: HashMap::new(),
            dropped,
        }
    }

    /// Hands `r` to the writer, or drops it (a frame) when the queue is full; `resync` asks the
    /// core to resume a track at a new keyframe (`Sfu::resync_recording`).
    pub fn push(&mut self, r: Recorded, resync: &mut dyn FnMut(RecordingId)) {
        self.flush_held();
        match r {
            Recorded::Frame {
                id, at, keyframe, ..
            } => self.frame(id, at, keyframe, r, resync),
            Recorded::Ended { id, .. } => {
                // Nothing follows: the frames dropped at its end need no gap.
                self.dropping.remove(&id);
                self.send_or_hold(What::Core(r));
            }
            Recorded::Started { .. } | Recorded::Gap { .. } => self.send_or_hold(What::Core(r)),
        }
    }

    /// Sends what waits here, as far as the queue takes it (called on every flush of the worker).
    pub fn flush_held(&mut self) {
        while let Some(item) = self.held.pop_front() {
            match self.tx.try_send(item) {
                Ok(()) => {}
                Err(TrySendError::Full(item)) => {
                    self.held.push_front(item);
                    return;
                }
                // The writer is gone (the server stops): nothing will take anything.
                Err(TrySendError::Disconnected(_)) => {
                    self.held.clear();
                    return;
                }
            }
        }
    }

    /// Items waiting here for room in the queue.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    fn frame(
        &mut self,
        id: RecordingId,
        at: Instant,
        keyframe: bool,
        r: Recorded,
        resync: &mut dyn FnMut(RecordingId),
    ) {
        if let Some(d) = self.dropping.get(&id).copied() {
            let gap = What::Dropped {
                id,
                from: d.from,
                to: at,
                frames: d.frames,
            };
            if !keyframe || !self.try_send(gap) {
                self.drop_frame(id, d.from, d.frames, keyframe, resync);
                return;
            }
            self.dropping.remove(&id);
        }
        if !self.try_send(What::Core(r)) {
            self.drop_frame(id, at, 0, true, resync);
        }
    }

    /// Counts a dropped frame; the first of a run (or a keyframe that could not be taken) asks
    /// the core for a new keyframe.
    fn drop_frame(
        &mut self,
        id: RecordingId,
        from: Instant,
        before: u64,
        ask: bool,
        resync: &mut dyn FnMut(RecordingId),
    ) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        let first = before == 0;
        self.dropping.insert(
            id,
            Dropping {
                from,
                frames: before + 1,
            },
        );
        if first || ask {
            resync(id);
        }
    }

    /// Frames go only when nothing is held, so a track's items stay in order.
    fn try_send(&mut self, what: What) -> bool {
        if !self.held.is_empty() {
            return false;
        }
        let item = Item {
            worker: self.worker,
            what,
        };
        self.tx.try_send(item).is_ok()
    }

    fn send_or_hold(&mut self, what: What) {
        let item = Item {
            worker: self.worker,
            what,
        };
        if !self.held.is_empty() {
            self.held.push_back(item);
            return;
        }
        match self.tx.try_send(item) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(item)) => self.held.push_back(item),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{sync_channel, Receiver};
    use std::time::Duration;

    fn frame(id: u64, at: Instant, keyframe: bool) -> Recorded {
        Recorded::Frame {
            id: RecordingId(id),
            at,
            keyframe,
            data: vec![1, 2, 3],
        }
    }

    fn drain(rx: &Receiver<Item>) -> Vec<What> {
        rx.try_iter().map(|i| i.what).collect()
    }

    #[test]
    fn a_full_queue_drops_counts_and_resyncs_until_the_next_keyframe() {
        let (tx, rx) = sync_channel(2);
        let dropped = Arc::new(AtomicU64::new(0));
        let mut q = RecordQueue::new(3, tx, dropped.clone());
        let mut resyncs = Vec::new();
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        q.push(frame(7, ms(0), true), &mut |id| resyncs.push(id));
        q.push(frame(7, ms(33), false), &mut |id| resyncs.push(id));
        // Full: these two are dropped; the first asks for a keyframe.
        q.push(frame(7, ms(66), false), &mut |id| resyncs.push(id));
        q.push(frame(7, ms(99), false), &mut |id| resyncs.push(id));
        assert_eq!(dropped.load(Ordering::Relaxed), 2);
        assert_eq!(resyncs, vec![RecordingId(7)]);
        assert_eq!(drain(&rx).len(), 2, "the queue holds what fitted");
        // Room again, but a delta frame cannot follow a loss: still dropped.
        q.push(frame(7, ms(132), false), &mut |id| resyncs.push(id));
        assert_eq!(dropped.load(Ordering::Relaxed), 3);
        assert!(drain(&rx).is_empty());
        // The keyframe resumes the track, after a gap covering the frames dropped.
        q.push(frame(7, ms(165), true), &mut |id| resyncs.push(id));
        let got = drain(&rx);
        assert_eq!(got.len(), 2);
        match &got[0] {
            What::Dropped {
                id,
                from,
                to,
                frames,
            } => assert_eq!(
                (*id, *from, *to, *frames),
                (RecordingId(7), ms(66), ms(165), 3)
            ),
            other => panic!("expected the gap first, got {other:?}"),
        }
        assert!(matches!(
            &got[1],
            What::Core(Recorded::Frame { keyframe: true, .. })
        ));
        assert_eq!(
            resyncs,
            vec![RecordingId(7)],
            "one request per run of drops"
        );
    }

    #[test]
    fn starts_and_ends_are_never_dropped_and_stay_in_order() {
        let (tx, rx) = sync_channel(1);
        let dropped = Arc::new(AtomicU64::new(0));
        let mut q = RecordQueue::new(0, tx, dropped.clone());
        let t0 = Instant::now();
        q.push(frame(1, t0, true), &mut |_| {});
        q.push(
            Recorded::Ended {
                id: RecordingId(1),
                at: t0,
            },
            &mut |_| {},
        );
        assert_eq!(q.held(), 1, "the end waits for room");
        // A frame of another track behind a held item is dropped, never sent before it.
        q.push(frame(2, t0, true), &mut |_| {});
        assert_eq!(dropped.load(Ordering::Relaxed), 1);
        assert_eq!(drain(&rx).len(), 1);
        q.flush_held();
        assert!(matches!(
            drain(&rx).as_slice(),
            [What::Core(Recorded::Ended { .. })]
        ));
        assert_eq!(q.held(), 0);
    }
}
