//! The real `convene` binary: crash consistency after SIGKILL, and a graceful drain on SIGTERM.

mod common;
#[path = "support/raw_ws.rs"]
mod raw_ws;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use convene_client::{join_msg, Signaling};
use convene_proto::{ClientMessage, ServerMessage};
use convene_store::{LeaveReason, Store};

struct Proc {
    child: Child,
    addr: String,
}

fn start(db_url: &str) -> Proc {
    start_with(db_url, "10")
}

fn start_with(db_url: &str, drain_deadline_secs: &str) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convene"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            db_url,
            "--drain-deadline-secs",
            drain_deadline_secs,
            "--set",
            "database.heartbeat_secs=1",
            "--set",
            "media.udp_port=0",
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
    Proc { child, addr }
}

async fn join(addr: &str, room: &str, name: &str) -> (Signaling, convene_proto::Joined) {
    let mut c = Signaling::connect(&format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let j = c.join(join_msg(room, name)).await.unwrap();
    (c, j)
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_then_restart_closes_every_session_and_keeps_every_acknowledged_chat() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    let mut p = start(&db);
    let (mut a, ja) = join(&p.addr, "crash", "Ada").await;
    let (mut b, jb) = join(&p.addr, "crash", "Bob").await;
    let mut acked = Vec::new();
    for i in 0..20 {
        let c = if i % 2 == 0 { &mut a } else { &mut b };
        let text = format!("message {i}");
        c.send(&ClientMessage::ChatSend {
            text: text.clone(),
            client_msg_id: None,
        })
        .await
        .unwrap();
        // Acknowledged = broadcast back to the sender.
        c.recv_until(|m| match m {
            ServerMessage::Chat { message } if message.text == text => Some(()),
            _ => None,
        })
        .await
        .unwrap();
        acked.push(text);
    }
    // Let at least one heartbeat mark the sessions alive, then die without any warning.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_at = convene_server::clock::now_ms();
    p.child.kill().unwrap();
    p.child.wait().unwrap();
    drop((a, b));

    let mut p2 = start(&db);
    let store = convene_store::connect(&db).await.unwrap();
    let meeting = &store.meetings(Some("crash"), 1).await.unwrap()[0];
    let ended = meeting.ended_at.expect("the meeting was closed at restart");
    assert!(
        ended <= killed_at,
        "ended at the last sign of life, not at restart"
    );
    let sessions = store.sessions(meeting.id).await.unwrap();
    assert_eq!(sessions.len(), 2);
    for s in &sessions {
        assert_eq!(s.leave_reason, Some(LeaveReason::ServerRestart), "{s:?}");
        let left = s.left_at.unwrap();
        assert!(
            left >= s.joined_at && left <= killed_at,
            "{s:?} killed at {killed_at}"
        );
        assert!(
            left > s.joined_at,
            "the heartbeat moved last-seen past the join"
        );
    }
    let ids: Vec<&str> = sessions.iter().map(|s| s.participant_id.as_str()).collect();
    assert!(ids.contains(&ja.participant_id.as_str()) && ids.contains(&jb.participant_id.as_str()));
    let history = store.chat_history(meeting.id, 1000).await.unwrap();
    let texts: Vec<String> = history.iter().map(|m| m.text.clone()).collect();
    assert_eq!(
        texts, acked,
        "every acknowledged message is in the record, in order"
    );
    let seqs: Vec<i64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    sigterm(&p2.child);
    assert!(p2.child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_tells_everyone_closes_rows_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("d.db").display());
    let mut p = start(&db);
    let mut clients = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        clients.push(join(&p.addr, "drain", name).await.0);
    }
    let started = Instant::now();
    sigterm(&p.child);
    for c in &mut clients {
        common::expect_shutdown(c).await;
    }
    let status = tokio::task::spawn_blocking(move || p.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "within the deadline"
    );
    let store = convene_store::connect(&db).await.unwrap();
    let meeting = &store.meetings(Some("drain"), 1).await.unwrap()[0];
    assert!(meeting.ended_at.is_some());
    let sessions = store.sessions(meeting.id).await.unwrap();
    assert_eq!(sessions.len(), 3);
    for s in sessions {
        assert_eq!(s.leave_reason, Some(LeaveReason::ServerShutdown));
    }
}

/// A drain that reaches its deadline is not a failure: a client that never answers the close
/// frame is cut off and the process still exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_that_reaches_its_deadline_exits_zero() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("e.db").display());
    let mut p = start_with(&db, "1");
    let addr: std::net::SocketAddr = p.addr.parse().unwrap();
    let (ok, _) = join(&p.addr, "deadline", "Ada").await;
    // A raw client that joins, then neither reads nor answers anything.
    let mut mute = raw_ws::connect(addr).await;
    let msg = serde_json::to_string(&join_msg("deadline", "Mute")).unwrap();
    mute.write_all(&raw_ws::text(&msg)).await.unwrap();
    let mut some = [0u8; 64];
    let _ = mute.read(&mut some).await.unwrap();
    let started = Instant::now();
    sigterm(&p.child);
    let status = tokio::task::spawn_blocking(move || p.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    drop((ok, mute));
}

fn convene(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_convene"))
        .args(args)
        .env_remove("CONVENE_CONFIG")
        .output()
        .expect("run convene");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_names_the_bad_key_or_says_ok() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (_, help, _) = convene(&["config", "--help"]);
    assert!(help.contains("check"), "{help}");

    let good = file("good.toml", "[rooms]\nmax_participants = 12\n");
    let (ok, out, err) = convene(&["config", "check", "--config", &good]);
    assert!(ok, "{out}{err}");
    assert_eq!(out.trim(), "ok");

    let unknown = file("unknown.toml", "[rooms]\nmax_particpants = 12\n");
    let wrong_type = file("type.toml", "[rooms]\nmax_participants = \"many\"\n");
    for (args, key) in [
        (vec!["--config", unknown.as_str()], "max_particpants"),
        (vec!["--config", wrong_type.as_str()], "max_participants"),
        (
            vec!["--set", "rooms.max_participants=0"],
            "rooms.max_participants",
        ),
        (
            vec!["--set", "server.public_origins=evil"],
            "server.public_origins",
        ),
        (vec!["--set", "rooms.nope=1"], "rooms.nope"),
        (
            vec!["--set", "server.http_header_timeout_secs=0"],
            "server.http_header_timeout_secs",
        ),
        (
            vec!["--set", "server.http_idle_timeout_secs=0"],
            "server.http_idle_timeout_secs",
        ),
        (
            vec!["--set", "media.ice_tcp_handshake_timeout_secs=0"],
            "media.ice_tcp_handshake_timeout_secs",
        ),
        (
            vec!["--set", "database.acquire_timeout_secs=0"],
            "database.acquire_timeout_secs",
        ),
        (
            vec!["--set", "database.acquire_timeout_secs=301"],
            "database.acquire_timeout_secs",
        ),
        (vec!["--max-participants", "0"], "rooms.max_participants"),
        (
            vec![
                "--tls-cert",
                "/nonexistent/c.pem",
                "--tls-key",
                "/nonexistent/k.pem",
            ],
            "/nonexistent/c.pem",
        ),
    ] {
        let mut all = vec!["config", "check"];
        all.extend(args.iter().copied());
        let (ok, out, err) = convene(&all);
        assert!(!ok, "{all:?} passed: {out}");
        assert!(err.contains(key), "{all:?}: {err}");
        assert!(!out.contains("ok"), "{all:?}: {out}");
    }
}
