//! Synthetic media frames that a receiver can measure exactly.
//!
//! Every frame starts with the codec's own header, so that the bitstream start stays valid for
//! anything that inspects it (the SFU's keyframe detection, str0m's depacketizer):
//! a 1-byte Opus TOC, or the 3-byte VP8 frame tag (10 bytes for a keyframe: tag, start code,
//! width, height). Right after it comes a [`FrameHeader`], then deterministic filler up to the
//! requested size, so corruption can be detected too.

use std::time::{SystemTime, UNIX_EPOCH};

/// Marks our frames; the last byte is the format version.
pub const MAGIC: [u8; 4] = *b"CVN1";
/// Encoded size of a [`FrameHeader`].
pub const HEADER_LEN: usize = 22;
/// Opus TOC: config 31 (CELT fullband 20 ms), mono, one frame.
const OPUS_TOC: u8 = 0xF8;
const VP8_START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    Audio,
    Video,
}

/// What the sender wrote at the start of each frame's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: FrameKind,
    /// Simulcast layer, 0 = lowest; 0 for audio.
    pub layer: u8,
    /// Identifies the sender: [`sender_id`] of its participant id.
    pub sender: u32,
    /// Audio: frame counter (one per 20 ms). Video: picture counter, shared by all layers, so a
    /// layer switch keeps the sequence continuous.
    pub seq: u32,
    /// Send time, microseconds since the Unix epoch (a clock shared by processes on one host).
    pub sent_us: u64,
}

impl FrameHeader {
    pub fn encode(&self, out: &mut [u8; HEADER_LEN]) {
        out[..4].copy_from_slice(&MAGIC);
        out[4] = match self.kind {
            FrameKind::Audio => b'A',
            FrameKind::Video => b'V',
        };
        out[5] = self.layer;
        out[6..10].copy_from_slice(&self.sender.to_be_bytes());
        out[10..14].copy_from_slice(&self.seq.to_be_bytes());
        out[14..22].copy_from_slice(&self.sent_us.to_be_bytes());
    }

    pub fn decode(b: &[u8]) -> Option<FrameHeader> {
        let b: &[u8; HEADER_LEN] = b.get(..HEADER_LEN)?.try_into().ok()?;
        if b[..4] != MAGIC {
            return None;
        }
        let kind = match b[4] {
            b'A' => FrameKind::Audio,
            b'V' => FrameKind::Video,
            _ => return None,
        };
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut t = [0u8; 8];
        t.copy_from_slice(&b[14..22]);
        Some(FrameHeader {
            kind,
            layer: b[5],
            sender: u32_at(6),
            seq: u32_at(10),
            sent_us: u64::from_be_bytes(t),
        })
    }
}

/// A stable 32-bit id for a participant (FNV-1a), so receivers can tell senders apart.
pub fn sender_id(participant: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in participant.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Microseconds since the Unix epoch.
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// True when a VP8 frame (the bitstream, not an RTP payload) is a keyframe: the frame tag's
/// inverse-key-frame bit is 0 and the keyframe start code follows.
pub fn vp8_is_keyframe(frame: &[u8]) -> bool {
    frame.len() >= 10 && frame[0] & 1 == 0 && frame[3..6] == VP8_START_CODE
}

/// Writes a synthetic VP8 frame of `size` bytes (at least the headers) into `out` (cleared first).
pub fn write_vp8(
    out: &mut Vec<u8>,
    header: &FrameHeader,
    key: bool,
    width: u16,
    height: u16,
    size: usize,
) {
    out.clear();
    let codec_len = if key { 10 } else { 3 };
    let total = size.max(codec_len + HEADER_LEN);
    // Frame tag (RFC 6386 9.1): bit 0 = !key, bits 1-3 version 0, bit 4 show_frame, then the
    // 19-bit first partition size; we claim the whole rest is the first partition.
    let part = ((total - codec_len) as u32).min((1 << 19) - 1);
    let tag = u32::from(!key) | (1 << 4) | (part << 5);
    out.extend_from_slice(&tag.to_le_bytes()[..3]);
    if key {
        out.extend_from_slice(&VP8_START_CODE);
        // 14-bit dimensions, scale bits 0.
        out.extend_from_slice(&(width & 0x3fff).to_le_bytes());
        out.extend_from_slice(&(height & 0x3fff).to_le_bytes());
    }
    push_header_and_filler(out, header, total);
}

/// Writes a synthetic Opus packet of `size` bytes into `out` (cleared first).
pub fn write_opus(out: &mut Vec<u8>, header: &FrameHeader, size: usize) {
    out.clear();
    out.push(OPUS_TOC);
    push_header_and_filler(out, header, size.max(1 + HEADER_LEN));
}

fn push_header_and_filler(out: &mut Vec<u8>, header: &FrameHeader, total: usize) {
    let mut h = [0u8; HEADER_LEN];
    header.encode(&mut h);
    out.extend_from_slice(&h);
    let start = out.len();
    out.extend((start..total).map(|i| filler(header, i)));
}

fn filler(h: &FrameHeader, i: usize) -> u8 {
    (h.seq.wrapping_mul(31).wrapping_add(i as u32) ^ h.sender) as u8
}

/// A frame as a receiver reads it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedFrame {
    pub header: FrameHeader,
    /// For video: the VP8 frame tag says keyframe.
    pub keyframe: bool,
    /// The filler after the header is exactly what the sender wrote.
    pub intact: bool,
}

/// Reads back a frame made by [`write_vp8`] / [`write_opus`]; None if it is not one of ours.
pub fn parse_frame(kind: FrameKind, data: &[u8]) -> Option<ParsedFrame> {
    let (mut p, start) = parse_frame_start(kind, data)?;
    p.intact = filler_matches(&p.header, start, &data[start..]);
    Some(p)
}

/// Reads the headers from the start of a frame (its first RTP packet is enough): the frame
/// with `intact` still true, and the offset where the filler starts. None if not ours.
pub fn parse_frame_start(kind: FrameKind, data: &[u8]) -> Option<(ParsedFrame, usize)> {
    let (offset, keyframe) = match kind {
        FrameKind::Audio => (1, false),
        FrameKind::Video => {
            let key = vp8_is_keyframe(data);
            (if key { 10 } else { 3 }, key)
        }
    };
    let header = FrameHeader::decode(data.get(offset..)?)?;
    if header.kind != kind {
        return None;
    }
    let frame = ParsedFrame {
        header,
        keyframe,
        intact: true,
    };
    Some((frame, offset + HEADER_LEN))
}

/// True if `bytes`, found at `offset` in a frame with `header`, are the filler the sender wrote
/// there (offsets inside the headers are not filler: don't pass those).
pub fn filler_matches(header: &FrameHeader, offset: usize, bytes: &[u8]) -> bool {
    // Byte i of the filler is `(base + i) ^ key` in its low 8 bits. Every byte is checked, with
    // no early exit, so that the loop runs on vector registers: a receiver checks every byte it
    // gets, ~1,100 a video packet.
    let base = filler(header, offset) ^ header.sender as u8;
    let key = header.sender as u8;
    let diff = bytes.iter().enumerate().fold(0u8, |acc, (j, b)| {
        acc | (*b ^ (base.wrapping_add(j as u8) ^ key))
    });
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(kind: FrameKind) -> FrameHeader {
        FrameHeader {
            kind,
            layer: 2,
            sender: sender_id("p_abc"),
            seq: 0xdead_beef,
            sent_us: 1_732_190_000_123_456,
        }
    }

    #[test]
    fn header_round_trips() {
        for kind in [FrameKind::Audio, FrameKind::Video] {
            let h = hdr(kind);
            let mut b = [0u8; HEADER_LEN];
            h.encode(&mut b);
            assert_eq!(&b[..4], b"CVN1");
            assert_eq!(FrameHeader::decode(&b), Some(h));
        }
    }

    #[test]
    fn header_refuses_garbage() {
        let mut b = [0u8; HEADER_LEN];
        hdr(FrameKind::Audio).encode(&mut b);
        assert_eq!(FrameHeader::decode(&b[..HEADER_LEN - 1]), None, "short");
        let mut bad = b;
        bad[0] = b'X';
        assert_eq!(FrameHeader::decode(&bad), None, "magic");
        let mut bad = b;
        bad[4] = b'Z';
        assert_eq!(FrameHeader::decode(&bad), None, "kind");
    }

    #[test]
    fn vp8_keyframes_are_marked() {
        let mut v = Vec::new();
        write_vp8(&mut v, &hdr(FrameKind::Video), true, 1280, 720, 3000);
        assert_eq!(v.len(), 3000);
        assert!(vp8_is_keyframe(&v));
        assert_eq!(v[0] & 1, 0, "P bit clear on a keyframe");
        assert_eq!(v[0] & 0x10, 0x10, "show_frame");
        assert_eq!(u16::from_le_bytes([v[6], v[7]]), 1280);
        assert_eq!(u16::from_le_bytes([v[8], v[9]]), 720);
        let part = u32::from_le_bytes([v[0], v[1], v[2], 0]) >> 5;
        assert_eq!(part as usize, 3000 - 10);

        write_vp8(&mut v, &hdr(FrameKind::Video), false, 1280, 720, 1000);
        assert_eq!(v.len(), 1000);
        assert!(!vp8_is_keyframe(&v));
        assert_eq!(v[0] & 1, 1, "P bit set on a delta frame");
    }

    #[test]
    fn frames_parse_back() {
        let mut v = Vec::new();
        for key in [true, false] {
            let h = hdr(FrameKind::Video);
            write_vp8(&mut v, &h, key, 320, 180, 600);
            let p = parse_frame(FrameKind::Video, &v).expect("ours");
            assert_eq!(p.header, h);
            assert_eq!(p.keyframe, key);
            assert!(p.intact);
        }
        let h = hdr(FrameKind::Audio);
        write_opus(&mut v, &h, 80);
        assert_eq!(v.len(), 80);
        assert_eq!(v[0], OPUS_TOC);
        let p = parse_frame(FrameKind::Audio, &v).expect("ours");
        assert_eq!(p.header, h);
        assert!(p.intact);
        // A flipped filler byte is noticed; the wrong kind is refused.
        v[50] ^= 1;
        assert!(!parse_frame(FrameKind::Audio, &v).expect("ours").intact);
        assert_eq!(parse_frame(FrameKind::Video, &v), None);
    }

    #[test]
    fn a_flipped_filler_byte_is_noticed_wherever_it_is() {
        let h = hdr(FrameKind::Video);
        let mut v = Vec::new();
        write_vp8(&mut v, &h, false, 640, 360, 1400);
        let start = 3 + HEADER_LEN;
        assert!(filler_matches(&h, start, &v[start..]));
        for i in start..v.len() {
            v[i] ^= 0x80;
            assert!(!filler_matches(&h, start, &v[start..]), "byte {i}");
            v[i] ^= 0x80;
        }
    }

    #[test]
    fn a_frame_can_be_checked_piece_by_piece() {
        let h = hdr(FrameKind::Video);
        let mut v = Vec::new();
        write_vp8(&mut v, &h, false, 640, 360, 2500);
        let (p, start) = parse_frame_start(FrameKind::Video, &v[..1000]).expect("ours");
        assert_eq!((p.header, p.keyframe, p.intact), (h, false, true));
        assert_eq!(start, 3 + HEADER_LEN);
        assert!(filler_matches(&h, start, &v[start..1000]));
        assert!(filler_matches(&h, 1000, &v[1000..]));
        // The right bytes at the wrong offset, or from another frame, do not match.
        assert!(!filler_matches(&h, 1001, &v[1000..]));
        let other = FrameHeader {
            seq: h.seq + 1,
            ..h
        };
        assert!(!filler_matches(&other, 1000, &v[1000..]));
        assert_eq!(
            parse_frame_start(FrameKind::Video, &v[..20]),
            None,
            "too short"
        );
    }

    #[test]
    fn tiny_sizes_still_hold_the_headers() {
        let mut v = Vec::new();
        write_vp8(&mut v, &hdr(FrameKind::Video), true, 16, 16, 1);
        assert_eq!(v.len(), 10 + HEADER_LEN);
        assert!(parse_frame(FrameKind::Video, &v).is_some());
        write_opus(&mut v, &hdr(FrameKind::Audio), 0);
        assert_eq!(v.len(), 1 + HEADER_LEN);
    }

    #[test]
    fn sender_ids_differ() {
        assert_ne!(sender_id("p_a"), sender_id("p_b"));
        assert_eq!(sender_id("p_a"), sender_id("p_a"));
    }
}
