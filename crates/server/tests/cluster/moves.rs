//! A room's node drains or dies: its people come back on a live node as themselves.

use std::time::Duration;

use convene_client::{
    JoinRequest, Meeting, MeetingEvent, MeetingOptions, PublishOptions, Reconnect,
};
use convene_proto::{ClientMessage, MediaKind, ParticipantId, ServerMessage, Source, TrackId};

use super::{light, room, video_from, Env};

/// SIGTERM to a room's node: it drains (its people are told and its records closed) and leaves the
/// cluster; its people come back through the balancer on a live node as the same participants.
/// Returns the index of the drained node.
pub async fn a_drained_nodes_people_resume_on_a_live_node(env: &Env, ids: &[String]) -> usize {
    let name = room("drain");
    let url = format!("ws://{}/ws", env.lb);
    let options = || MeetingOptions {
        publish: PublishOptions::none(),
        reconnect: Some(Reconnect {
            max_delay: Duration::from_millis(500),
            ..Reconnect::default()
        }),
        ..MeetingOptions::default()
    };
    let mut a = Meeting::join(&url, JoinRequest::new(name.as_str(), "Ava"), options())
        .await
        .expect("join");
    let mut b = Meeting::join(&url, JoinRequest::new(name.as_str(), "Bo"), options())
        .await
        .expect("join");
    let (ia, ib) = (
        a.joined().participant_id.clone(),
        b.joined().participant_id.clone(),
    );
    let node: String = sqlx::query_scalar("SELECT node_id FROM meetings WHERE room = $1")
        .bind(&name)
        .fetch_one(&env.db)
        .await
        .expect("the meeting's node");
    let victim = ids
        .iter()
        .position(|id| *id == node)
        .expect("a node of ours");
    let pid = env.pids[victim].to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    for (m, me, other) in [(&mut a, &ia, &ib), (&mut b, &ib, &ia)] {
        let joined = back_as_themselves(m, me).await;
        assert!(joined.participants.iter().any(|p| &p.id == other));
    }
    let (now_on, ended): (String, Option<i64>) =
        sqlx::query_as("SELECT node_id, ended_at FROM meetings WHERE room = $1")
            .bind(&name)
            .fetch_one(&env.db)
            .await
            .expect("the one meeting");
    assert!(now_on != node && ended.is_none(), "reopened on {now_on}");
    // The drain deadline is 5 s.
    let mut exited = false;
    for _ in 0..100 {
        let alive = std::process::Command::new("kill")
            .args(["-0", &pid])
            .status()
            .expect("kill -0");
        if !alive.success() {
            exited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(exited, "the drained node exits");
    a.leave().await.expect("leave");
    b.leave().await.expect("leave");
    victim
}

/// Waits (15 s at most) until `m` is back in its meeting as `me`, having seen nobody leave;
/// returns the new `joined`.
async fn back_as_themselves(m: &mut Meeting, me: &ParticipantId) -> Box<convene_proto::Joined> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let e = tokio::time::timeout_at(deadline, m.next_event())
            .await
            .unwrap_or_else(|_| panic!("{me} is not back within 15 s: {seen:#?}"))
            .expect("the meeting goes on");
        if let MeetingEvent::Reconnected {
            participant_id,
            resumed,
        } = &e
        {
            assert_eq!((participant_id, *resumed), (me, true), "{seen:#?}");
            break;
        }
        if let MeetingEvent::Message(ServerMessage::ParticipantLeft { participant_id, .. }) = &e {
            panic!("{me} saw {participant_id} leave");
        }
        seen.push(e);
    }
    seen.iter()
        .rev()
        .find_map(|e| match e {
            MeetingEvent::Message(ServerMessage::Joined(j)) => Some(j.clone()),
            _ => None,
        })
        .expect("a new joined")
}

/// kill -9 of a room's node: its clients come back by themselves through the balancer, on a live
/// node, as the same participants (nobody sees anyone leave), with the chat and media flowing again;
/// a survivor closed the dead node's records at its last heartbeat, reason `node_lost`, once.
pub async fn a_lost_nodes_people_resume_on_a_live_node(env: &Env, ids: &[String], gone: usize) {
    let name = room("lost");
    let url = format!("ws://{}/ws", env.lb);
    let options = || MeetingOptions {
        publish: light(),
        reconnect: Some(Reconnect {
            max_delay: Duration::from_millis(500),
            ..Reconnect::default()
        }),
        ..MeetingOptions::default()
    };
    let mut a = Meeting::join(&url, JoinRequest::new(name.as_str(), "Ann"), options())
        .await
        .expect("join");
    let mut b = Meeting::join(&url, JoinRequest::new(name.as_str(), "Ben"), options())
        .await
        .expect("join");
    let (ia, ib) = (
        a.joined().participant_id.clone(),
        b.joined().participant_id.clone(),
    );
    video_from(&b, &ia, 10).await;
    a.send(ClientMessage::ChatSend {
        text: "before the crash".into(),
        client_msg_id: None,
    })
    .await
    .expect("chat");
    for m in [&mut a, &mut b] {
        loop {
            let e = tokio::time::timeout(Duration::from_secs(10), m.next_event())
                .await
                .expect("the chat arrives")
                .expect("the meeting goes on");
            if matches!(e, MeetingEvent::Message(ServerMessage::Chat { .. })) {
                break;
            }
        }
    }
    // Ann hosts: she locks the meeting and host-mutes Ben's microphone, which must hold on the
    // node the meeting moves to (kept in the record as they change).
    a.send(ClientMessage::MuteParticipant {
        participant_id: ib.clone(),
        source: Source::Microphone,
    })
    .await
    .expect("mute");
    a.send(ClientMessage::SetLocked { locked: true })
        .await
        .expect("lock");
    let mut kept = false;
    for _ in 0..100 {
        let (settings, muted): (String, String) = sqlx::query_as(
            "SELECT m.settings_json, s.host_muted FROM meetings m JOIN participant_sessions s \
             ON s.meeting_id = m.id WHERE m.room = $1 AND s.participant_id = $2",
        )
        .bind(&name)
        .bind(&ib.0)
        .fetch_one(&env.db)
        .await
        .expect("the record");
        if settings.contains("\"locked\":true") && muted.contains("microphone") {
            kept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        kept,
        "the lock and the mute are in the record before the crash"
    );
    let node: String = sqlx::query_scalar("SELECT node_id FROM meetings WHERE room = $1")
        .bind(&name)
        .fetch_one(&env.db)
        .await
        .expect("the meeting's node");
    let victim = ids
        .iter()
        .position(|id| *id == node)
        .expect("a node of ours");
    assert_ne!(victim, gone, "the drained node took no new room");
    let old_tracks: Vec<TrackId> = b
        .stats()
        .await
        .expect("stats")
        .tracks_from(&ia)
        .map(|t| t.track_id.clone())
        .collect();
    // A composition the node was running when it died (its row; ffmpeg's part is tested on one
    // node in tests/compositions.rs): a survivor must fail it, or it shows as running for ever.
    let composing = format!("c_lost_{name}");
    sqlx::query(
        "INSERT INTO compositions (public_id, meeting_id, recording, node_id, state, created_at) \
         SELECT $1, id, 'r_lost', $2, 'running', 0 FROM meetings WHERE room = $3",
    )
    .bind(&composing)
    .bind(&node)
    .bind(&name)
    .execute(&env.db)
    .await
    .expect("a running composition of the node");
    let killed = std::process::Command::new("kill")
        .args(["-9", &env.pids[victim].to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let started = std::time::Instant::now();
    for (m, me, other) in [(&mut a, &ia, &ib), (&mut b, &ib, &ia)] {
        let joined = back_as_themselves(m, me).await;
        assert!(
            joined
                .chat_history
                .iter()
                .any(|c| c.text == "before the crash"),
            "the chat came back from the record"
        );
        assert!(
            joined.participants.iter().any(|p| &p.id == other),
            "the other is still listed"
        );
        let stored: (String, i64) =
            sqlx::query_as("SELECT settings_json, id FROM meetings WHERE room = $1")
                .bind(&name)
                .fetch_one(&env.db)
                .await
                .expect("the meeting");
        assert!(
            joined.settings.locked,
            "still locked on the new node: record {stored:?}, joined {:?}",
            joined.settings
        );
        let ben = joined
            .participants
            .iter()
            .find(|p| p.id == ib)
            .expect("Ben");
        assert!(
            ben.host_muted.contains(&Source::Microphone),
            "Ben's microphone still host-muted: {ben:?}"
        );
    }
    println!(
        "both clients resumed {:.1} s after kill -9",
        started.elapsed().as_secs_f64()
    );
    // Media again, on a new track of Ann's (the new node's).
    let mut again = false;
    for _ in 0..200 {
        let st = b.stats().await.expect("stats");
        if st.tracks_from(&ia).any(|t| {
            t.kind == MediaKind::Video && t.frames >= 10 && !old_tracks.contains(&t.track_id)
        }) {
            again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again, "Ann's video reaches Ben again after the move");
    let lost: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT s.participant_id, s.leave_reason FROM participant_sessions s \
         JOIN meetings m ON m.id = s.meeting_id WHERE m.room = $1 AND s.node_id = $2",
    )
    .bind(&name)
    .bind(&node)
    .fetch_all(&env.db)
    .await
    .expect("the dead node's sessions");
    assert_eq!(lost.len(), 2, "{lost:?}");
    assert!(
        lost.iter().all(|(_, r)| r.as_deref() == Some("node_lost")),
        "closed with node_lost: {lost:?}"
    );
    let (state, error): (String, Option<String>) =
        sqlx::query_as("SELECT state, error FROM compositions WHERE public_id = $1")
            .bind(&composing)
            .fetch_one(&env.db)
            .await
            .expect("the composition");
    assert_eq!(state, "failed", "the lost node's composition: {error:?}");
    assert!(error.is_some_and(|e| e.contains("lost")));
    let (meetings, now_on, ended): (i64, String, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM meetings WHERE room = $1), node_id, ended_at \
         FROM meetings WHERE room = $1",
    )
    .bind(&name)
    .fetch_one(&env.db)
    .await
    .expect("the meeting");
    assert_eq!(meetings, 1, "the same meeting goes on");
    assert!(now_on != node && ended.is_none(), "reopened on {now_on}");
    a.leave().await.expect("leave");
    b.leave().await.expect("leave");
}
