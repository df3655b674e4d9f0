//! Compositions end to end: a real recording written by convene-record (VP8 and Opus frames that
//! ffmpeg encoded), composed through REST by the server's ffmpeg, checked with ffprobe; progress,
//! ranges, deletion, access, and a missing ffmpeg. ffmpeg and ffprobe must be installed
//! (scripts/test.sh installs them): without them these tests fail, they do not skip.

mod common;
#[path = "support/http.rs"]
mod http;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestServer;
use convene_proto::{ParticipantId, RoomId, Source, TrackId};
use convene_record::{
    Gap, GapReason, MeetingId, MeetingRecording, MeetingTime, ReadFrame, Stamp, TrackMeta,
    TrackSpec, VideoCodec, WallTime,
};
use convene_store::{NewMeeting, NewRecording, RecordingEnd, RecordingRowState, Store};
use http::request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MEETING_MS: u64 = 8_000;

fn tool(name: &str, args: &[&str]) -> std::process::Output {
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
fn encoded_frames(dir: &Path) -> (Vec<ReadFrame>, Vec<ReadFrame>) {
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

fn stamp(ms: u64) -> Stamp {
    Stamp {
        meeting: MeetingTime(ms),
        wall: WallTime(1_700_000_000_000 + ms),
    }
}

fn meta(who: &str, source: Source) -> TrackMeta {
    TrackMeta {
        track: TrackId::new(format!("{who}-{source:?}")),
        participant: ParticipantId::new(who),
        participant_name: who.to_uppercase(),
        source,
    }
}

/// Writes `frames` as a track from `from` (ms) on, without those in `hole` (a camera turned off,
/// resumed at a keyframe), up to the meeting's end.
fn write_track(
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
async fn recorded_meeting(s: &TestServer, scratch: &Path) -> String {
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

async fn api(s: &TestServer, method: &str, path: &str) -> http::Reply {
    let auth = s.api_auth().await;
    request(s.addr, method, path, &[("Authorization", &auth)], None).await
}

/// A GET whose body is bytes: status, headers, body.
async fn get_bytes(s: &TestServer, path: &str, range: Option<&str>) -> (u16, String, Vec<u8>) {
    let auth = s.api_auth().await;
    let mut c = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let range = range.map(|r| format!("Range: {r}\r\n")).unwrap_or_default();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\n{range}Connection: close\r\n\r\n",
        s.addr
    );
    c.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head, raw[split + 4..].to_vec())
}

fn ffprobe(file: &Path) -> serde_json::Value {
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

async fn with_recordings() -> TestServer {
    TestServer::start().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_is_composed_into_one_video_of_its_length() {
    let s = with_recordings().await;
    let scratch = tempfile::tempdir().unwrap();
    let meeting = recorded_meeting(&s, scratch.path()).await;
    let base = format!("/api/v1/meetings/{meeting}/compositions");

    let asked = Instant::now();
    let r = api(&s, "POST", &base).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["state"], "queued");
    let cid = r.body["id"].as_str().expect("an id").to_owned();
    let one = format!("{base}/{cid}");
    let mut states = Vec::new();
    let done = loop {
        let r = api(&s, "GET", &one).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let state = r.body["state"].as_str().unwrap_or("").to_owned();
        if states.last() != Some(&state) {
            states.push(state.clone());
        }
        match state.as_str() {
            "done" => break r.body,
            "failed" => panic!("the composition failed: {:?}", r.body),
            _ => {}
        }
        assert!(
            asked.elapsed() < Duration::from_secs(120),
            "not done in 2 minutes: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = asked.elapsed();
    eprintln!(
        "composed {MEETING_MS} ms of meeting in {took:?}: {:.1} s of meeting per second",
        MEETING_MS as f64 / 1000.0 / took.as_secs_f64()
    );
    assert_eq!(done["progress"], 100);
    assert_eq!(done["duration_ms"], MEETING_MS);
    let bytes = done["bytes"].as_i64().expect("its size");
    assert!(bytes > 10_000, "{done:?}");
    let listed = api(&s, "GET", &base).await;
    assert_eq!(listed.body["compositions"][0]["id"], cid.as_str());
    assert_eq!(listed.body["compositions"][0]["bytes"], bytes);

    let download = done["download"]
        .as_str()
        .expect("a download link")
        .to_owned();
    let (status, head, body) = get_bytes(&s, &download, None).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(body.len() as i64, bytes);
    assert!(
        head.to_lowercase().contains("content-type: video/mp4"),
        "{head}"
    );
    let (status, head, part) = get_bytes(&s, &download, Some("bytes=100-199")).await;
    assert_eq!(status, 206, "{head}");
    assert_eq!(part, body[100..200]);

    let file = scratch.path().join("composed.mp4");
    std::fs::write(&file, &body).unwrap();
    let probe = ffprobe(&file);
    let streams = probe["streams"].as_array().expect("streams");
    let kinds: Vec<&str> = streams
        .iter()
        .filter_map(|s| s["codec_type"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "video").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "audio").count(),
        1,
        "{kinds:?}"
    );
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap();
    assert!((duration - 8.0).abs() <= 0.5, "duration {duration}");
    // It decodes without an error from start to end.
    let check = tool(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            file.to_str().unwrap(),
            "-f",
            "null",
            "-",
        ],
    );
    assert!(
        check.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let r = api(&s, "DELETE", &one).await;
    assert_eq!(r.status, 204);
    assert_eq!(get_bytes(&s, &download, None).await.0, 404);
    assert_eq!(api(&s, "GET", &one).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ffmpeg_is_a_clear_503_at_the_request() {
    let s = TestServer::with(|c| {
        c.compose.ffmpeg = "/nonexistent/ffmpeg".into();
    })
    .await;
    let scratch = tempfile::tempdir().unwrap();
    let meeting = recorded_meeting(&s, scratch.path()).await;
    let r = api(
        &s,
        "POST",
        &format!("/api/v1/meetings/{meeting}/compositions"),
    )
    .await;
    assert_eq!(r.status, 503, "{:?}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("ffmpeg is not installed"), "{message}");
    let list = api(
        &s,
        "GET",
        &format!("/api/v1/meetings/{meeting}/compositions"),
    )
    .await;
    assert_eq!(list.body["compositions"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_admins_and_api_keys_compose() {
    let s = with_recordings().await;
    let scratch = tempfile::tempdir().unwrap();
    let meeting = recorded_meeting(&s, scratch.path()).await;
    let base = format!("/api/v1/meetings/{meeting}/compositions");
    // Nobody: 401. A signed-in stranger: the meeting is not theirs to know of.
    assert_eq!(request(s.addr, "POST", &base, &[], None).await.status, 401);
    let cookie = http::signed_up(s.addr, "eve@example.org").await;
    let r = request(s.addr, "POST", &base, &[("Cookie", &cookie)], None).await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let r = request(s.addr, "GET", &base, &[("Cookie", &cookie)], None).await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    // A meeting without a recording has nothing to compose.
    let r = api(&s, "POST", "/api/v1/meetings/nosuchmeeting/compositions").await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_composes_shows_progress_and_saves_the_video() {
    let s = with_recordings().await;
    let scratch = tempfile::tempdir().unwrap();
    let meeting = recorded_meeting(&s, scratch.path()).await;
    let key = convene_server::auth::apikeys::generate("cli", 0).expect("key");
    s.store()
        .await
        .create_api_key(&key.record)
        .await
        .expect("store the key");
    let api_key = format!("{}:{}", key.record.id, key.secret);
    let server = format!("http://{}", s.addr);
    let out = scratch.path().join("meeting.mp4");
    let run = |meeting: String, out: PathBuf| {
        let (server, api_key) = (server.clone(), api_key.clone());
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_convene"))
                .args(["compose", &meeting, "--server", &server, "-o"])
                .arg(&out)
                .env("CONVENE_API_KEY", &api_key)
                .output()
                .expect("run convene compose")
        })
    };
    let done = run(meeting.clone(), out.clone()).await.unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(
        stderr.contains("100% done"),
        "the progress line ends full: {stderr:?}"
    );
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(stdout.contains("duration_ms: 8000"), "{stdout}");
    let probe = ffprobe(&out);
    assert_eq!(
        probe["streams"].as_array().map(Vec::len),
        Some(2),
        "{probe}"
    );

    // A failure is an exit status, with the server's reason.
    let failed = run("nosuchmeeting".into(), scratch.path().join("x.mp4"))
        .await
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("404"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_composition_goes_with_its_meeting_s_record_video_included() {
    use convene_server::files::blob::{BlobStore, DirBlobStore};
    let mut s = TestServer::start().await;
    let store = s.store().await;
    let meeting = store
        .create_meeting(&NewMeeting {
            room: "old".into(),
            creator: None,
            created_at: 1_700_000_000_000,
            max_participants: 10,
            settings_json: "{}".into(),
            node_id: s.config.server.node_id.clone(),
            public_id: "oldmeeting0123456789abcd".into(),
        })
        .await
        .expect("meeting");
    store
        .end_meeting(meeting, 1_700_000_100_000)
        .await
        .expect("end");
    let blobs = DirBlobStore::new(&s.config.files.dir);
    let mut upload = blobs.create().await.expect("blob");
    upload.write(b"not really a video").await.expect("write");
    let key = upload.commit().await.expect("commit");
    let c = store
        .add_composition(&convene_store::NewComposition {
            public_id: "c_old".into(),
            meeting,
            recording: "r".into(),
            node_id: s.config.server.node_id.clone(),
            created_at: 1_700_000_200_000,
        })
        .await
        .expect("composition");
    let file = convene_store::ComposedFile {
        file_name: "m.mp4".into(),
        blob_key: key.clone(),
        bytes: 18,
        duration_ms: 1,
    };
    let done = convene_store::CompositionOutcome::Done(file);
    store
        .finish_composition(c.id, &done, 1_700_000_300_000)
        .await
        .expect("done");
    s.stop().await.expect("stop");
    // A day of retention: the meeting ended long ago, so its record goes, and the video with it.
    let again = s.start_again_with(|c| c.database.retention_days = 1).await;
    let store = again.store().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.composition("c_old").await.expect("get").is_some() {
        assert!(
            Instant::now() < deadline,
            "the composition outlived its meeting's record"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        blobs.open(&key).await.expect("open").is_none(),
        "its video is gone too"
    );
    assert!(store.meeting(meeting).await.expect("meeting").is_none());
}
