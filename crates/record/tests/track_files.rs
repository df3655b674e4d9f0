//! Track files read back with an independent demuxer: every frame's bytes, timestamp and keyframe
//! flag as sent; gaps, size changes, cuts and H.264's repackaging.

use std::path::Path;
use std::time::Duration;

use convene_record::synth::{h264_baseline_size, h264_baseline_sps, vp8_keyframe_header};
use convene_record::{
    read_file, summarize, Frame, FrameSize, ReadFrame, RecordError, TrackSpec, TrackWriter,
    VideoCodec,
};

/// A frame as sent, kept to compare with what is read back.
#[derive(Clone, Debug)]
struct Sent {
    pts: Duration,
    keyframe: bool,
    data: Vec<u8>,
}

impl Sent {
    fn frame(&self) -> Frame<'_> {
        Frame {
            pts: self.pts,
            keyframe: self.keyframe,
            data: &self.data,
        }
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A VP8 frame: a real keyframe header (so the size parser runs) or an inter-frame tag, then
/// distinct filler bytes.
fn vp8(pts: u64, keyframe: bool, size: FrameSize, seq: u32) -> Sent {
    let mut data = if keyframe {
        vp8_keyframe_header(size).to_vec()
    } else {
        vec![0x11, 0x02, 0x00] // frame tag, bit 0 set: inter frame
    };
    data.extend((0..200 + seq % 50).map(|i| (i as u32 ^ seq) as u8));
    Sent {
        pts: ms(pts),
        keyframe,
        data,
    }
}

/// An Opus packet: TOC byte 0xfc (CELT fullband 20 ms, one frame), then filler.
fn opus(pts: u64, seq: u32) -> Sent {
    let mut data = vec![0xfc];
    data.extend((0..60 + seq % 20).map(|i| (i as u32).wrapping_mul(seq + 7) as u8));
    Sent {
        pts: ms(pts),
        keyframe: false,
        data,
    }
}

fn write_all(path: &Path, spec: TrackSpec, frames: &[Sent]) -> TrackWriter {
    let mut w = TrackWriter::create(path, spec).expect("create");
    for f in frames {
        w.write_frame(f.frame()).expect("write frame");
    }
    w
}

fn assert_same(read: &[ReadFrame], sent: &[Sent], audio: bool) {
    assert_eq!(read.len(), sent.len(), "frame count");
    for (i, (r, s)) in read.iter().zip(sent).enumerate() {
        assert_eq!(r.pts, s.pts, "pts of frame {i}");
        assert_eq!(r.keyframe, s.keyframe || audio, "keyframe flag of frame {i}");
        assert_eq!(r.data, s.data, "bytes of frame {i}");
    }
}

const HD: FrameSize = FrameSize {
    width: 1280,
    height: 720,
};

/// 10 s of 30 fps VP8 with a keyframe every 2 s, starting 5 s into the meeting.
fn vp8_stream() -> Vec<Sent> {
    (0..300)
        .map(|i| vp8(5_000 + i * 33, i % 60 == 0, HD, i as u32))
        .collect()
}

#[test]
fn vp8_frames_read_back_as_sent_on_the_meeting_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let sent = vp8_stream();
    let mut w = write_all(&path, TrackSpec::video(VideoCodec::Vp8), &sent);
    let stats = w.finish().expect("finish");
    assert_eq!(stats.frames, 300);
    let (track, read) = read_file(&path).expect("read back");
    assert_eq!(track.doc_type, "webm");
    assert_eq!(track.codec_id, "V_VP8");
    assert_eq!(track.pixel_size, Some((1280, 720)));
    assert_same(&read, &sent, false);
    assert_eq!(read[0].pts, ms(5_000), "the file starts where the track started on the meeting clock");
    assert!(track.duration_ms.is_some(), "finish writes the duration");
}
