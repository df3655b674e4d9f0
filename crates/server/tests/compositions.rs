//! Compositions end to end: a real recording written by convene-record (VP8 and Opus frames that
//! ffmpeg encoded), composed through REST by the server's ffmpeg, checked with ffprobe; progress,
//! ranges, deletion, access, and a missing ffmpeg. ffmpeg and ffprobe must be installed
//! (scripts/test.sh installs them): without them these tests fail, they do not skip.

mod common;
#[path = "support/http.rs"]
mod http;
#[path = "support/recorded.rs"]
mod recorded;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestServer;
use convene_store::{NewMeeting, Store};
use http::request;
use recorded::{ffprobe, recorded_meeting, tool, MEETING_MS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// A composition of `s`'s recorded meeting is refused at the request with a 503 whose message
/// holds `says`, and none is queued.
async fn refused_at_the_request(s: &TestServer, says: &str) {
    let scratch = tempfile::tempdir().unwrap();
    let meeting = recorded_meeting(s, scratch.path()).await;
    let path = format!("/api/v1/meetings/{meeting}/compositions");
    let r = api(s, "POST", &path).await;
    assert_eq!(r.status, 503, "{:?}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains(says), "{message}");
    let list = api(s, "GET", &path).await;
    assert_eq!(list.body["compositions"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ffmpeg_is_a_clear_503_at_the_request() {
    let s = TestServer::with(|c| {
        c.compose.ffmpeg = "/nonexistent/ffmpeg".into();
    })
    .await;
    refused_at_the_request(&s, "ffmpeg is not installed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_under_the_threshold_refuses_a_composition_at_the_request() {
    // The threshold sits above the free space there is.
    let probe = tempfile::tempdir().unwrap();
    let free = convene_server::recording::disk::free_bytes(probe.path()).expect("statvfs");
    let s = TestServer::with(|c| c.recording.min_free_mb = free / (1024 * 1024) + 1024).await;
    refused_at_the_request(&s, "disk is too full").await;
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
    // The meeting's row goes after its compositions, in the same pass of the retention loop.
    while store.meeting(meeting).await.expect("meeting").is_some() {
        assert!(
            Instant::now() < deadline,
            "the meeting's record outlived its retention"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
