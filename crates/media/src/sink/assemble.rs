//! Ordered, complete frames out of a recorded track's packets.
//!
//! Packets arrive as they are forwarded: out of order at times, some lost and retransmitted later
//! (the publisher's NACK loop), some lost for good. A file must get each frame whole and in order,
//! and never a frame whose packets are missing, nor a delta frame whose reference was skipped: that
//! would write corrupt pictures that every player shows as smears until the next keyframe. So the
//! assembler holds packets by sequence number, hands out a frame once all of its packets are there,
//! waits a while for a missing packet, and past that skips to the next keyframe.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most packets held while waiting for a missing one (about 2 s of a 2.5 Mbit/s video); past it
/// the wait ends at once, so a publisher that keeps sending cannot grow the buffer without bound.
pub(crate) const MAX_HELD_PACKETS: usize = 2048;

/// One packet of a recorded track, on the recorder's continuous sequence numbers and RTP time.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub seq: u64,
    pub time: u64,
    pub marker: bool,
    pub keyframe_start: bool,
    pub arrival: Instant,
    pub payload: Arc<[u8]>,
}

/// What the assembler hands out.
#[derive(Debug)]
pub(crate) enum Assembled {
    /// A whole frame's packets, in order.
    Frame(Vec<Held>),
    /// Packets were given up on; `packets` is how many were skipped (missing or unusable). The next
    /// frame handed out is a keyframe when the track needs one to resume.
    Skipped { packets: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Frames are handed out from `next` on.
    Writing,
    /// A frame was lost: nothing is handed out until a keyframe starts.
    AwaitingKeyframe,
}

#[derive(Debug)]
pub(crate) struct Assembler {
    held: BTreeMap<u64, Held>,
    /// The sequence number the next frame starts at (None before the first packet).
    next: Option<u64>,
    /// When the current hole (a missing packet with later ones held) was first seen.
    hole_since: Option<Instant>,
    phase: Phase,
    /// Whether each packet is a frame of its own (audio) rather than frames ending at the marker.
    packet_frames: bool,
    /// Whether a lost frame means waiting for a keyframe (video) or just going on (audio).
    needs_keyframe: bool,
    wait: Duration,
    /// Packets skipped since the last `Skipped` was handed out.
    skipped: u64,
}

impl Assembler {
    pub(crate) fn video(wait: Duration) -> Self {
        Self::new(false, true, wait)
    }

    /// Audio: each packet is a frame; a lost one is a short silence, not a reason to stop.
    pub(crate) fn audio(wait: Duration) -> Self {
        Self::new(true, false, wait)
    }

    fn new(packet_frames: bool, needs_keyframe: bool, wait: Duration) -> Self {
        Assembler {
            held: BTreeMap::new(),
            next: None,
            hole_since: None,
            phase: Phase::Writing,
            packet_frames,
            needs_keyframe,
            wait,
            skipped: 0,
        }
    }

    /// Take a packet. The first one must start a frame (the recorder admits a video from a
    /// keyframe on); late ones, before what was already handed out or given up on, are dropped.
    pub(crate) fn push(&mut self, p: Held) {
        match self.next {
            None => self.next = Some(p.seq),
            Some(next) if p.seq < next => return,
            Some(_) => {}
        }
        self.held.insert(p.seq, p);
    }

    /// The next frame or skip, if one is ready at `now`.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<Assembled> {
        loop {
            let next = self.next?;
            if self.phase == Phase::AwaitingKeyframe {
                if !self.seek_keyframe() {
                    return None;
                }
                continue;
            }
            match self.frame_at(next) {
                Scan::Complete(end) => {
                    self.hole_since = None;
                    if self.skipped > 0 {
                        return Some(Assembled::Skipped {
                            packets: std::mem::take(&mut self.skipped),
                        });
                    }
                    let frame: Vec<Held> =
                        (next..=end).filter_map(|s| self.held.remove(&s)).collect();
                    self.next = Some(end + 1);
                    return Some(Assembled::Frame(frame));
                }
                Scan::Broken(end) => {
                    // The frame's packets are all here but it never ended (its marker packet is
                    // not the last of them): nothing safe to write.
                    self.drop_through(end);
                    self.give_up();
                }
                Scan::Missing(seq) => {
                    let later = self.held.range(seq..).next().is_some();
                    if !later {
                        // The frame is still arriving.
                        self.hole_since = None;
                        return None;
                    }
                    let since = *self.hole_since.get_or_insert(now);
                    if now.saturating_duration_since(since) < self.wait
                        && self.held.len() < MAX_HELD_PACKETS
                    {
                        return None;
                    }
                    // Given up on `seq`: what came before it in this frame is useless too.
                    self.skipped += 1;
                    self.drop_through(seq);
                    self.hole_since = None;
                    self.give_up();
                }
            }
        }
    }

    /// Packets still held.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }

    /// Whether nothing is handed out until a keyframe comes.
    pub(crate) fn awaiting_keyframe(&self) -> bool {
        self.phase == Phase::AwaitingKeyframe
    }

    /// A frame handed out could not be used (its payload was unreadable): go on as if it had been
    /// lost.
    pub(crate) fn resume_at_keyframe(&mut self) {
        if self.needs_keyframe {
            self.phase = Phase::AwaitingKeyframe;
        }
    }

    /// Scan the frame starting at `start`.
    fn frame_at(&self, start: u64) -> Scan {
        let Some(first) = self.held.get(&start) else {
            return Scan::Missing(start);
        };
        if self.packet_frames {
            return Scan::Complete(start);
        }
        let mut seq = start;
        loop {
            let Some(p) = self.held.get(&seq) else {
                return Scan::Missing(seq);
            };
            if p.time != first.time {
                return Scan::Broken(seq - 1);
            }
            if p.marker {
                return Scan::Complete(seq);
            }
            seq += 1;
        }
    }

    /// Forget the held packets up to and including `seq`, counting them as skipped.
    fn drop_through(&mut self, seq: u64) {
        let keep = self.held.split_off(&(seq + 1));
        self.skipped += self.held.len() as u64;
        self.held = keep;
        self.next = Some(seq + 1);
    }

    fn give_up(&mut self) {
        if self.needs_keyframe {
            self.phase = Phase::AwaitingKeyframe;
        } else if let Some((&seq, _)) = self.held.iter().next() {
            // Audio goes on with the next packet held.
            self.next = Some(seq);
        }
    }

    /// While awaiting a keyframe: drop held packets up to the first one that starts a keyframe.
    /// False when none is held yet.
    fn seek_keyframe(&mut self) -> bool {
        let Some(seq) = self.held.values().find(|p| p.keyframe_start).map(|p| p.seq) else {
            if let Some((&last, _)) = self.held.iter().next_back() {
                self.drop_through(last);
            }
            return false;
        };
        let from_keyframe = self.held.split_off(&seq);
        self.skipped += self.held.len() as u64;
        self.held = from_keyframe;
        self.next = Some(seq);
        self.phase = Phase::Writing;
        true
    }
}

enum Scan {
    /// A whole frame from the start to this sequence number.
    Complete(u64),
    /// Packets from the start to this one share a timestamp but none has the marker, and the next
    /// one belongs to another frame.
    Broken(u64),
    /// This packet is not here (yet).
    Missing(u64),
}

#[cfg(test)]
#[path = "assemble_tests.rs"]
mod tests;
