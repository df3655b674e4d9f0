//! Receiving in packet mode (str0m's RTP mode): our frames are checked packet by packet as they
//! arrive, without str0m's depacketizer, jitter buffer or a copy of each frame.
//!
//! A frame counts as received when all its RTP packets arrived, as in frame mode: the first one
//! (VP8: S bit and partition 0; Opus: every packet) carries our header, the filler of every
//! packet is checked at its offset in the frame, and the RTP marker bit ends a video frame. A
//! packet after a gap is held (up to [`VIDEO_HOLD`] packets or [`MAX_HOLD`]) so that a
//! retransmission can still complete its frame; past that the gap is given up and the frame
//! that lacked the packet is lost. Audio is never held: every Opus packet is a whole frame, and
//! a late one is recorded at once (as out of order).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::frame::{filler_matches, parse_frame_start, FrameKind, ParsedFrame};

/// Video packets held behind a gap: str0m's default reordering size for video in frame mode.
pub(crate) const VIDEO_HOLD: usize = 30;
/// A gap whose first held packet waited this long is given up (a retransmission on a working
/// path comes within a few round trips).
pub(crate) const MAX_HOLD: Duration = Duration::from_millis(250);

/// One frame whose packets all arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    /// Codec payload bytes (VP8 bitstream or Opus packet), as frame mode counts them.
    pub bytes: usize,
    /// VP8: the frame tag says keyframe.
    pub keyframe: bool,
    /// False if packets were given up since the previous complete frame.
    pub contiguous: bool,
    /// Arrival of the packet that completed it.
    pub at: Instant,
    /// None: not one of our frames.
    pub parsed: Option<ParsedFrame>,
}

/// A frame whose first packets arrived in order.
struct Partial {
    parsed: Option<ParsedFrame>,
    keyframe: bool,
    /// Payload bytes so far: the offset of the next packet's data in the frame.
    offset: usize,
}

struct Held {
    seq: u64,
    marker: bool,
    at: Instant,
    payload: Box<[u8]>,
}

/// Packet-mode receive state of one track.
/// Packet mode: one track's reassembly of frames from RTP packets (opaque outside the crate).
pub struct Assembler {
    kind: FrameKind,
    hold: usize,
    /// The RTP stream (SSRC) the sequence numbers belong to; another one starts afresh.
    ssrc: Option<u32>,
    next_seq: Option<u64>,
    cur: Option<Partial>,
    /// Packets after a gap, ascending sequence numbers, all above `next_seq`.
    held: VecDeque<Held>,
    gap: bool,
    /// The frame being assembled, when the caller wants payloads (tests compare them).
    keep: Option<Vec<u8>>,
    /// Packets that came after their frame was given up (video) and could not be used.
    pub late_packets: u64,
}

impl Assembler {
    pub(crate) fn new(kind: FrameKind, keep_payload: bool) -> Self {
        Assembler {
            kind,
            hold: match kind {
                FrameKind::Audio => 0,
                FrameKind::Video => VIDEO_HOLD,
            },
            ssrc: None,
            next_seq: None,
            cur: None,
            held: VecDeque::new(),
            gap: false,
            keep: keep_payload.then(Vec::new),
            late_packets: 0,
        }
    }

    /// Takes one RTP packet of stream `ssrc` (`seq` extended, `payload` without the RTP header,
    /// after SRTP) and calls `done` for every frame it completes, with the payload if kept.
    pub(crate) fn push(
        &mut self,
        ssrc: u32,
        seq: u64,
        marker: bool,
        payload: &[u8],
        at: Instant,
        done: &mut impl FnMut(Frame, Option<&[u8]>),
    ) {
        if self.ssrc != Some(ssrc) {
            // A new stream on this track: its numbers have nothing to do with the old ones.
            if self.ssrc.is_some() {
                self.abandon();
            }
            self.ssrc = Some(ssrc);
            self.next_seq = None;
            self.held.clear();
        }
        let next = *self.next_seq.get_or_insert(seq);
        if seq < next {
            if self.kind == FrameKind::Audio {
                // A whole frame, only late: counted (out of order) by its own sequence number.
                self.consume(marker, payload, at, done);
            } else {
                self.late_packets += 1;
            }
            return;
        }
        if seq > next {
            if self.hold == 0 {
                self.give_up(seq);
            } else {
                self.hold_packet(seq, marker, payload, at);
                while self.held.len() > self.hold
                    || self
                        .held
                        .front()
                        .is_some_and(|h| at.saturating_duration_since(h.at) > MAX_HOLD)
                {
                    let first = self.held.front().map_or(next, |h| h.seq);
                    self.give_up(first);
                    self.release(done);
                }
                return;
            }
        }
        self.consume(marker, payload, at, done);
        self.next_seq = Some(seq + 1);
        self.release(done);
    }

    fn hold_packet(&mut self, seq: u64, marker: bool, payload: &[u8], at: Instant) {
        let i = self.held.partition_point(|h| h.seq < seq);
        if self.held.get(i).is_some_and(|h| h.seq == seq) {
            return;
        }
        let h = Held {
            seq,
            marker,
            at,
            payload: payload.into(),
        };
        self.held.insert(i, h);
    }

    /// The frame being assembled cannot be completed: it is lost.
    fn abandon(&mut self) {
        self.cur = None;
        self.gap = true;
    }

    /// Stops waiting for the packets before `seq`.
    fn give_up(&mut self, seq: u64) {
        self.abandon();
        self.next_seq = Some(seq);
    }

    /// Consumes held packets that are now in order.
    fn release(&mut self, done: &mut impl FnMut(Frame, Option<&[u8]>)) {
        while self
            .held
            .front()
            .is_some_and(|h| Some(h.seq) == self.next_seq)
        {
            if let Some(h) = self.held.pop_front() {
                self.consume(h.marker, &h.payload, h.at, done);
                self.next_seq = Some(h.seq + 1);
            }
        }
    }

    /// One packet, in order.
    fn consume(
        &mut self,
        marker: bool,
        payload: &[u8],
        at: Instant,
        done: &mut impl FnMut(Frame, Option<&[u8]>),
    ) {
        let (start, data) = match self.kind {
            FrameKind::Audio => (true, payload),
            FrameKind::Video => match vp8_descriptor(payload) {
                Some((start, at)) => (start, &payload[at..]),
                None => {
                    // Not VP8 as RFC 7741 packs it: the frame it belongs to cannot be read.
                    self.abandon();
                    return;
                }
            },
        };
        // Where the filler starts in this packet's data (after the headers, in a first packet).
        let mut filler_at = 0;
        if start {
            if self.cur.is_some() {
                // The previous frame never got its last packet.
                self.gap = true;
            }
            let parsed = parse_frame_start(self.kind, data);
            filler_at = parsed.map_or(0, |(_, at)| at);
            self.cur = Some(Partial {
                parsed: parsed.map(|(p, _)| p),
                keyframe: self.kind == FrameKind::Video && data.first().is_some_and(|b| b & 1 == 0),
                offset: 0,
            });
            if let Some(k) = &mut self.keep {
                k.clear();
            }
        }
        let Some(cur) = &mut self.cur else {
            // The middle of a frame whose start was lost (or came before we did).
            return;
        };
        if let Some(p) = &mut cur.parsed {
            let rest = data.get(filler_at..).unwrap_or_default();
            p.intact &= filler_matches(&p.header, cur.offset + filler_at, rest);
        }
        cur.offset += data.len();
        if let Some(k) = &mut self.keep {
            k.extend_from_slice(data);
        }
        if self.kind == FrameKind::Audio || marker {
            let Some(cur) = self.cur.take() else {
                return;
            };
            let f = Frame {
                bytes: cur.offset,
                keyframe: cur.keyframe,
                contiguous: !std::mem::take(&mut self.gap),
                at,
                parsed: cur.parsed,
            };
            done(f, self.keep.as_deref());
        }
    }
}

/// From an RFC 7741 VP8 payload descriptor: (first packet of a frame, offset of the VP8 data).
pub(crate) fn vp8_descriptor(p: &[u8]) -> Option<(bool, usize)> {
    let b0 = *p.first()?;
    // S: start of a partition; PID 0: the first partition, so the start of the frame.
    let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let x = *p.get(i)?;
        i += 1;
        if x & 0x80 != 0 {
            // PictureID, 15 bits when its M bit is set.
            i += if *p.get(i)? & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            i += 1; // TID / Y / KEYIDX
        }
    }
    (i <= p.len()).then_some((start, i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{sender_id, write_opus, write_vp8, FrameHeader};
    use std::sync::Arc;

    fn header(kind: FrameKind, seq: u32) -> FrameHeader {
        FrameHeader {
            kind,
            layer: 1,
            sender: sender_id("p_pub"),
            seq,
            sent_us: 1_700_000_000_000_000 + u64::from(seq),
        }
    }

    /// (sequence number, marker bit, payload) of one RTP packet.
    type Rtp = (u64, bool, Arc<[u8]>);

    /// A VP8 frame cut into RTP payloads as str0m's packetizer does it (descriptor with a 7-bit
    /// PictureID), at most `mtu` bytes of frame each; the bool is the marker bit.
    fn packetize(frame: &[u8], mtu: usize, pid: u8) -> Vec<(bool, Arc<[u8]>)> {
        let chunks: Vec<&[u8]> = frame.chunks(mtu).collect();
        let n = chunks.len();
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let s = if i == 0 { 0x10 } else { 0 };
                let mut p = vec![0x80 | s, 0x80, pid & 0x7f];
                p.extend_from_slice(c);
                (i + 1 == n, Arc::from(p))
            })
            .collect()
    }

    fn video_frame(seq: u32, key: bool, size: usize) -> Vec<u8> {
        let mut v = Vec::new();
        write_vp8(&mut v, &header(FrameKind::Video, seq), key, 640, 360, size);
        v
    }

    /// Feeds `packets` (seq, marker, payload) and returns the frames completed, with payloads.
    fn feed(a: &mut Assembler, packets: &[Rtp], at: Instant) -> Vec<(Frame, Vec<u8>)> {
        let mut out = Vec::new();
        for (seq, marker, p) in packets {
            a.push(7, *seq, *marker, p, at, &mut |f, data| {
                out.push((f, data.unwrap_or_default().to_vec()))
            });
        }
        out
    }

    /// Three frames of 2, 3 and 1 packets, numbered from 100.
    fn three_frames() -> (Vec<Vec<u8>>, Vec<Rtp>) {
        let frames = vec![
            video_frame(0, true, 2000),
            video_frame(1, false, 2500),
            video_frame(2, false, 900),
        ];
        let mut packets = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            for (marker, p) in packetize(f, 1000, i as u8) {
                packets.push((100 + packets.len() as u64, marker, p));
            }
        }
        (frames, packets)
    }

    #[test]
    fn descriptors_of_every_shape() {
        assert_eq!(vp8_descriptor(&[0x10, 9]), Some((true, 1)));
        assert_eq!(vp8_descriptor(&[0x00, 9]), Some((false, 1)));
        // S set but a later partition: not the start of the frame.
        assert_eq!(vp8_descriptor(&[0x11, 9]), Some((false, 1)));
        // X, I with a 7-bit and a 15-bit PictureID.
        assert_eq!(vp8_descriptor(&[0x90, 0x80, 0x05, 9]), Some((true, 3)));
        assert_eq!(
            vp8_descriptor(&[0x90, 0x80, 0x85, 0x01, 9]),
            Some((true, 4))
        );
        // X with I, L, T and K all set.
        assert_eq!(
            vp8_descriptor(&[0x90, 0xf0, 0x85, 0x01, 3, 0x20, 9]),
            Some((true, 6))
        );
        assert_eq!(vp8_descriptor(&[]), None);
        assert_eq!(vp8_descriptor(&[0x90]), None);
        assert_eq!(vp8_descriptor(&[0x90, 0x80, 0x85]), None);
    }

    #[test]
    fn frames_in_order_come_out_whole_and_checked() {
        let (frames, packets) = three_frames();
        assert_eq!(packets.len(), 6);
        let mut a = Assembler::new(FrameKind::Video, true);
        let out = feed(&mut a, &packets, Instant::now());
        assert_eq!(out.len(), 3);
        for (i, (f, data)) in out.iter().enumerate() {
            assert_eq!(data, &frames[i], "frame {i} reassembled byte for byte");
            assert_eq!(f.bytes, frames[i].len());
            assert_eq!(f.keyframe, i == 0);
            assert!(f.contiguous);
            let p = f.parsed.expect("ours");
            assert_eq!(p.header, header(FrameKind::Video, i as u32));
            assert!(p.intact, "frame {i}");
        }
        assert_eq!(a.late_packets, 0);
    }

    #[test]
    fn a_flipped_byte_in_a_later_packet_is_noticed() {
        let (_, mut packets) = three_frames();
        let mut p = packets[3].2.to_vec();
        p[500] ^= 0x40;
        packets[3].2 = Arc::from(p);
        let out = feed(
            &mut Assembler::new(FrameKind::Video, false),
            &packets,
            Instant::now(),
        );
        let intact: Vec<bool> = out.iter().map(|(f, _)| f.parsed.unwrap().intact).collect();
        assert_eq!(intact, [true, false, true]);
    }

    #[test]
    fn a_lost_packet_loses_its_frame_once_the_hold_is_full() {
        let (_, mut packets) = three_frames();
        packets.remove(3); // the middle packet of frame 1
        let t = Instant::now();
        let mut a = Assembler::new(FrameKind::Video, false);
        let out = feed(&mut a, &packets, t);
        // Frame 2 waits behind the gap (a retransmission could still come).
        assert_eq!(out.len(), 1);
        // More frames: the hold overflows and the gap is given up.
        let mut more = Vec::new();
        for seq in 3..3 + VIDEO_HOLD as u32 {
            let f = video_frame(seq, false, 300);
            for (marker, p) in packetize(&f, 1000, seq as u8) {
                more.push((106 + more.len() as u64, marker, p));
            }
        }
        let out2 = feed(&mut a, &more, t);
        let seqs: Vec<u32> = out2
            .iter()
            .map(|(f, _)| f.parsed.unwrap().header.seq)
            .collect();
        assert_eq!(seqs[0], 2, "frame 1 is skipped: {seqs:?}");
        assert!(!out2[0].0.contiguous, "the frame after the gap says so");
        assert!(out2[1..].iter().all(|(f, _)| f.contiguous));
        assert_eq!(seqs.len(), 1 + VIDEO_HOLD, "{seqs:?}");
        // The lost packet, retransmitted too late, is counted and ignored.
        feed(&mut a, &[(103, false, Arc::from(vec![0u8; 10]))], t);
        assert_eq!(a.late_packets, 1);
    }

    #[test]
    fn a_retransmission_completes_a_held_frame() {
        let (frames, mut packets) = three_frames();
        let missing = packets.remove(3);
        let t = Instant::now();
        let mut a = Assembler::new(FrameKind::Video, true);
        let mut out = feed(&mut a, &packets, t);
        assert_eq!(out.len(), 1);
        out.extend(feed(&mut a, &[missing], t + Duration::from_millis(30)));
        assert_eq!(out.len(), 3);
        for (i, (f, data)) in out.iter().enumerate() {
            assert_eq!(data, &frames[i]);
            assert!(f.contiguous && f.parsed.unwrap().intact);
        }
    }

    #[test]
    fn a_gap_is_given_up_after_the_longest_hold() {
        let (_, mut packets) = three_frames();
        packets.remove(3);
        let t = Instant::now();
        let mut a = Assembler::new(FrameKind::Video, false);
        assert_eq!(feed(&mut a, &packets[..4], t).len(), 1);
        // The last packet comes after the hold time: frame 2 is released, frame 1 is lost.
        let out = feed(&mut a, &packets[4..], t + MAX_HOLD * 2);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0.parsed.unwrap().header.seq, 2);
    }

    #[test]
    fn audio_packets_are_frames_and_late_ones_still_count() {
        let mut a = Assembler::new(FrameKind::Audio, false);
        let pkt = |seq: u32| {
            let mut v = Vec::new();
            write_opus(&mut v, &header(FrameKind::Audio, seq), 80);
            Arc::<[u8]>::from(v)
        };
        let t = Instant::now();
        let out = feed(
            &mut a,
            &[
                (10, true, pkt(0)),
                (11, false, pkt(1)),
                (13, false, pkt(3)),
                (12, false, pkt(2)),
            ],
            t,
        );
        let got: Vec<(u32, bool)> = out
            .iter()
            .map(|(f, _)| (f.parsed.unwrap().header.seq, f.contiguous))
            .collect();
        assert_eq!(got, [(0, true), (1, true), (3, false), (2, true)]);
        assert!(out.iter().all(|(f, _)| f.bytes == 80 && !f.keyframe));
    }

    #[test]
    fn a_new_stream_starts_afresh_and_foreign_frames_are_told_apart() {
        let mut a = Assembler::new(FrameKind::Video, false);
        let t = Instant::now();
        let mut n = 0;
        let mut count = |f: Frame, _: Option<&[u8]>| {
            assert!(f.parsed.is_none(), "not ours");
            n += 1;
        };
        let junk: Arc<[u8]> = Arc::from(vec![0x10, 1, 2, 3, 4, 5, 6, 7]);
        a.push(1, 5000, true, &junk, t, &mut count);
        // Another SSRC with lower numbers: not late, a new stream.
        a.push(2, 10, true, &junk, t, &mut count);
        assert_eq!(n, 2);
        assert_eq!(a.late_packets, 0);
    }
}
