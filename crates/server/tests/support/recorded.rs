//! A real recording for the composition tests: VP8 and Opus frames that ffmpeg encoded, written by
//! convene-record as the server's recorder writes them, with the recording's row.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use convene_proto::{ParticipantId, RoomId, Source, TrackId};
use convene_record::{
    Gap, GapReason, MeetingId, MeetingRecording, MeetingTime, ReadFrame, Stamp, TrackMeta,
    TrackSpec, VideoCodec, WallTime,
};
use convene_store::{NewMeeting, NewRecording, RecordingEnd, RecordingRowState, Store};

use crate::common::TestServer;

pub const MEETING_MS: u64 = 8_000;

pub fn tool(name: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} must be installed (scripts/test.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Real frames: ffmpeg encodes 8 s of a test picture (VP8, a keyframe a second) and a tone (Opus).
pub fn encoded_frames(dir: &Path) -> (Vec<ReadFrame>, Vec<ReadFrame>) {
    let video = dir.join("src-video.webm");
    let audio = dir.join("src-audio.webm");
    let secs = (MEETING_MS / 1000).to_string();
    tool(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
            "-t",
            &secs,
            "-c:v",
            "libvpx",
            "-g",
            "25",
            "-b:v",
            "300k",
            "-deadline",
            "realtime",
            video.to_str().unwrap(),
        ],
    );
    tool(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            &secs,
            "-c:a",
            "libopus",
            "-b:a",
            "48k",
            audio.to_str().unwrap(),
        ],
    );
    let (_, v) = convene_record::read_file(&video).expect("read the VP8 file");
    let (_, a) = convene_record::read_file(&audio).expect("read the Opus file");
    (v, a)
}

pub fn stamp(ms: u64) -> Stamp {
    Stamp {
        meeting: MeetingTime(ms),
        wall: WallTime(1_700_000_000_000 + ms),
    }
}

pub fn meta(who: &str, source: Source) -> TrackMeta {
    TrackMeta {
        track: TrackId::new(format!("{who}-{source:?}")),
        participant: ParticipantId::new(who),
        participant_name: who.to_uppercase(),
        source,
    }
}

/// Writes `frames` as a track from `from` (ms) on, without those in `hole` (a camera turned off,
/// resumed at a keyframe), up to the meeting's end.
pub fn write_track(
    rec: &mut MeetingRecording,
    meta: TrackMeta,
    spec: TrackSpec,
    frames: &[ReadFrame],
    from: u64,
    hole: Option<(u64, u64)>,
) {
    let id = meta.track.clone();
    rec.add_track(meta, spec).expect("add track");
    let mut waiting_for_key = false;
    for f in frames {
        let at = from + f.pts.as_millis() as u64;
        if at >= MEETING_MS {
            break;
        }
        if let Some((a, b)) = hole {
            if at >= a && at < b {
                waiting_for_key = true;
                continue;
            }
        }
        if waiting_for_key && !f.keyframe {
            continue;
        }
        waiting_for_key = false;
        let frame = convene_record::Frame {
            pts: Duration::from_millis(at),
            keyframe: f.keyframe,
            data: &f.data,
        };
        rec.write(&id, frame).expect("write");
    }
    if let Some((a, b)) = hole {
        let gap = Gap {
            start: MeetingTime(a),
            end: MeetingTime(b),
            reason: GapReason::Paused,
        };
        rec.gap(&id, gap).expect("gap");
    }
}

/// A meeting of two: Ada from the start; Bo joins at 3 s and turns the camera off from 5 to 6 s.
pub async fn recorded_meeting(s: &TestServer, scratch: &Path) -> String {
    let store = s.store().await;
    let public_id = "m0123456789abcdefghijklm".to_owned();
    let id = store
        .create_meeting(&NewMeeting {
            room: "standup".into(),
            creator: Some("Ada".into()),
            created_at: 1_700_000_000_000,
            max_participants: 10,
            settings_json: "{}".into(),
            node_id: s.config.server.node_id.clone(),
            public_id: public_id.clone(),
        })
        .await
        .expect("meeting");
    let (video, audio) = encoded_frames(scratch);
    // The recording's row, as the server's recorder makes it, and its folder under recording.dir.
    let rec_id = "0123456789abcdef0123456789abcdef";
    store
        .add_recording(&NewRecording {
            public_id: rec_id.into(),
            meeting: id,
            started_at: 1_700_000_000_000,
            dir: rec_id.into(),
            started_by: None,
            node_id: s.config.server.node_id.clone(),
        })
        .await
        .expect("recording row");
    let dir = PathBuf::from(&s.config.recording.dir).join(rec_id);
    let mut rec = MeetingRecording::start(&dir, MeetingId(id.0), RoomId::new("standup"), stamp(0))
        .expect("start");
    let vp8 = TrackSpec::video(VideoCodec::Vp8);
    write_track(&mut rec, meta("ada", Source::Camera), vp8, &video, 0, None);
    write_track(
        &mut rec,
        meta("ada", Source::Microphone),
        TrackSpec::opus(),
        &audio,
        0,
        None,
    );
    write_track(
        &mut rec,
        meta("bo", Source::Camera),
        vp8,
        &video,
        3_000,
        Some((5_000, 6_000)),
    );
    write_track(
        &mut rec,
        meta("bo", Source::Microphone),
        TrackSpec::opus(),
        &audio,
        3_000,
        None,
    );
    rec.finish(stamp(MEETING_MS)).expect("finish");
    let end = RecordingEnd {
        state: RecordingRowState::Complete,
        ended_at: Some(1_700_000_000_000 + MEETING_MS as i64),
        bytes: 1,
        duration_ms: Some(MEETING_MS as i64),
    };
    store
        .end_recording(rec_id, &end)
        .await
        .expect("recording ended");
    public_id
}

pub fn ffprobe(file: &Path) -> serde_json::Value {
    let out = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_format",
            "-show_streams",
            "-of",
            "json",
            file.to_str().unwrap(),
        ],
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe json")
}
