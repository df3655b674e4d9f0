//! A meeting's recording: the files and the manifest together, and start-up recovery after a crash.

use std::path::Path;
use std::time::Duration;

use convene_proto::{ParticipantId, RoomId, Source, TrackId};
use convene_record::synth::vp8_keyframe_header;
use convene_record::{
    read_file, recover_all, Codec, Frame, FrameSize, Gap, GapReason, Manifest, MeetingId,
    MeetingRecording, MeetingTime, RecordError, RecordingState, Recovery, Stamp, TrackMeta,
    TrackSpec, TrackState, VideoCodec, WallTime, MANIFEST_FILE,
};

fn stamp(meeting_ms: u64) -> Stamp {
    Stamp {
        meeting: MeetingTime(meeting_ms),
        wall: WallTime(1_800_000_000_000 + meeting_ms),
    }
}

fn meta(track: &str, participant: &str, source: Source) -> TrackMeta {
    TrackMeta {
        track: TrackId::new(track),
        participant: ParticipantId::new(participant),
        participant_name: format!("Name of {participant}"),
        source,
    }
}

fn opus_packet(seq: u64) -> Vec<u8> {
    let mut p = vec![0xfc];
    p.extend((0..80).map(|i| (i + seq) as u8));
    p
}

fn vp8_frame(seq: u64, key: bool) -> Vec<u8> {
    let mut p = if key {
        vp8_keyframe_header(FrameSize {
            width: 640,
            height: 480,
        })
        .to_vec()
    } else {
        vec![0x01, 0x00, 0x00]
    };
    p.extend((0..300).map(|i| (i * 3 + seq) as u8));
    p
}

/// Writes `ms` of microphone (20 ms packets) and camera (33 ms frames, a keyframe a second)
/// from `from`, interleaved in time order as the server's queue would give them.
fn write_media(
    rec: &mut MeetingRecording,
    mic: Option<&TrackId>,
    cam: &TrackId,
    from: u64,
    ms: u64,
) {
    for t in from..from + ms {
        if let Some(mic) = mic {
            if t % 20 == 0 {
                let data = opus_packet(t);
                let frame = Frame {
                    pts: Duration::from_millis(t),
                    keyframe: false,
                    data: &data,
                };
                rec.write(mic, frame).expect("mic frame");
            }
        }
        if t % 33 == 0 {
            let data = vp8_frame(t, t % 990 == 0);
            let frame = Frame {
                pts: Duration::from_millis(t),
                keyframe: t % 990 == 0,
                data: &data,
            };
            rec.write(cam, frame).expect("camera frame");
        }
    }
}

fn start(dir: &Path) -> MeetingRecording {
    MeetingRecording::start(dir, MeetingId(42), RoomId::new("standup"), stamp(0)).expect("start")
}

#[test]
fn a_recording_keeps_files_and_manifest_in_step_and_the_manifest_round_trips() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("meeting-42");
    let mut rec = start(&dir);
    let (mic, cam) = (TrackId::new("t-mic"), TrackId::new("t-cam"));
    rec.add_track(meta("t-mic", "p/1", Source::Microphone), TrackSpec::opus())
        .expect("mic");
    rec.add_track(
        meta("t-cam", "p/1", Source::Camera),
        TrackSpec::video(VideoCodec::Vp8),
    )
    .expect("cam");
    assert!(matches!(
        rec.add_track(meta("t-cam", "p/1", Source::Camera), TrackSpec::opus()),
        Err(RecordError::DuplicateTrack(_))
    ));
    write_media(&mut rec, Some(&mic), &cam, 0, 3_000);
    // Muted from 3 s to 5 s: the microphone sends nothing, the manifest says why.
    rec.gap(
        &mic,
        Gap {
            start: MeetingTime(3_000),
            end: MeetingTime(5_000),
            reason: GapReason::Muted,
        },
    )
    .expect("gap");
    write_media(&mut rec, None, &cam, 3_000, 2_000);
    write_media(&mut rec, Some(&mic), &cam, 5_000, 1_000);
    rec.end_track(&mic).expect("end mic");
    write_media(&mut rec, None, &cam, 6_000, 1_000);
    let done = rec.finish(stamp(7_000)).expect("finish");

    let on_disk = Manifest::load(&dir).expect("load");
    assert_eq!(on_disk, done);
    let json = std::fs::read_to_string(dir.join(MANIFEST_FILE)).expect("json");
    let again: Manifest = serde_json::from_str(&json).expect("parse");
    assert_eq!(again, done);
    for word in [
        "\"state\": \"complete\"",
        "\"reason\": \"muted\"",
        "\"source\": \"microphone\"",
        "\"codec\": \"vp8\"",
    ] {
        assert!(json.contains(word), "{word} in {json}");
    }
    assert!(!dir.join(".manifest.json.tmp").exists());

    assert_eq!(done.state, RecordingState::Complete);
    assert_eq!(done.ended_at, Some(stamp(7_000)));
    let m = done.track(&mic).expect("mic entry");
    assert_eq!((m.codec, m.state), (Codec::Opus, TrackState::Ended));
    assert_eq!(m.file, "001-p_1-microphone.webm");
    assert_eq!(m.start, Some(MeetingTime(0)));
    assert_eq!(m.end, Some(MeetingTime(5_980)));
    assert_eq!(m.gaps.len(), 1);
    assert_eq!(m.frames, 200);
    let c = done.track(&cam).expect("camera entry");
    assert_eq!(c.file, "002-p_1-camera.webm");
    assert_eq!(c.sizes.len(), 1);
    assert_eq!(c.sizes[0].size.width, 640);
    for entry in &done.tracks {
        let (_, frames) = read_file(&dir.join(&entry.file)).expect("read back");
        assert_eq!(frames.len() as u64, entry.frames, "{}", entry.file);
        let bytes: usize = frames.iter().map(|f| f.data.len()).sum();
        assert_eq!(bytes as u64, entry.bytes, "{}", entry.file);
        assert_eq!(
            frames.last().map(|f| MeetingTime::from_duration(f.pts)),
            entry.end
        );
    }
    // A folder that holds a recording is never started over.
    assert!(
        MeetingRecording::start(&dir, MeetingId(42), RoomId::new("standup"), stamp(0)).is_err()
    );
}

#[test]
fn recover_marks_a_killed_recording_interrupted_with_what_its_files_hold() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("meeting-42");
    let mut rec = start(&dir);
    let (mic, cam, screen) = (
        TrackId::new("t-mic"),
        TrackId::new("t-cam"),
        TrackId::new("t-screen"),
    );
    rec.add_track(meta("t-mic", "p1", Source::Microphone), TrackSpec::opus())
        .expect("mic");
    rec.add_track(
        meta("t-cam", "p1", Source::Camera),
        TrackSpec::video(VideoCodec::Vp8),
    )
    .expect("cam");
    rec.add_track(
        meta("t-screen", "p2", Source::Screen),
        TrackSpec::video(VideoCodec::Vp8),
    )
    .expect("screen");
    write_media(&mut rec, Some(&mic), &cam, 0, 2_000);
    rec.checkpoint().expect("checkpoint");
    write_media(&mut rec, Some(&mic), &cam, 2_000, 6_000);
    // The screen track got no frame at all (its first keyframe never came).
    // A kill -9: nothing more runs, not even the buffered bytes' flush.
    std::mem::forget(rec);

    let stale = Manifest::load(&dir).expect("load");
    assert_eq!(stale.state, RecordingState::Recording);
    assert_eq!(
        stale.track(&mic).expect("mic").end,
        Some(MeetingTime(1_980)),
        "the manifest was last saved at the checkpoint"
    );

    assert_eq!(
        Manifest::recover(&dir).expect("recover"),
        Recovery::MarkedInterrupted { tracks_read: 3 }
    );
    let m = Manifest::load(&dir).expect("load");
    assert_eq!(m.state, RecordingState::Interrupted);
    for entry in &m.tracks {
        assert_eq!(entry.state, TrackState::Cut);
        let path = dir.join(&entry.file);
        if entry.track == screen {
            assert_eq!((entry.frames, entry.end), (0, None));
            continue;
        }
        let (_, frames) = read_file(&path).expect("a killed file reads back");
        assert_eq!(entry.frames, frames.len() as u64);
        assert_eq!(entry.start, Some(MeetingTime(0)));
        let end = entry.end.expect("end").0;
        // Flushed to the OS every second of media: at most the last second is lost.
        assert!(end >= 8_000 - 1_000 - 33, "{}: end {end}", entry.file);
        assert!(
            end > 1_980,
            "{}: the end comes from the file, not the stale manifest",
            entry.file
        );
    }
    // Once is enough: a recovered recording stays as it is.
    assert_eq!(
        Manifest::recover(&dir).expect("again"),
        Recovery::Untouched(RecordingState::Interrupted)
    );
}

#[test]
fn recover_all_leaves_complete_recordings_alone() {
    let root = tempfile::tempdir().expect("tempdir");
    let cam = TrackId::new("t-cam");
    let mut a = start(&root.path().join("a"));
    a.add_track(
        meta("t-cam", "p1", Source::Camera),
        TrackSpec::video(VideoCodec::Vp8),
    )
    .expect("cam");
    write_media(&mut a, None, &cam, 0, 1_500);
    a.finish(stamp(1_500)).expect("finish");
    let mut b = start(&root.path().join("b"));
    b.add_track(
        meta("t-cam", "p1", Source::Camera),
        TrackSpec::video(VideoCodec::Vp8),
    )
    .expect("cam");
    write_media(&mut b, None, &cam, 0, 1_500);
    drop(b); // dropped unfinished: what a crash of the recording thread leaves
    std::fs::create_dir(root.path().join("not-a-recording")).expect("dir");

    let results = recover_all(root.path()).expect("recover all");
    let outcomes: Vec<_> = results
        .into_iter()
        .map(|r| {
            (
                r.dir.file_name().map(|n| n.to_owned()),
                r.outcome.expect("recovered"),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (
                Some("a".into()),
                Recovery::Untouched(RecordingState::Complete)
            ),
            (
                Some("b".into()),
                Recovery::MarkedInterrupted { tracks_read: 1 }
            ),
        ]
    );
}

#[test]
fn a_half_written_manifest_update_leaves_the_last_good_one() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("m");
    let rec = start(&dir);
    // A crash during a save leaves only the temporary file half-written.
    std::fs::write(dir.join(".manifest.json.tmp"), b"{\"version\": 1, \"mee").expect("tmp");
    assert_eq!(&Manifest::load(&dir).expect("load"), rec.manifest());
}

#[test]
fn a_recording_can_move_to_its_own_thread() {
    fn send<T: Send>() {}
    send::<MeetingRecording>();
    send::<convene_record::TrackWriter>();
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("m");
    let rec = start(&dir);
    let done = std::thread::spawn(move || rec.finish(stamp(10)))
        .join()
        .expect("thread")
        .expect("finish");
    assert_eq!(done.state, RecordingState::Complete);
}

#[test]
fn a_dropped_or_lost_gap_makes_the_camera_wait_for_its_next_keyframe() {
    for reason in [GapReason::Dropped, GapReason::Lost] {
        let root = tempfile::tempdir().expect("tempdir");
        let mut rec = start(&root.path().join("m"));
        let cam = TrackId::new("t-cam");
        rec.add_track(
            meta("t-cam", "p1", Source::Camera),
            TrackSpec::video(VideoCodec::Vp8),
        )
        .expect("cam");
        write_media(&mut rec, None, &cam, 0, 500);
        let dropped = Gap {
            start: MeetingTime(500),
            end: MeetingTime(700),
            reason,
        };
        rec.gap(&cam, dropped).expect("gap");
        let inter = vp8_frame(1, false);
        let frame = Frame {
            pts: Duration::from_millis(726),
            keyframe: false,
            data: &inter,
        };
        assert!(matches!(
            rec.write(&cam, frame),
            Err(RecordError::AwaitingKeyframe)
        ));
        let key = vp8_frame(2, true);
        let frame = Frame {
            pts: Duration::from_millis(759),
            keyframe: true,
            data: &key,
        };
        rec.write(&cam, frame)
            .expect("the keyframe resumes the track");
        let done = rec.finish(stamp(800)).expect("finish");
        let entry = done.track(&cam).expect("entry");
        assert_eq!(entry.gaps, vec![dropped]);
        assert_eq!(entry.end, Some(MeetingTime(759)));
    }
}

#[test]
fn a_track_whose_disk_refuses_bytes_is_marked_failed_and_the_others_go_on() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("m");
    let mut rec = start(&dir);
    let (mic, cam) = (TrackId::new("t-mic"), TrackId::new("t-cam"));
    rec.add_track(meta("t-mic", "p1", Source::Microphone), TrackSpec::opus())
        .expect("mic");
    // The camera's file is a full disk.
    std::os::unix::fs::symlink("/dev/full", dir.join("002-p1-camera.webm")).expect("symlink");
    rec.add_track(
        meta("t-cam", "p1", Source::Camera),
        TrackSpec::video(VideoCodec::Vp8),
    )
    .expect("cam");
    let key = vp8_frame(0, true);
    let frame = Frame {
        pts: Duration::from_millis(0),
        keyframe: true,
        data: &key,
    };
    assert!(
        rec.write(&cam, frame).is_err(),
        "the keyframe's flush fails"
    );
    assert_eq!(
        Manifest::load(&dir)
            .expect("load")
            .track(&cam)
            .expect("cam")
            .state,
        TrackState::Failed,
        "saved at once"
    );
    assert!(matches!(
        rec.write(&cam, frame),
        Err(RecordError::NotWritable(_))
    ));
    let data = opus_packet(1);
    let audio = Frame {
        pts: Duration::from_millis(20),
        keyframe: false,
        data: &data,
    };
    rec.write(&mic, audio).expect("the microphone goes on");
    assert!(
        rec.finish(stamp(100)).is_err(),
        "finish reports the failed track"
    );
    let m = Manifest::load(&dir).expect("load");
    assert_eq!(m.state, RecordingState::Complete);
    assert_eq!(m.track(&mic).expect("mic").state, TrackState::Ended);
    assert_eq!(m.track(&cam).expect("cam").state, TrackState::Failed);
}
