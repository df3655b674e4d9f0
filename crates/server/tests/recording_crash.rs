//! A recording cut by kill -9: the real `convene` binary records a publisher, is killed without
//! warning, and started again. The track files read back up to near the kill, the manifest says
//! the recording was cut, and its row is `interrupted` with what the files hold.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use convene_client::{join_msg, Layers, MediaConfig, MediaSession, PublishOptions, Signaling};
use convene_proto::{ClientMessage, ServerMessage};
use convene_record::{read_file, Manifest, RecordingState, TrackState};
use convene_store::{RecordingRowState, Store};

/// Starts the binary on `dir` (its database, files and recordings); returns it and its address.
fn start(dir: &Path) -> (Child, String) {
    let set = |k: &str, v: &Path| format!("{k}={}", v.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_convene"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &format!("sqlite://{}", dir.join("c.db").display()),
            "--set",
            "media.udp_port=0",
            "--set",
            &set("files.dir", &dir.join("files")),
            "--set",
            &set("recording.dir", &dir.join("recordings")),
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start convene");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.trim().to_owned());
                    sent = true;
                }
            }
            println!("[convene] {line}");
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server printed its address");
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_cut_by_kill_9_reads_back_to_near_the_kill_and_is_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start(dir.path());
    let mut sig = Signaling::connect(&format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let joined = sig.join(join_msg("cut", "Ada")).await.unwrap();
    let config = MediaConfig {
        publish: PublishOptions {
            layers: Layers::One,
            video_bitrate_bps: 200_000,
            width: 320,
            height: 240,
            ..PublishOptions::default()
        },
        ..MediaConfig::default()
    };
    let mut media = MediaSession::start(sig, joined.participant_id, config)
        .await
        .unwrap();
    media.send(ClientMessage::StartRecording).await.unwrap();
    media
        .recv_until(|m| match m {
            ServerMessage::RecordingStarted { .. } => Some(()),
            ServerMessage::Error { message, .. } => panic!("refused: {message}"),
            _ => None,
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let killed_at = convene_server::clock::now_ms();
    child.kill().unwrap();
    child.wait().unwrap();
    drop(media);

    let (mut again, _) = start(dir.path());
    let store = convene_store::connect(&format!("sqlite://{}", dir.path().join("c.db").display()))
        .await
        .unwrap();
    let meeting = store.meetings(Some("cut"), 1).await.unwrap().remove(0);
    let rows = store.recordings(meeting.id).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.state, RecordingRowState::Interrupted, "{row:?}");
    let folder = dir.path().join("recordings").join(&row.dir);
    let m = Manifest::load(&folder).expect("manifest");
    assert_eq!(m.state, RecordingState::Interrupted);
    assert_eq!(m.tracks.len(), 2, "{:?}", m.tracks);
    let meeting_start = m.started_at.wall.0 as i64 - m.started_at.meeting.0 as i64;
    let mut bytes = 0;
    for t in &m.tracks {
        assert_eq!(t.state, TrackState::Cut, "{}", t.file);
        let (_, frames) = read_file(&folder.join(&t.file)).expect("the cut file reads");
        assert_eq!(
            frames.len() as u64,
            t.frames,
            "the manifest says what it holds"
        );
        let last = frames.last().expect("frames before the kill");
        let last_at = meeting_start + last.pts.as_millis() as i64;
        // Written to the OS at least every second of media: at most that (and a frame) is lost.
        assert!(
            killed_at - last_at <= 2_500,
            "{}: ends {} ms before the kill",
            t.file,
            killed_at - last_at
        );
        assert!(frames.len() > 100, "{}: {} frames", t.file, frames.len());
        bytes += std::fs::metadata(folder.join(&t.file)).unwrap().len();
    }
    assert_eq!(row.bytes as u64, bytes);
    assert!(row.duration_ms.unwrap_or(0) >= 4_000, "{row:?}");
    again.kill().unwrap();
    again.wait().unwrap();
}
