//! Per-subscriber rewriting of forwarded packets, so that each outgoing stream looks like one
//! continuous stream although simulcast switches splice layers with their own sequence numbers,
//! RTP clocks and VP8 picture ids together.

use std::time::Instant;

use str0m::media::MediaTime;
use str0m::rtp::Vp8Patch;

use crate::packet::InPacket;

/// The header fields and payload patch of one packet as a subscriber receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rewritten {
    pub seq: u64,
    pub time: u32,
    /// The same time without the wrap to 32 bits (for the recorder's clock).
    pub time_ext: u64,
    pub vp8_patch: Option<Vp8Patch>,
}

/// Rewriting state of one subscriber's stream of one track.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rewriter {
    seq: SeqMap,
    time: TimeMap,
    vp8: Vp8Map,
}

impl Rewriter {
    /// Map `p` onto this stream; `splice` is true for the first packet after a layer switch
    /// (or a pause). `None`: the packet belongs before the splice and must not be sent.
    pub(crate) fn rewrite(&mut self, p: &InPacket, splice: bool) -> Option<Rewritten> {
        let seq = self.seq.map(*p.seq, splice)?;
        let time = self.time.map(p.time, p.arrival, splice);
        let vp8_patch = p.vp8.and_then(|ids| self.vp8.patch(&ids, splice));
        // RTP carries the low 32 bits of the (extended) time.
        Some(Rewritten {
            seq,
            time: time.numer() as u32,
            time_ext: time.numer(),
            vp8_patch,
        })
    }

    /// Nothing has been sent on this stream yet.
    pub(crate) fn is_fresh(&self) -> bool {
        self.seq.last.is_none()
    }
}

/// Extended sequence numbers: contiguous across splices, and starting below 2^16 so the
/// subscriber's SRTP rollover counter starts at 0 as it expects.
#[derive(Debug, Clone, Copy, Default)]
struct SeqMap {
    offset: i64,
    /// Incoming packets before this one belong to the stream before the splice.
    floor: u64,
    /// Highest outgoing sequence number so far.
    last: Option<u64>,
}

impl SeqMap {
    fn map(&mut self, input: u64, splice: bool) -> Option<u64> {
        if splice || self.last.is_none() {
            let next = self.last.map_or(input & 0xffff, |l| l + 1);
            self.offset = next as i64 - input as i64;
            self.floor = input;
        } else if input < self.floor {
            return None;
        }
        let out = (input as i64 + self.offset) as u64;
        self.last = Some(self.last.map_or(out, |l| l.max(out)));
        Some(out)
    }
}

/// Keeps a subscriber's outgoing RTP time continuous across simulcast switches, whose layers
/// may use different timestamp bases.
#[derive(Debug, Clone, Copy, Default)]
struct TimeMap {
    offset: i64,
    last: Option<(u64, Instant)>,
}

impl TimeMap {
    fn map(&mut self, t: MediaTime, wallclock: Instant, rebase: bool) -> MediaTime {
        let hz = u64::from(t.denom());
        let input = t.numer() as i64;
        if rebase {
            if let Some((last, last_wall)) = self.last {
                let elapsed = wallclock.saturating_duration_since(last_wall);
                let expected = last as i64 + (elapsed.as_micros() as i64 * hz as i64 / 1_000_000);
                let candidate = input + self.offset;
                // Same timebase (candidate plausible)? keep it; otherwise rebase on wallclock.
                if candidate <= last as i64 || (candidate - expected).abs() > hz as i64 / 2 {
                    self.offset = expected.max(last as i64 + 1) - input;
                }
            }
        }
        let out = (input + self.offset).max(0) as u64;
        self.last = Some((out, wallclock));
        MediaTime::new(out, t.frequency())
    }
}

/// VP8 PictureID and TL0PICIDX: each simulcast layer numbers its pictures on its own, and a
/// receiver that sees the ids jump backwards after a switch takes the new frames for old ones
/// and drops them. After a splice the ids continue from the last ones sent.
#[derive(Debug, Clone, Copy, Default)]
struct Vp8Map {
    picture_offset: u16,
    tl0_offset: u8,
    last_picture: Option<u16>,
    last_tl0: Option<u8>,
}

impl Vp8Map {
    fn patch(&mut self, ids: &crate::packet::Vp8Ids, splice: bool) -> Option<Vp8Patch> {
        let picture = ids.picture_id.map(|(id, long)| {
            let modulus: u32 = if long { 1 << 15 } else { 1 << 7 };
            if splice {
                if let Some(last) = self.last_picture {
                    self.picture_offset = ((u32::from(last) + 1 + modulus
                        - u32::from(id) % modulus)
                        % modulus) as u16;
                }
            }
            let out = ((u32::from(id) + u32::from(self.picture_offset)) % modulus) as u16;
            self.last_picture = Some(out);
            out
        });
        let tl0 = ids.tl0_pic_idx.map(|idx| {
            if splice {
                if let Some(last) = self.last_tl0 {
                    self.tl0_offset = last.wrapping_add(1).wrapping_sub(idx);
                }
            }
            let out = idx.wrapping_add(self.tl0_offset);
            self.last_tl0 = Some(out);
            out
        });
        if self.picture_offset == 0 && self.tl0_offset == 0 {
            return None;
        }
        let mut b = ids.descriptor.patch();
        if let Some(id) = picture {
            b = b.picture_id(id);
        }
        if let Some(idx) = tl0 {
            b = b.tl0_pic_idx(idx);
        }
        // Both fields were parsed from this descriptor and fit their widths, so this holds.
        b.build().ok()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use str0m::format::{Codec, CodecSpec, FormatParams, PayloadParams};
    use str0m::media::{Frequency, Pt};

    use super::*;
    use crate::packet::vp8_ids;

    fn packet(seq: u64, time: u64, at: Instant, picture_id: u16, tl0: u8) -> InPacket {
        let payload: Vec<u8> = vec![
            0x90,
            0xe0,
            0x80 | (picture_id >> 8) as u8,
            picture_id as u8,
            tl0,
            0,
            0x11,
            0,
            0,
        ];
        let spec = CodecSpec {
            codec: Codec::Vp8,
            clock_rate: Frequency::NINETY_KHZ,
            channels: None,
            format: FormatParams::default(),
        };
        InPacket {
            mid: "v".into(),
            rid: None,
            params: PayloadParams::new(Pt::from(96), None, spec),
            seq: seq.into(),
            time: MediaTime::new(time, Frequency::NINETY_KHZ),
            marker: false,
            audio_level: None,
            voice_activity: None,
            arrival: at,
            vp8: vp8_ids(&payload),
            payload: Arc::from(payload),
            keyframe_start: false,
        }
    }

    #[test]
    fn sequence_numbers_continue_across_a_splice_and_start_below_2_16() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        let a = r.rewrite(&packet(200_000, 9000, t0, 10, 1), true).unwrap();
        assert_eq!(a.seq, 200_000 & 0xffff);
        let b = r.rewrite(&packet(200_001, 9000, t0, 10, 1), false).unwrap();
        assert_eq!(b.seq, a.seq + 1);
        // Another layer, with its own numbering, spliced in.
        let c = r.rewrite(&packet(5, 40_000, t0, 500, 77), true).unwrap();
        assert_eq!(c.seq, b.seq + 1);
        let d = r.rewrite(&packet(7, 40_000, t0, 500, 77), false).unwrap();
        assert_eq!(d.seq, b.seq + 3, "a gap upstream stays a gap");
        // A late packet from before the splice is not sent.
        assert_eq!(r.rewrite(&packet(4, 40_000, t0, 500, 77), false), None);
        // A late packet after the splice goes out with its own number.
        let e = r.rewrite(&packet(6, 40_000, t0, 500, 77), false).unwrap();
        assert_eq!(e.seq, b.seq + 2);
    }

    #[test]
    fn picture_ids_continue_across_a_splice() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        let a = r.rewrite(&packet(1, 9000, t0, 10, 1), true).unwrap();
        assert_eq!(
            a.vp8_patch, None,
            "nothing to patch before the first switch"
        );
        r.rewrite(&packet(2, 12000, t0, 11, 2), false).unwrap();
        // The new layer's ids are lower: patched to continue at 12 and 3.
        let p = packet(900, 15000, t0 + Duration::from_millis(33), 3, 200);
        let b = r.rewrite(&p, true).unwrap();
        let patch = b.vp8_patch.expect("ids rewritten after the switch");
        let want = vp8_ids(&[0x90, 0xe0, 0x80, 12, 3, 0, 0x11])
            .unwrap()
            .descriptor
            .patch()
            .picture_id(12)
            .tl0_pic_idx(3)
            .build()
            .unwrap();
        assert_eq!(patch, want);
        // And the offset stays for the following pictures, wrapping at 2^15.
        let mut r = Rewriter::default();
        r.rewrite(&packet(1, 9000, t0, 0x7fff, 255), true).unwrap();
        r.rewrite(&packet(9, 9000, t0, 100, 9), true).unwrap();
        let next = r.rewrite(&packet(10, 12000, t0, 101, 10), false).unwrap();
        let want = vp8_ids(&[0x90, 0xe0, 0x80, 0, 1, 0, 0x11])
            .unwrap()
            .descriptor
            .patch()
            .picture_id(1)
            .tl0_pic_idx(1)
            .build()
            .unwrap();
        assert_eq!(next.vp8_patch, Some(want));
    }

    #[test]
    fn time_continues_across_a_splice_to_another_clock_base() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        let a = r.rewrite(&packet(1, 90_000, t0, 1, 1), true).unwrap();
        // 100 ms later, a layer whose clock started elsewhere.
        let t1 = t0 + Duration::from_millis(100);
        let b = r.rewrite(&packet(50, 5_000_000, t1, 1, 1), true).unwrap();
        assert_eq!(b.time - a.time, 9_000);
    }
}
