//! Helpers shared by the track file tests: frames as sent, and the comparison with what is read back.
#![allow(dead_code)] // each test binary uses its own share of these

use std::path::Path;
use std::time::Duration;

use convene_record::synth::vp8_keyframe_header;
use convene_record::{Frame, FrameSize, ReadFrame, TrackSpec, TrackWriter};

/// A frame as sent, kept to compare with what is read back.
#[derive(Clone, Debug)]
pub struct Sent {
    pub pts: Duration,
    pub keyframe: bool,
    pub data: Vec<u8>,
}

impl Sent {
    pub fn frame(&self) -> Frame<'_> {
        Frame {
            pts: self.pts,
            keyframe: self.keyframe,
            data: &self.data,
        }
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A VP8 frame: a real keyframe header (so the size parser runs) or an inter-frame tag, then
/// distinct filler bytes.
pub fn vp8(pts: u64, keyframe: bool, size: FrameSize, seq: u32) -> Sent {
    let mut data = if keyframe {
        vp8_keyframe_header(size).to_vec()
    } else {
        vec![0x11, 0x02, 0x00] // frame tag, bit 0 set: inter frame
    };
    data.extend((0..200 + seq % 50).map(|i| (i ^ seq) as u8));
    Sent {
        pts: ms(pts),
        keyframe,
        data,
    }
}

/// An Opus packet: TOC byte 0xfc (CELT fullband 20 ms, one frame), then filler.
pub fn opus(pts: u64, seq: u32) -> Sent {
    let mut data = vec![0xfc];
    data.extend((0..60 + seq % 20).map(|i| i.wrapping_mul(seq + 7) as u8));
    Sent {
        pts: ms(pts),
        keyframe: false,
        data,
    }
}

pub fn write_all(path: &Path, spec: TrackSpec, frames: &[Sent]) -> TrackWriter {
    let mut w = TrackWriter::create(path, spec).expect("create");
    for f in frames {
        w.write_frame(f.frame()).expect("write frame");
    }
    w
}

pub fn assert_same(read: &[ReadFrame], sent: &[Sent], audio: bool) {
    assert_eq!(read.len(), sent.len(), "frame count");
    for (i, (r, s)) in read.iter().zip(sent).enumerate() {
        assert_eq!(r.pts, s.pts, "pts of frame {i}");
        assert_eq!(
            r.keyframe,
            s.keyframe || audio,
            "keyframe flag of frame {i}"
        );
        assert_eq!(r.data, s.data, "bytes of frame {i}");
    }
}

pub const HD: FrameSize = FrameSize {
    width: 1280,
    height: 720,
};

/// 10 s of 30 fps VP8 with a keyframe every 2 s, starting 5 s into the meeting.
pub fn vp8_stream() -> Vec<Sent> {
    (0..300)
        .map(|i| vp8(5_000 + i * 33, i % 60 == 0, HD, i as u32))
        .collect()
}

/// 20 ms Opus packets from `from` to `to` (ms).
pub fn opus_run(from: u64, to: u64, seq0: u32) -> Vec<Sent> {
    (0..(to - from) / 20)
        .map(|i| opus(from + i * 20, seq0 + i as u32))
        .collect()
}
