//! Track files read back with an independent demuxer: every frame's bytes, timestamp and keyframe
//! flag as sent; gaps, size changes, cuts and H.264's repackaging.

use std::path::Path;
use std::time::Duration;

use convene_record::synth::{
    av1_keyframe_unit, h264_baseline_size, h264_baseline_sps, vp8_keyframe_header,
    vp9_keyframe_header,
};
use convene_record::{
    read_file, summarize, Ending, Frame, FrameSize, ReadFrame, RecordError, TrackSpec, TrackWriter,
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
    data.extend((0..200 + seq % 50).map(|i| (i ^ seq) as u8));
    Sent {
        pts: ms(pts),
        keyframe,
        data,
    }
}

/// An Opus packet: TOC byte 0xfc (CELT fullband 20 ms, one frame), then filler.
fn opus(pts: u64, seq: u32) -> Sent {
    let mut data = vec![0xfc];
    data.extend((0..60 + seq % 20).map(|i| i.wrapping_mul(seq + 7) as u8));
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
        assert_eq!(
            r.keyframe,
            s.keyframe || audio,
            "keyframe flag of frame {i}"
        );
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
    assert_eq!(
        read[0].pts,
        ms(5_000),
        "the file starts where the track started on the meeting clock"
    );
    assert!(track.duration_ms.is_some(), "finish writes the duration");
}

/// 20 ms Opus packets from `from` to `to` (ms).
fn opus_run(from: u64, to: u64, seq0: u32) -> Vec<Sent> {
    (0..(to - from) / 20)
        .map(|i| opus(from + i * 20, seq0 + i as u32))
        .collect()
}

#[test]
fn opus_frames_read_back_and_a_mute_stays_a_gap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mic.webm");
    // Talking 1-3 s, muted 3-8 s (nothing sent), talking 8-10 s.
    let mut sent = opus_run(1_000, 3_000, 0);
    sent.extend(opus_run(8_000, 10_000, 1_000));
    let mut w = write_all(&path, TrackSpec::opus(), &sent);
    w.finish().expect("finish");
    let (track, read) = read_file(&path).expect("read back");
    assert_eq!(track.codec_id, "A_OPUS");
    assert_eq!(track.audio, Some((48_000.0, 2)));
    let head = track.codec_private.expect("OpusHead");
    assert_eq!(&head[..8], b"OpusHead");
    assert_same(&read, &sent, true);
    let gap = read
        .windows(2)
        .map(|p| p[1].pts - p[0].pts)
        .max()
        .expect("frames");
    assert_eq!(
        gap,
        ms(8_000 - 2_980),
        "the mute is a jump in time, nothing fills it"
    );
}

#[test]
fn a_resolution_change_is_carried_by_the_keyframe_that_makes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("screen.webm");
    let small = FrameSize {
        width: 640,
        height: 360,
    };
    let mut sent: Vec<Sent> = (0..60)
        .map(|i| vp8(i * 33, i % 30 == 0, HD, i as u32))
        .collect();
    sent.extend((60..120).map(|i| vp8(i * 33, i % 30 == 0, small, i as u32)));
    let mut w = TrackWriter::create(&path, TrackSpec::video(VideoCodec::Vp8)).expect("create");
    let changes: Vec<_> = sent
        .iter()
        .filter_map(|f| w.write_frame(f.frame()).expect("write"))
        .collect();
    let stats = w.finish().expect("finish");
    assert_eq!(
        changes.len(),
        2,
        "the first size and the change: {changes:?}"
    );
    assert_eq!(changes[1].size, small);
    assert_eq!(changes[1].at.as_duration(), ms(60 * 33));
    assert_eq!(stats.sizes, changes);
    let (track, read) = read_file(&path).expect("read back");
    assert_same(&read, &sent, false);
    assert_eq!(
        track.pixel_size,
        Some((1280, 720)),
        "the header keeps the first size"
    );
    let sizes: Vec<(u16, u16)> = read
        .iter()
        .filter(|f| f.keyframe)
        .map(|f| {
            let w = u16::from_le_bytes([f.data[6], f.data[7]]) & 0x3fff;
            let h = u16::from_le_bytes([f.data[8], f.data[9]]) & 0x3fff;
            (w, h)
        })
        .collect();
    assert_eq!(
        sizes,
        vec![(1280, 720), (1280, 720), (640, 360), (640, 360)]
    );
}

#[test]
fn vp9_keyframes_set_the_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let size = FrameSize {
        width: 960,
        height: 540,
    };
    let sent: Vec<Sent> = (0..40)
        .map(|i| {
            let mut data = if i % 20 == 0 {
                vp9_keyframe_header(size).to_vec()
            } else {
                vec![0x86, 0x00] // marker 10, profile 0, inter frame
            };
            data.extend([i as u8; 100]);
            Sent {
                pts: ms(i * 40),
                keyframe: i % 20 == 0,
                data,
            }
        })
        .collect();
    let mut w = write_all(&path, TrackSpec::video(VideoCodec::Vp9), &sent);
    w.finish().expect("finish");
    let (track, read) = read_file(&path).expect("read back");
    assert_eq!(track.codec_id, "V_VP9");
    assert_eq!(track.pixel_size, Some((960, 540)));
    assert_same(&read, &sent, false);
}

#[test]
fn frames_before_the_first_keyframe_are_refused_not_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let mut w = TrackWriter::create(&path, TrackSpec::video(VideoCodec::Vp8)).expect("create");
    let early = vp8(0, false, HD, 0);
    assert!(matches!(
        w.write_frame(early.frame()),
        Err(RecordError::AwaitingKeyframe)
    ));
    // A keyframe flag on bytes that are no keyframe is refused too: its size would be a guess.
    let mut liar = vp8(10, true, HD, 1);
    liar.data[3] = 0;
    assert!(matches!(
        w.write_frame(liar.frame()),
        Err(RecordError::BadKeyframe(_))
    ));
    let sent = vec![vp8(33, true, HD, 2), vp8(66, false, HD, 3)];
    for f in &sent {
        w.write_frame(f.frame()).expect("write");
    }
    let older = vp8(50, false, HD, 4);
    assert!(matches!(
        w.write_frame(older.frame()),
        Err(RecordError::OutOfOrder { .. })
    ));
    w.finish().expect("finish");
    let (_, read) = read_file(&path).expect("read back");
    assert_same(&read, &sent, false);
}

/// Offsets of the Cluster element IDs in a file.
fn cluster_offsets(bytes: &[u8]) -> Vec<usize> {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == [0x1f, 0x43, 0xb6, 0x75])
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn a_file_cut_like_a_kill_reads_up_to_the_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let sent = vp8_stream();
    let mut w = write_all(&path, TrackSpec::video(VideoCodec::Vp8), &sent);
    // A killed process never writes a trailer: cut the unfinished file.
    w.flush_cluster().expect("flush");
    let bytes = std::fs::read(&path).expect("read");
    let clusters = cluster_offsets(&bytes);
    assert!(
        clusters.len() >= 9,
        "a cluster per second: {}",
        clusters.len()
    );
    for (n, extra) in [(3usize, 0usize), (5, 40), (8, 700)] {
        let cut = dir.path().join(format!("cut-{n}-{extra}.webm"));
        std::fs::write(&cut, &bytes[..clusters[n] + extra]).expect("write cut");
        let (track, read) = read_file(&cut).expect("a cut file still demuxes");
        assert_eq!(
            track.ending == Ending::Clean,
            extra == 0,
            "cut {n}+{extra}: {:?}",
            track.ending
        );
        // Every frame of the clusters before the cut survives, and whole blocks after it.
        let start = cluster_start(&bytes, clusters[n]);
        let before = sent.iter().take_while(|f| f.pts < start).count();
        assert!(
            read.len() >= before,
            "cut {n}+{extra}: {} < {before}",
            read.len()
        );
        assert!(read.len() < sent.len());
        assert_same(&read, &sent[..read.len()], false);
        let summary = summarize(&cut).expect("summary");
        assert_eq!(summary.frames, read.len() as u64);
        assert_eq!(
            summary.last.map(|t| t.as_duration()),
            read.last().map(|f| f.pts)
        );
    }
    drop(w);
}

/// The Timestamp of the cluster at `at` (its first child).
fn cluster_start(bytes: &[u8], at: usize) -> Duration {
    // Cluster ID (4) + unknown size (1 byte 0xff or 8 bytes 0x01ff..), then Timestamp 0xe7, size, value.
    let mut p = at + 4;
    p += if bytes[p] == 0xff { 1 } else { 8 };
    assert_eq!(bytes[p], 0xe7, "cluster timestamp element");
    let len = usize::from(bytes[p + 1] & 0x7f);
    let value = bytes[p + 2..p + 2 + len]
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    ms(value)
}

#[test]
fn an_unfinished_file_holds_what_reached_the_os() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let sent = vp8_stream();
    let w = write_all(&path, TrackSpec::video(VideoCodec::Vp8), &sent);
    // What a kill -9 leaves: the bytes handed to the OS, with no trailer.
    let copy = dir.path().join("killed.webm");
    std::fs::copy(&path, &copy).expect("copy");
    let (track, read) = read_file(&copy).expect("an unfinished file demuxes");
    assert_eq!(track.duration_ms, None, "never finalised");
    // Every keyframe and every second of media reaches the OS: only the last second may be missing.
    let last = read.last().expect("frames").pts;
    assert!(
        last >= sent.last().expect("sent").pts - ms(1_000),
        "last read {last:?}"
    );
    assert_same(&read, &sent[..read.len()], false);
    drop(w);
}

#[test]
fn h264_goes_in_matroska_length_prefixed_with_its_avcc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.mkv");
    let sps = h264_baseline_sps(40, 30, None);
    let pps = vec![0x68, 0xce, 0x3c, 0x80];
    let mut sent = Vec::new();
    let mut expected = Vec::new();
    for i in 0..90u64 {
        let key = i % 30 == 0;
        let slice: Vec<u8> = std::iter::once(if key { 0x65 } else { 0x41 })
            .chain((0..300).map(|j| (j as u64 * 7 + i) as u8 | 1))
            .collect();
        let mut au = Vec::new();
        let mut stored = Vec::new();
        let mut nals = vec![];
        if key {
            nals.push(sps.clone());
            nals.push(pps.clone());
        }
        nals.push(slice);
        for (k, nal) in nals.iter().enumerate() {
            // Mix 4- and 3-byte start codes, as encoders do.
            au.extend_from_slice(if k == 0 {
                &[0, 0, 0, 1][..]
            } else {
                &[0, 0, 1][..]
            });
            au.extend_from_slice(nal);
            stored.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            stored.extend_from_slice(nal);
        }
        sent.push(Sent {
            pts: ms(2_000 + i * 33),
            keyframe: key,
            data: au,
        });
        expected.push(Sent {
            pts: ms(2_000 + i * 33),
            keyframe: key,
            data: stored,
        });
    }
    let mut w = write_all(&path, TrackSpec::video(VideoCodec::H264), &sent);
    let stats = w.finish().expect("finish");
    assert_eq!(stats.sizes[0].size, h264_baseline_size(40, 30, None));
    let (track, read) = read_file(&path).expect("read back");
    assert_eq!(track.doc_type, "matroska");
    assert_eq!(track.codec_id, "V_MPEG4/ISO/AVC");
    assert_eq!(track.pixel_size, Some((640, 480)));
    let mut avcc = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    avcc.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    avcc.extend_from_slice(&sps);
    avcc.push(1);
    avcc.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    avcc.extend_from_slice(&pps);
    assert_eq!(track.codec_private, Some(avcc));
    assert_same(&read, &expected, false);
}

#[test]
fn an_h264_file_needs_parameter_sets_in_its_first_keyframe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = TrackWriter::create(
        &dir.path().join("x.mkv"),
        TrackSpec::video(VideoCodec::H264),
    )
    .expect("create");
    let idr_only = [0, 0, 0, 1, 0x65, 1, 2, 3];
    let frame = Frame {
        pts: ms(0),
        keyframe: true,
        data: &idr_only,
    };
    assert!(matches!(
        w.write_frame(frame),
        Err(RecordError::MissingCodecConfig(_))
    ));
}

fn find(bytes: &[u8], pattern: &[u8]) -> Vec<usize> {
    bytes
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern)
        .map(|(i, _)| i)
        .collect()
}

/// Where the Segment's payload starts (Seek positions count from there).
fn segment_data_start(bytes: &[u8]) -> usize {
    let at = find(bytes, &[0x18, 0x53, 0x80, 0x67])[0] + 4;
    let size_len = bytes[at].leading_zeros() as usize + 1;
    at + size_len
}

#[test]
fn the_seekhead_points_at_the_cues_only_once_they_exist() {
    const CUES_ENTRY: [u8; 13] = [
        0x4d, 0xbb, 0x92, 0x53, 0xab, 0x84, 0x1c, 0x53, 0xbb, 0x6b, 0x53, 0xac, 0x88,
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let mut w = write_all(&path, TrackSpec::video(VideoCodec::Vp8), &vp8_stream());
    w.flush_cluster().expect("flush");
    let unfinished = std::fs::read(&path).expect("read");
    assert!(
        find(&unfinished, &CUES_ENTRY).is_empty(),
        "no Cues entry while there are no Cues"
    );
    w.finish().expect("finish");
    let done = std::fs::read(&path).expect("read");
    let entries = find(&done, &CUES_ENTRY);
    assert_eq!(entries.len(), 1, "one Cues entry once finished");
    let p = entries[0] + CUES_ENTRY.len();
    let pos = u64::from_be_bytes(done[p..p + 8].try_into().expect("8 bytes")) as usize;
    let cues = segment_data_start(&done) + pos;
    assert_eq!(
        &done[cues..cues + 4],
        &[0x1c, 0x53, 0xbb, 0x6b],
        "the entry leads to the Cues"
    );
}

#[test]
fn av1_takes_its_av1c_and_size_from_the_sequence_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let small = FrameSize {
        width: 320,
        height: 180,
    };
    let sent: Vec<Sent> = (0..60u64)
        .map(|i| {
            let payload: Vec<u8> = (0..120).map(|j| (j + i) as u8).collect();
            let key = i % 20 == 0;
            let data = if key {
                av1_keyframe_unit(if i < 40 { HD } else { small }, &payload)
            } else {
                let mut d = vec![0x32, payload.len() as u8]; // OBU_FRAME with a size field
                d.extend(payload);
                d
            };
            Sent {
                pts: ms(i * 33),
                keyframe: key,
                data,
            }
        })
        .collect();
    let mut w = TrackWriter::create(&path, TrackSpec::video(VideoCodec::Av1)).expect("create");
    let bare = Sent {
        pts: ms(0),
        keyframe: true,
        data: vec![0x32, 1, 0],
    };
    assert!(matches!(
        w.write_frame(bare.frame()),
        Err(RecordError::MissingCodecConfig(_))
    ));
    for f in &sent {
        w.write_frame(f.frame()).expect("write");
    }
    let stats = w.finish().expect("finish");
    let sizes: Vec<FrameSize> = stats.sizes.iter().map(|c| c.size).collect();
    assert_eq!(sizes, vec![HD, small]);
    let (track, read) = read_file(&path).expect("read back");
    assert_eq!(track.codec_id, "V_AV1");
    assert_eq!(track.pixel_size, Some((1280, 720)));
    let seq_obu = &sent[0].data[..sent[0].data.len() - 122];
    let mut av1c = vec![0x81, 0x08, 0x0c, 0x00];
    av1c.extend_from_slice(seq_obu);
    assert_eq!(track.codec_private, Some(av1c));
    assert_same(&read, &sent, false);
}
