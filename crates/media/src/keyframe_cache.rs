//! A new subscriber's first picture without a round trip to the publisher.
//!
//! Each video layer keeps its packets since its last keyframe for a short while. A subscriber that
//! starts a layer and has been sent nothing of the track yet gets them at once, instead of waiting for
//! the keyframe it would otherwise ask the publisher for (a PLI's round trip plus the encoder's next
//! frame: 50-400 ms in the join benchmark, docs/benchmarks.md). And the publishers are asked for a
//! keyframe as soon as a newcomer joins (and whenever the server offers a subscriber a new video),
//! so that by the time the newcomer is connected and has answered, a fresh one waits in the cache.

use std::time::{Duration, Instant};

use crate::packet::InPacket;

/// Most packets one layer keeps (a 1080p keyframe is about 100 packets).
pub(crate) const MAX_PACKETS: usize = 512;
/// Most payload bytes one layer keeps.
pub(crate) const MAX_BYTES: usize = 512 * 1024;

/// The packets of one layer since its last keyframe, while that keyframe is recent.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyframeCache {
    /// Arrival of the keyframe's first packet; `None`: nothing kept.
    since: Option<Instant>,
    packets: Vec<InPacket>,
    bytes: usize,
}

impl KeyframeCache {
    /// Ingress of one packet of the layer. A keyframe's first packet starts a new run; the packets
    /// after it join the run until it is `max_age` old or too large, when it is dropped.
    pub(crate) fn on_packet(&mut self, p: &InPacket, max_age: Duration) {
        if p.keyframe_start {
            self.clear();
            self.since = Some(p.arrival);
        }
        let Some(since) = self.since else { return };
        let bytes = self.bytes + p.payload.len();
        if p.arrival.saturating_duration_since(since) > max_age
            || self.packets.len() >= MAX_PACKETS
            || bytes > MAX_BYTES
        {
            self.clear();
            return;
        }
        self.bytes = bytes;
        self.packets.push(p.clone());
    }

    /// The run, keyframe first, if its keyframe came no more than `max_age` before `now`.
    pub(crate) fn fresh(&self, now: Instant, max_age: Duration) -> Option<&[InPacket]> {
        let since = self.since?;
        (now.saturating_duration_since(since) <= max_age && !self.packets.is_empty())
            .then_some(self.packets.as_slice())
    }

    pub(crate) fn clear(&mut self) {
        self.since = None;
        self.packets.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use str0m::format::{Codec, CodecSpec, FormatParams, PayloadParams};
    use str0m::media::{Frequency, MediaTime, Mid, Pt};

    use super::*;

    const AGE: Duration = Duration::from_millis(500);

    fn packet(at: Instant, seq: u64, key: bool, len: usize) -> InPacket {
        InPacket {
            mid: Mid::from("1"),
            rid: None,
            params: PayloadParams::new(
                Pt::from(96),
                None,
                CodecSpec {
                    codec: Codec::Vp8,
                    clock_rate: Frequency::NINETY_KHZ,
                    channels: None,
                    format: FormatParams::default(),
                },
            ),
            seq: seq.into(),
            time: MediaTime::new(seq * 3000, Frequency::NINETY_KHZ),
            marker: false,
            audio_level: None,
            voice_activity: None,
            arrival: at,
            payload: Arc::from(vec![0u8; len]),
            keyframe_start: key,
            vp8: None,
        }
    }

    fn seqs(run: Option<&[InPacket]>) -> Vec<u64> {
        run.unwrap_or_default().iter().map(|p| *p.seq).collect()
    }

    #[test]
    fn keeps_the_run_since_the_last_keyframe() {
        let t0 = Instant::now();
        let mut c = KeyframeCache::default();
        // Nothing before the first keyframe.
        c.on_packet(&packet(t0, 1, false, 100), AGE);
        assert!(c.fresh(t0, AGE).is_none());
        c.on_packet(&packet(t0, 2, true, 100), AGE);
        c.on_packet(&packet(t0 + Duration::from_millis(33), 3, false, 100), AGE);
        assert_eq!(
            seqs(c.fresh(t0 + Duration::from_millis(40), AGE)),
            vec![2, 3]
        );
        // A new keyframe starts a new run.
        c.on_packet(&packet(t0 + Duration::from_millis(66), 4, true, 100), AGE);
        assert_eq!(seqs(c.fresh(t0 + Duration::from_millis(70), AGE)), vec![4]);
    }

    #[test]
    fn a_run_older_than_the_limit_is_neither_kept_nor_given() {
        let t0 = Instant::now();
        let mut c = KeyframeCache::default();
        c.on_packet(&packet(t0, 1, true, 100), AGE);
        // Given while young, not after.
        assert!(c.fresh(t0 + AGE, AGE).is_some());
        assert!(c.fresh(t0 + AGE + Duration::from_millis(1), AGE).is_none());
        // A packet past the age ends the run: the later deltas are not kept either.
        c.on_packet(
            &packet(t0 + AGE + Duration::from_millis(1), 2, false, 100),
            AGE,
        );
        c.on_packet(
            &packet(t0 + AGE + Duration::from_millis(2), 3, false, 100),
            AGE,
        );
        assert!(c.fresh(t0, AGE).is_none());
    }

    #[test]
    fn a_run_past_the_packet_limit_is_dropped() {
        let t0 = Instant::now();
        let mut c = KeyframeCache::default();
        c.on_packet(&packet(t0, 0, true, 10), AGE);
        for seq in 1..MAX_PACKETS as u64 {
            c.on_packet(&packet(t0, seq, false, 10), AGE);
        }
        assert_eq!(seqs(c.fresh(t0, AGE)).len(), MAX_PACKETS);
        c.on_packet(&packet(t0, MAX_PACKETS as u64, false, 10), AGE);
        assert!(c.fresh(t0, AGE).is_none());
    }

    #[test]
    fn a_run_past_the_byte_limit_is_dropped() {
        let t0 = Instant::now();
        let mut c = KeyframeCache::default();
        c.on_packet(&packet(t0, 0, true, MAX_BYTES - 100), AGE);
        c.on_packet(&packet(t0, 1, false, 100), AGE);
        assert_eq!(seqs(c.fresh(t0, AGE)), vec![0, 1]);
        c.on_packet(&packet(t0, 2, false, 1), AGE);
        assert!(c.fresh(t0, AGE).is_none());
    }
}
