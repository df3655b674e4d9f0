//! Track files read back with an independent demuxer: every frame's bytes, timestamp and keyframe
//! flag as sent, on the meeting clock; a mute stays a gap; a resolution change travels with its
//! keyframe; refused frames are not written.

mod common;

use common::{assert_same, ms, opus_run, vp8, vp8_stream, write_all, Sent, HD};
use convene_record::{read_file, FrameSize, RecordError, TrackSpec, TrackWriter, VideoCodec};

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

#[test]
fn opus_frames_read_back_and_a_mute_stays_a_gap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mic.webm");
    // Talking 1-3 s, muted 3-8 s (nothing sent), talking 8-10 s.
    let mut sent = opus_run(1_000, 3_000, 0);
    sent.extend(opus_run(8_000, 10_000, 1_000));
    // Then paused for 70 s: longer than a block's 16-bit offset from its cluster (32.767 s) can say.
    sent.extend(opus_run(80_000, 81_000, 2_000));
    let mut w = write_all(&path, TrackSpec::opus(), &sent);
    w.finish().expect("finish");
    let (track, read) = read_file(&path).expect("read back");
    assert_eq!(track.codec_id, "A_OPUS");
    assert_eq!(track.audio, Some((48_000.0, 2)));
    let head = track.codec_private.expect("OpusHead");
    assert_eq!(&head[..8], b"OpusHead");
    assert_same(&read, &sent, true);
    let mut gaps: Vec<_> = read
        .windows(2)
        .map(|p| p[1].pts - p[0].pts)
        .filter(|d| *d > ms(20))
        .collect();
    gaps.sort();
    assert_eq!(
        gaps,
        vec![ms(8_000 - 2_980), ms(80_000 - 9_980)],
        "a mute or a pause is a jump in time, nothing fills it"
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

#[test]
fn after_lost_frames_video_waits_for_a_keyframe_and_audio_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let mut w = TrackWriter::create(&path, TrackSpec::video(VideoCodec::Vp8)).expect("create");
    let mut kept = vec![vp8(0, true, HD, 0), vp8(33, false, HD, 1)];
    for f in &kept {
        w.write_frame(f.frame()).expect("write");
    }
    // Frames 66..200 were dropped on the way; what comes next references them.
    w.frames_lost();
    assert!(matches!(
        w.write_frame(vp8(231, false, HD, 7).frame()),
        Err(RecordError::AwaitingKeyframe)
    ));
    let resumed = [vp8(264, true, HD, 8), vp8(297, false, HD, 9)];
    for f in &resumed {
        w.write_frame(f.frame()).expect("write after the keyframe");
    }
    kept.extend(resumed);
    w.finish().expect("finish");
    assert_same(&read_file(&path).expect("read back").1, &kept, false);

    let mut mic =
        TrackWriter::create(&dir.path().join("mic.webm"), TrackSpec::opus()).expect("create");
    mic.write_frame(opus_run(0, 20, 0)[0].frame())
        .expect("first");
    mic.frames_lost();
    mic.write_frame(opus_run(500, 520, 1)[0].frame())
        .expect("audio frames decode on their own");
}
