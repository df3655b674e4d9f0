//! What a Janus participant counts of the frames it receives, per m-line: the same measures as
//! the Convene client's (loss by our header's sequence number, delay, corruption, foreign frames).

use std::collections::HashMap;

use convene_client::frame::{parse_frame, FrameKind};
use str0m::media::Mid;

use crate::session::Snap;

/// Frames received on one m-line.
#[derive(Default)]
struct Track {
    first: Option<u32>,
    max: Option<u32>,
    in_order: u64,
}

#[derive(Default)]
pub(super) struct Tracks {
    by_mid: HashMap<Mid, Track>,
}

impl Tracks {
    /// One received frame of `kind` on `mid`, arrived at `arrived_us` (wall clock), into `s`.
    pub fn record(
        &mut self,
        mid: Mid,
        kind: FrameKind,
        data: &[u8],
        arrived_us: u64,
        s: &mut Snap,
    ) {
        s.frames_in += 1;
        s.media_bytes_in += data.len() as u64;
        let Some(p) = parse_frame(kind, data) else {
            s.foreign += 1;
            return;
        };
        s.corrupt += u64::from(!p.intact);
        let t = self.by_mid.entry(mid).or_default();
        let seq = p.header.seq;
        // Serial-number comparison, so a wrap of the counter is not a reorder.
        match t.max {
            None => {
                t.first = Some(seq);
                t.max = Some(seq);
                t.in_order += 1;
            }
            Some(m) if seq.wrapping_sub(m) as i32 > 0 => {
                t.max = Some(seq);
                t.in_order += 1;
            }
            Some(_) => {}
        }
        s.delay.record(arrived_us as i64 - p.header.sent_us as i64);
        // Recomputed over all tracks: a handful per peer connection.
        let (mut lost, mut expected) = (0, 0);
        for t in self.by_mid.values() {
            if let (Some(a), Some(b)) = (t.first, t.max) {
                let e = u64::from(b.wrapping_sub(a)) + 1;
                expected += e;
                lost += e.saturating_sub(t.in_order);
            }
        }
        s.lost = lost;
        s.expected = expected;
    }
}

#[cfg(test)]
mod tests {
    use convene_client::frame::{write_opus, write_vp8, FrameHeader};

    use super::*;

    fn frame(kind: FrameKind, seq: u32) -> Vec<u8> {
        let h = FrameHeader {
            kind,
            layer: 0,
            sender: 7,
            seq,
            sent_us: 1_000_000,
        };
        let mut v = Vec::new();
        match kind {
            FrameKind::Audio => write_opus(&mut v, &h, 80),
            FrameKind::Video => write_vp8(&mut v, &h, false, 320, 180, 500),
        }
        v
    }

    #[test]
    fn counts_loss_delay_and_foreign_frames_per_mid() {
        let (mut t, mut s) = (Tracks::default(), Snap::default());
        let (a, v) = (Mid::from("a"), Mid::from("v"));
        for seq in [0, 1, 3] {
            t.record(
                a,
                FrameKind::Audio,
                &frame(FrameKind::Audio, seq),
                1_020_000,
                &mut s,
            );
        }
        t.record(
            v,
            FrameKind::Video,
            &frame(FrameKind::Video, 10),
            1_030_000,
            &mut s,
        );
        // A late frame is not counted as received in order: 2 stays lost.
        t.record(
            a,
            FrameKind::Audio,
            &frame(FrameKind::Audio, 2),
            1_040_000,
            &mut s,
        );
        assert_eq!((s.frames_in, s.expected, s.lost), (5, 5, 1));
        assert_eq!(s.delay.count(), 5);
        t.record(v, FrameKind::Video, b"not one of ours", 1_050_000, &mut s);
        assert_eq!((s.foreign, s.frames_in), (1, 6));
        let mut bad = frame(FrameKind::Video, 11);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        t.record(v, FrameKind::Video, &bad, 1_060_000, &mut s);
        assert_eq!(s.corrupt, 1);
    }
}
