//! Who may record a meeting and who is told (docs/protocol.md, *Recording*): a host starts and
//! stops it and everyone hears; a participant is refused; a token's `record` grant may; a joiner
//! learns it in `joined`; a planned room with `record_on_connect` records from its start; the
//! disk guard refuses to start, and stops what runs, when the disk is under its threshold.

mod common;
#[path = "support/http.rs"]
mod http;
#[path = "support/people.rs"]
mod people;

use common::TestServer;
use convene_proto::{ClientMessage, ErrorCode, RecordPower, RecordingStopReason, ServerMessage};
use convene_server::auth::tokens::{self, Grants};
use convene_store::{RecordingRowState, Store};
use people::{accepted, join, refused, As};

const KEY: &str = "k1:0123456789abcdef0123456789abcdef";

async fn started(c: &mut convene_client::Signaling) -> convene_proto::RecordingStatus {
    c.recv_until(|m| match m {
        ServerMessage::RecordingStarted { recording } => Some(recording.clone()),
        _ => None,
    })
    .await
    .expect("recording_started")
}

/// Sends `msg` and returns the first recording event that follows (an error fails the test).
async fn ask(c: &mut convene_client::Signaling, msg: ClientMessage) -> ServerMessage {
    c.send(&msg).await.expect("send");
    c.recv_until(|m| match m {
        ServerMessage::Error { code, message, .. } => panic!("refused: {code:?} {message}"),
        ServerMessage::RecordingStarted { .. } | ServerMessage::RecordingStopped { .. } => {
            Some(m.clone())
        }
        _ => None,
    })
    .await
    .expect("a recording event")
}

async fn stopped(c: &mut convene_client::Signaling) -> RecordingStopReason {
    c.recv_until(|m| match m {
        ServerMessage::RecordingStopped { reason } => Some(*reason),
        _ => None,
    })
    .await
    .expect("recording_stopped")
}

/// The meeting's recording rows once `pred` holds for them (rows are written off the room's loop).
async fn rows_when(
    s: &TestServer,
    room: &str,
    pred: impl Fn(&[convene_store::RecordingRecord]) -> bool,
) -> Vec<convene_store::RecordingRecord> {
    let store = s.store().await;
    let m = store.meetings(Some(room), 1).await.unwrap().remove(0);
    for _ in 0..100 {
        let rows = store.recordings(m.id).await.unwrap();
        if pred(&rows) {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "recording rows never matched: {:?}",
        store.recordings(m.id).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_records_everyone_hears_and_a_participant_may_not() {
    let s = TestServer::start().await;
    let (mut host, _) = join(&s, "rec-ctl", "Ada", As::Guest).await;
    let (mut guest, _) = join(&s, "rec-ctl", "Bob", As::Guest).await;
    refused(
        &mut guest,
        ClientMessage::StartRecording,
        ErrorCode::Forbidden,
    )
    .await;

    let to_host = ask(&mut host, ClientMessage::StartRecording).await;
    let status = started(&mut guest).await;
    assert_eq!(status.by_name.as_deref(), Some("Ada"));
    assert!(status.since > 0);
    assert_eq!(
        to_host,
        ServerMessage::RecordingStarted {
            recording: status.clone()
        },
        "the sender is told too"
    );
    // Starting what runs changes nothing and is not an error.
    accepted(&mut host, ClientMessage::StartRecording).await;

    // A joiner learns it in `joined`.
    let (_late, joined) = join(&s, "rec-ctl", "Cy", As::Guest).await;
    assert_eq!(joined.recording, Some(status));

    refused(
        &mut guest,
        ClientMessage::StopRecording,
        ErrorCode::Forbidden,
    )
    .await;
    accepted(&mut host, ClientMessage::StopRecording).await;
    assert_eq!(stopped(&mut guest).await, RecordingStopReason::Stopped);
    let (_later, joined) = join(&s, "rec-ctl", "Di", As::Guest).await;
    assert_eq!(joined.recording, None);

    let rows = rows_when(&s, "rec-ctl", |r| {
        r.len() == 1 && r[0].state == RecordingRowState::Complete
    })
    .await;
    assert_eq!(rows[0].started_by.as_deref(), Some("Ada"));
    assert!(rows[0].ended_at.is_some());
    // The manifest of a recording without media is complete and empty.
    let dir = std::path::Path::new(&s.config.recording.dir).join(&rows[0].dir);
    let m = convene_record::Manifest::load(&dir).expect("manifest");
    assert_eq!(m.state, convene_record::RecordingState::Complete);
    assert!(m.tracks.is_empty());
    // Both ends are in the audit log.
    let store = s.store().await;
    let meeting = store.meetings(Some("rec-ctl"), 1).await.unwrap().remove(0);
    let actions: Vec<String> = store
        .moderation_log(meeting.id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"start_recording".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"stop_recording".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_the_record_grant_may_record() {
    let s = TestServer::with(|c| c.auth.token_keys = vec![KEY.into()]).await;
    let (_host, _) = join(&s, "rec-tok", "Ada", As::Guest).await;
    let make = |record| {
        let grants = Grants {
            record,
            ..Grants::default()
        };
        tokens::make(&s.config, "rec-tok", "bot", None, Some(600), grants, None)
            .expect("token")
            .0
    };
    let (with, without) = (make(true), make(false));
    let (mut plain, plain_joined) = join(&s, "rec-tok", "Plain", As::Token(&without)).await;
    // Each learns whether it may record: only while host or co-host, or always by the grant.
    assert_eq!(plain_joined.record_power, RecordPower::Moderator);
    refused(
        &mut plain,
        ClientMessage::StartRecording,
        ErrorCode::Forbidden,
    )
    .await;
    let (mut recorder, rec_joined) = join(&s, "rec-tok", "Rec", As::Token(&with)).await;
    assert_eq!(rec_joined.record_power, RecordPower::Grant);
    accepted(&mut recorder, ClientMessage::StartRecording).await;
    assert_eq!(
        started(&mut plain).await.by_name.as_deref(),
        Some("Rec"),
        "the token holder is named"
    );
    accepted(&mut recorder, ClientMessage::StopRecording).await;
    assert_eq!(stopped(&mut plain).await, RecordingStopReason::Stopped);
    // The grant's word on the command line.
    let g = tokens::grants_from_words(&["record".into()]).expect("grants");
    assert!(g.record && !g.room_admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_planned_with_record_on_connect_records_from_its_start() {
    let s = TestServer::start().await;
    let owner = http::signed_up(s.addr, "o@example.org").await;
    let made = http::request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &owner)],
        Some(serde_json::json!({ "unique_name": "taped", "record_on_connect": true })),
    )
    .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    assert_eq!(made.body["record_on_connect"], true);
    let (_first, joined) = join(&s, "taped", "Guest", As::Guest).await;
    let status = joined
        .recording
        .expect("the first joiner learns it in joined");
    assert_eq!(status.by_name, None, "nobody started it: the plan did");
    let rows = rows_when(&s, "taped", |r| r.len() == 1).await;
    assert_eq!(rows[0].started_by, None);

    // PATCH turns it off for later meetings.
    let patched = http::request(
        s.addr,
        "PATCH",
        "/api/v1/rooms/taped",
        &[("Cookie", &owner)],
        Some(serde_json::json!({ "record_on_connect": false })),
    )
    .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(patched.body["record_on_connect"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_under_the_threshold_refuses_to_start() {
    // A threshold no disk meets: nothing may start, with a clear error.
    let s = TestServer::with(|c| c.recording.min_free_mb = u64::MAX / (1024 * 1024)).await;
    let (mut host, _) = join(&s, "rec-full", "Ada", As::Guest).await;
    refused(
        &mut host,
        ClientMessage::StartRecording,
        ErrorCode::ServerBusy,
    )
    .await;
    let (_late, joined) = join(&s, "rec-full", "Bo", As::Guest).await;
    assert_eq!(joined.recording, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_filling_up_stops_the_recording_with_disk_full() {
    // The threshold sits 64 MiB under the free space now; writing 256 MiB crosses it.
    let probe = tempfile::tempdir().expect("temp dir");
    let free = convene_server::recording::disk::free_bytes(probe.path()).expect("statvfs");
    let threshold_mb = (free / (1024 * 1024)).saturating_sub(64);
    let s = TestServer::with(|c| {
        c.recording.min_free_mb = threshold_mb;
        c.recording.disk_check_secs = 1;
    })
    .await;
    let (mut host, _) = join(&s, "rec-fill", "Ada", As::Guest).await;
    ask(&mut host, ClientMessage::StartRecording).await;
    // Beside the recordings (the same file system).
    let filler = std::path::Path::new(&s.config.recording.dir).with_file_name("filler.bin");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![7u8; 1024 * 1024];
        for _ in 0..256 {
            f.write_all(&chunk).expect("write");
        }
        f.sync_all().expect("sync");
    }
    let reason = tokio::time::timeout(std::time::Duration::from_secs(10), stopped(&mut host))
        .await
        .expect("the guard stops the recording within a few seconds");
    std::fs::remove_file(&filler).expect("remove the filler");
    assert_eq!(reason, RecordingStopReason::DiskFull);
    rows_when(&s, "rec-fill", |r| {
        r.len() == 1 && r[0].state == RecordingRowState::Complete
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_past_their_retention_are_deleted_files_and_rows() {
    let mut s = TestServer::start().await;
    let store = s.store().await;
    let m = store
        .create_meeting(&convene_store::NewMeeting {
            room: "old".into(),
            creator: None,
            created_at: 1_000,
            max_participants: 10,
            settings_json: "{}".into(),
            node_id: "elsewhere".into(),
            public_id: "m_old".into(),
        })
        .await
        .expect("meeting");
    let root = std::path::PathBuf::from(&s.config.recording.dir);
    for (id, at) in [
        ("rec_old", 1_000),
        ("rec_new", convene_server::clock::now_ms()),
    ] {
        store
            .add_recording(&convene_store::NewRecording {
                public_id: id.into(),
                meeting: m,
                started_at: at,
                dir: id.into(),
                started_by: None,
                node_id: "node-1".into(),
            })
            .await
            .expect("row");
        let end = convene_store::RecordingEnd {
            state: RecordingRowState::Complete,
            ended_at: Some(at + 10),
            bytes: 4,
            duration_ms: Some(10),
        };
        store.end_recording(id, &end).await.expect("end");
        std::fs::create_dir_all(root.join(id)).unwrap();
        std::fs::write(root.join(id).join("001-p-camera.webm"), b"webm").unwrap();
    }
    s.stop().await.expect("stop");
    // Kept for a day: the sweep at start deletes the old one only.
    let _s = s.start_again_with(|c| c.recording.retention_days = 1).await;
    for _ in 0..100 {
        if !root.join("rec_old").exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!root.join("rec_old").exists(), "the old files are gone");
    assert!(store.recording("rec_old").await.unwrap().is_none());
    assert!(root.join("rec_new").exists());
    assert!(store.recording("rec_new").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_finishes_the_recording_and_everyone_is_told() {
    let mut s = TestServer::start().await;
    let (mut host, _) = join(&s, "rec-drain", "Ada", As::Guest).await;
    ask(&mut host, ClientMessage::StartRecording).await;
    let store = s.store().await;
    let meeting = store
        .meetings(Some("rec-drain"), 1)
        .await
        .unwrap()
        .remove(0);
    s.stop().await.expect("stop");
    assert_eq!(stopped(&mut host).await, RecordingStopReason::Stopped);
    // Its row is written before the server returns.
    let rows = store.recordings(meeting.id).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, RecordingRowState::Complete, "{:?}", rows[0]);
    let dir = std::path::Path::new(&s.config.recording.dir).join(&rows[0].dir);
    let m = convene_record::Manifest::load(&dir).expect("manifest");
    assert_eq!(m.state, convene_record::RecordingState::Complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_does_not_record_says_so_and_refuses() {
    let s = TestServer::with(|c| c.recording.enabled = false).await;
    let (mut host, joined) = join(&s, "rec-off", "Ada", As::Guest).await;
    assert_eq!(
        joined.record_power,
        RecordPower::None,
        "no recording control to show"
    );
    refused(
        &mut host,
        ClientMessage::StartRecording,
        ErrorCode::Forbidden,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_record_past_its_retention_takes_its_recordings_folders_along() {
    let mut s = TestServer::start().await;
    let store = s.store().await;
    let root = std::path::PathBuf::from(&s.config.recording.dir);
    let now = convene_server::clock::now_ms();
    // One meeting ended long ago, one just now; each recorded (recordings themselves kept forever).
    for (room, ended) in [("long-ago", 2_000), ("just-now", now)] {
        let m = store
            .create_meeting(&convene_store::NewMeeting {
                room: room.into(),
                creator: None,
                created_at: ended - 1_000,
                max_participants: 10,
                settings_json: "{}".into(),
                node_id: "elsewhere".into(),
                public_id: format!("m_{room}"),
            })
            .await
            .expect("meeting");
        let id = format!("rec_{room}");
        store
            .add_recording(&convene_store::NewRecording {
                public_id: id.clone(),
                meeting: m,
                started_at: ended - 900,
                dir: id.clone(),
                started_by: None,
                node_id: "node-1".into(),
            })
            .await
            .expect("row");
        let end = convene_store::RecordingEnd {
            state: RecordingRowState::Complete,
            ended_at: Some(ended - 100),
            bytes: 4,
            duration_ms: Some(800),
        };
        store.end_recording(&id, &end).await.expect("end");
        store.end_meeting(m, ended).await.expect("end meeting");
        std::fs::create_dir_all(root.join(&id)).unwrap();
        std::fs::write(root.join(&id).join("001-p-camera.webm"), b"webm").unwrap();
    }
    s.stop().await.expect("stop");
    // Meeting records kept for a day: the old meeting goes at start, and its recording's folder.
    let _s = s
        .start_again_with(|c| {
            c.database.retention_days = 1;
            c.recording.retention_days = 0;
        })
        .await;
    for _ in 0..100 {
        if store.recording("rec_long-ago").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(store.recording("rec_long-ago").await.unwrap().is_none());
    assert!(!root.join("rec_long-ago").exists(), "no folder left behind");
    assert!(root.join("rec_just-now").exists());
    assert!(store.recording("rec_just-now").await.unwrap().is_some());
}
