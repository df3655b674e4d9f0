//! Rooms over real WebSocket connections to an in-process server.

mod common;

use std::time::Duration;

use common::{assert_quiet, chat, TestServer};
use convene_client::{join_msg, ClientError};
use convene_proto::{ClientMessage, ErrorCode, Role, ServerMessage};

#[tokio::test]
async fn join_and_leave_presence() {
    let s = TestServer::start().await;
    let (mut a, ja) = s.join("Standup", "Ada").await;
    assert_eq!(ja.room.0, "standup", "room names are case-insensitive");
    assert_eq!(ja.role, Role::Host, "the first to join hosts");
    assert_eq!(ja.participants.len(), 1);
    assert!(!ja.resumed);

    let (mut b, jb) = s.join("STANDUP", "  Bob  ").await;
    assert_eq!(jb.role, Role::Participant);
    assert_eq!(jb.participants.len(), 2);
    let me = jb
        .participants
        .iter()
        .find(|p| p.id == jb.participant_id)
        .unwrap();
    assert_eq!(me.display_name, "Bob", "display names are trimmed");
    assert_ne!(ja.participant_id, jb.participant_id);

    let joined = a
        .recv_until(|m| match m {
            ServerMessage::ParticipantJoined { participant } => Some(participant.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(joined.id, jb.participant_id);
    assert_eq!(joined.display_name, "Bob");

    b.send(&ClientMessage::Leave).await.unwrap();
    let (left, reason) = common::next_left(&mut a).await;
    assert_eq!(left, jb.participant_id);
    assert_eq!(reason, "left");
    assert_eq!(s.metric("convene_participants").await, 1.0);
    assert_eq!(s.metric("convene_rooms").await, 1.0);
}

#[tokio::test]
async fn chat_is_broadcast_and_late_joiners_get_history() {
    let s = TestServer::start().await;
    let (mut a, _) = s.join("chat-room", "Ada").await;
    let (mut b, jb) = s.join("chat-room", "Bob").await;
    for i in 1..=3 {
        b.send(&chat(&format!("hello {i}"))).await.unwrap();
    }
    for c in [&mut a, &mut b] {
        let mut got = Vec::new();
        while got.len() < 3 {
            let m = common::next_chat(c).await;
            got.push(m);
        }
        let seqs: Vec<i64> = got.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(got[0].text, "hello 1");
        assert_eq!(
            got[0].from, jb.participant_id,
            "the sender is who the session says"
        );
        assert_eq!(got[0].from_name, "Bob");
    }
    let (_c, jc) = s.join("chat-room", "Cy").await;
    let texts: Vec<&str> = jc.chat_history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, vec!["hello 1", "hello 2", "hello 3"]);

    // And it is in the meeting record.
    let store = s.store().await;
    use convene_store::Store;
    let meetings = store.meetings(Some("chat-room"), 10).await.unwrap();
    let history = store.chat_history(meetings[0].id, 100).await.unwrap();
    assert_eq!(history.len(), 3);
}

#[tokio::test]
async fn history_holds_the_last_100() {
    let s = TestServer::with(|c| {
        c.limits.messages_per_sec = 1000;
        c.limits.messages_burst = 1000;
    })
    .await;
    let (mut a, _) = s.join("long", "Ada").await;
    for i in 1..=105 {
        a.send(&chat(&format!("m{i}"))).await.unwrap();
    }
    a.recv_until(|m| match m {
        ServerMessage::Chat { message } if message.seq == 105 => Some(()),
        _ => None,
    })
    .await
    .unwrap();
    let (_b, jb) = s.join("long", "Bob").await;
    assert_eq!(jb.chat_history.len(), 100);
    assert_eq!(jb.chat_history[0].text, "m6");
    assert_eq!(jb.chat_history[99].text, "m105");
}

#[tokio::test]
async fn hand_and_mute_reach_the_others() {
    let s = TestServer::start().await;
    let (mut a, _) = s.join("state", "Ada").await;
    let (mut b, jb) = s.join("state", "Bob").await;
    b.send(&ClientMessage::SetHand { raised: true })
        .await
        .unwrap();
    let p = common::next_update(&mut a).await;
    assert_eq!(p.id, jb.participant_id);
    assert!(p.hand_raised);
    b.send(&ClientMessage::SetMuted {
        mic: Some(true),
        camera: None,
    })
    .await
    .unwrap();
    let p = common::next_update(&mut a).await;
    assert!(p.mic_muted && !p.camera_muted && p.hand_raised);
    // A late joiner sees the state in `joined`.
    let (_c, jc) = s.join("state", "Cy").await;
    let bob = jc
        .participants
        .iter()
        .find(|p| p.id == jb.participant_id)
        .unwrap();
    assert!(bob.hand_raised && bob.mic_muted);
}

#[tokio::test]
async fn room_full() {
    let s = TestServer::with(|c| c.rooms.max_participants = 2).await;
    let (_a, _) = s.join("small", "Ada").await;
    let (_b, _) = s.join("small", "Bob").await;
    let mut c = s.client().await;
    match c.join(join_msg("small", "Cy")).await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::RoomFull),
        other => panic!("expected room_full, got {other:?}"),
    }
    // Another room is not affected, and the refused connection can still join elsewhere.
    c.join(join_msg("other", "Cy")).await.unwrap();
}

#[tokio::test]
async fn default_limit_is_100() {
    let s = TestServer::start().await;
    let mut clients = Vec::new();
    for i in 0..100 {
        clients.push(s.join("big", &format!("p{i}")).await.0);
    }
    let mut extra = s.client().await;
    match extra.join(join_msg("big", "one too many")).await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::RoomFull),
        other => panic!("expected room_full, got {other:?}"),
    }
}

#[tokio::test]
async fn resume_within_window_keeps_id_without_events() {
    let s = TestServer::start().await;
    let (mut a, _) = s.join("resume", "Ada").await;
    let (b, jb) = s.join("resume", "Bob").await;
    a.recv_until(|m| matches!(m, ServerMessage::ParticipantJoined { .. }).then_some(()))
        .await
        .unwrap();
    b.abort();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut b2 = s.client().await;
    let mut msg = join_msg("resume", "Bob");
    if let ClientMessage::Join { resume_token, .. } = &mut msg {
        *resume_token = Some(jb.resume_token.clone());
    }
    let j2 = b2.join(msg.clone()).await.unwrap();
    assert!(j2.resumed);
    assert_eq!(j2.participant_id, jb.participant_id);
    assert_ne!(j2.resume_token, jb.resume_token, "tokens rotate");
    assert_eq!(j2.participants.len(), 2);
    assert_quiet(&mut a, Duration::from_millis(800), "presence event", |m| {
        matches!(
            m,
            ServerMessage::ParticipantLeft { .. } | ServerMessage::ParticipantJoined { .. }
        )
    })
    .await;
    // The old token no longer works: presenting it joins as someone new.
    let mut b3 = s.client().await;
    let j3 = b3.join(msg).await.unwrap();
    assert!(!j3.resumed);
    assert_ne!(j3.participant_id, jb.participant_id);
}

#[tokio::test]
async fn resume_after_window_gets_a_new_id() {
    let s = TestServer::with(|c| c.rooms.resume_window_secs = 1).await;
    let (mut a, _) = s.join("late", "Ada").await;
    let (b, jb) = s.join("late", "Bob").await;
    b.abort();
    let (left, reason) = common::next_left(&mut a).await;
    assert_eq!(left, jb.participant_id);
    assert_eq!(reason, "disconnected");
    let mut b2 = s.client().await;
    let mut msg = join_msg("late", "Bob");
    if let ClientMessage::Join { resume_token, .. } = &mut msg {
        *resume_token = Some(jb.resume_token);
    }
    let j2 = b2.join(msg).await.unwrap();
    assert!(!j2.resumed);
    assert_ne!(j2.participant_id, jb.participant_id);
}

#[tokio::test]
async fn a_dead_connection_is_noticed() {
    // A client that stops answering (its TCP stays open, it sends nothing, not even pongs).
    let s = TestServer::with(|c| {
        c.websocket.ping_interval_secs = 1;
        c.websocket.idle_timeout_secs = 2;
        c.rooms.resume_window_secs = 1;
    })
    .await;
    let (mut a, _) = s.join("dead", "Ada").await;
    let mut raw = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    // A hand-made WebSocket client that joins and then goes silent.
    raw.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let payload = br#"{"type":"join","room":"dead","display_name":"Ghost"}"#;
    let mut frame = vec![0x81, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    raw.write_all(&frame).await.unwrap();
    a.timeout = Duration::from_secs(10);
    a.recv_until(|m| matches!(m, ServerMessage::ParticipantJoined { .. }).then_some(()))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let reason = a
        .recv_until(|m| match m {
            ServerMessage::ParticipantLeft { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(reason, "disconnected");
    // Idle timeout (2 s) plus the resume window (1 s), with slack.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    drop(raw);
}

#[tokio::test]
async fn ping_pong() {
    let s = TestServer::start().await;
    let mut c = s.client().await;
    c.send(&ClientMessage::Ping { ts: Some(42.5) })
        .await
        .unwrap();
    match c.recv().await.unwrap() {
        ServerMessage::Pong { ts, server_time } => {
            assert_eq!(ts, Some(42.5));
            assert!(server_time > 1_600_000_000_000);
        }
        m => panic!("expected pong, got {m:?}"),
    }
}

#[tokio::test]
async fn the_room_ends_after_its_grace_period_and_the_meeting_is_closed() {
    let s = TestServer::with(|c| c.rooms.empty_grace_secs = 1).await;
    let (mut a, _) = s.join("brief", "Ada").await;
    a.send(&ClientMessage::Leave).await.unwrap();
    let _ = a.closed().await;
    for _ in 0..100 {
        if s.metric("convene_rooms").await == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.metric("convene_rooms").await, 0.0);
    use convene_store::Store;
    let store = s.store().await;
    let m = &store.meetings(Some("brief"), 10).await.unwrap()[0];
    assert!(m.ended_at.is_some());
    let sessions = store.sessions(m.id).await.unwrap();
    assert_eq!(
        sessions[0].leave_reason,
        Some(convene_store::LeaveReason::Left)
    );
    // A join now starts a new meeting.
    let (_b, jb) = s.join("brief", "Bob").await;
    assert_eq!(jb.role, Role::Host);
    assert_eq!(store.meetings(Some("brief"), 10).await.unwrap().len(), 2);
}
