//! A restart of the server (a drain, or a crash) does not end anyone's meeting: within
//! `rooms.restart_window_secs` the people come back with their resume tokens as the same
//! participants, to the same meeting and chat, and nobody sees a leave and a join.

mod common;

use std::time::Duration;

use common::{assert_quiet, chat, expect_shutdown, next_chat, next_update, TestServer};
use convene_client::{join_msg, Signaling};
use convene_proto::{ClientMessage, Joined, ServerMessage};
use convene_store::{LeaveReason, Store};

fn resume_msg(room: &str, name: &str, token: &str, mic_muted: bool) -> ClientMessage {
    let mut msg = join_msg(room, name);
    if let ClientMessage::Join {
        resume_token,
        mic_muted: m,
        camera_muted,
        ..
    } = &mut msg
    {
        *resume_token = Some(token.into());
        *m = Some(mic_muted);
        *camera_muted = Some(true);
    }
    msg
}

async fn resume(s: &TestServer, room: &str, name: &str, token: &str) -> (Signaling, Joined) {
    let mut c = s.client().await;
    let j = c
        .join(resume_msg(room, name, token, false))
        .await
        .expect("resume");
    (c, j)
}

fn joins_or_leaves(m: &ServerMessage) -> bool {
    matches!(
        m,
        ServerMessage::ParticipantJoined { .. } | ServerMessage::ParticipantLeft { .. }
    )
}

/// Ada and Bob meet and chat; the server goes away (`crash`: without a drain); another process on
/// the same database takes over, and both come back.
async fn meeting_survives(crash: bool) {
    let mut first = TestServer::start().await;
    let (mut ada, ja) = first.join("standup", "Ada").await;
    let (mut bob, jb) = first.join("standup", "Bob").await;
    assert!(
        !ja.media_kept && !jb.media_kept,
        "a fresh join has no media yet"
    );
    assert_eq!(ja.restart_window_secs, 300);
    ada.send(&chat("before the restart")).await.unwrap();
    assert_eq!(next_chat(&mut bob).await.seq, 1);
    if crash {
        first.crash();
    } else {
        first.stop().await.expect("drained");
        expect_shutdown(&mut ada).await;
        expect_shutdown(&mut bob).await;
    }

    let second = first.start_again().await;
    let (mut ada2, ja2) = resume(&second, "standup", "Ada", &ja.resume_token).await;
    assert!(ja2.resumed, "Ada is herself again");
    assert_eq!(ja2.participant_id, ja.participant_id);
    assert!(
        !ja2.media_kept,
        "the new process has no media session for her"
    );
    assert_ne!(ja2.resume_token, ja.resume_token);
    // Bob is awaited: listed, as the same participant, not yet back.
    let ids: Vec<_> = ja2.participants.iter().map(|p| p.id.clone()).collect();
    assert_eq!(
        ids,
        vec![ja.participant_id.clone(), jb.participant_id.clone()]
    );
    assert_eq!(ja2.participants[0].role, ja.role, "roles kept");
    assert_eq!(ja2.chat_history.len(), 1);
    assert_eq!(ja2.chat_history[0].text, "before the restart");
    assert_eq!(ja2.chat_history[0].from, ja.participant_id);

    let (_bob2, jb2) = resume(&second, "standup", "Bob", &jb.resume_token).await;
    assert!(jb2.resumed);
    assert_eq!(jb2.participant_id, jb.participant_id);
    // Ada hears that Bob's state changed (he said his microphone is on), never a leave or a join.
    let updated = next_update(&mut ada2).await;
    assert_eq!(updated.id, jb.participant_id);
    assert!(!updated.mic_muted && updated.camera_muted);
    assert_quiet(
        &mut ada2,
        Duration::from_millis(300),
        "join or leave",
        joins_or_leaves,
    )
    .await;

    // The same meeting goes on: the chat sequence continues without a gap.
    ada2.send(&chat("after the restart")).await.unwrap();
    assert_eq!(next_chat(&mut ada2).await.seq, 2);

    let store = second.store().await;
    let meetings = store.meetings(Some("standup"), 10).await.unwrap();
    assert_eq!(meetings.len(), 1, "one meeting, reopened");
    assert_eq!(meetings[0].ended_at, None);
    let sessions = store.sessions(meetings[0].id).await.unwrap();
    let ada_sessions: Vec<_> = sessions
        .iter()
        .filter(|s| s.participant_id == ja.participant_id.0)
        .collect();
    assert_eq!(ada_sessions.len(), 2, "the record shows the gap");
    let why = if crash {
        LeaveReason::ServerRestart
    } else {
        LeaveReason::ServerShutdown
    };
    assert_eq!(ada_sessions[0].leave_reason, Some(why));
    assert_eq!(ada_sessions[1].left_at, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_meeting_comes_back_with_its_people_and_chat() {
    meeting_survives(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_meeting_comes_back_with_its_people_and_chat() {
    meeting_survives(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_who_never_comes_back_leaves_after_the_window() {
    let mut first = TestServer::with(|c| c.rooms.restart_window_secs = 1).await;
    let (_ada, ja) = first.join("short", "Ada").await;
    let (_bob, jb) = first.join("short", "Bob").await;
    first.crash();
    let second = first.start_again().await;
    let (mut ada2, ja2) = resume(&second, "short", "Ada", &ja.resume_token).await;
    assert!(ja2.resumed);
    let (who, why) = common::next_left(&mut ada2).await;
    assert_eq!(who, jb.participant_id);
    assert_eq!(why, "disconnected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_restart_window_a_token_joins_a_new_meeting_as_someone_new() {
    let mut first = TestServer::with(|c| c.rooms.restart_window_secs = 0).await;
    let (_ada, ja) = first.join("late", "Ada").await;
    first.stop().await.expect("drained");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = first.start_again().await;
    let (_ada2, ja2) = resume(&second, "late", "Ada", &ja.resume_token).await;
    assert!(!ja2.resumed);
    assert_ne!(ja2.participant_id, ja.participant_id);
    assert!(ja2.chat_history.is_empty());
    let store = second.store().await;
    assert_eq!(store.meetings(Some("late"), 10).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_or_forged_token_does_not_resume() {
    let s = TestServer::start().await;
    let (_ada, ja) = s.join("tokens", "Ada").await;
    let (bob, jb) = s.join("tokens", "Bob").await;
    bob.abort();
    // Resumed once: that token is spent, the new one works.
    let (_bob2, jb2) = resume(&s, "tokens", "Bob", &jb.resume_token).await;
    assert!(jb2.resumed);
    let (_x, replay) = resume(&s, "tokens", "Bob", &jb.resume_token).await;
    assert!(!replay.resumed, "a spent token joins as someone new");
    assert_ne!(replay.participant_id, jb.participant_id);
    // Ada's token with Bob's id in it fails its signature.
    let forged = ja
        .resume_token
        .replace(ja.participant_id.as_str(), jb.participant_id.as_str());
    let (_y, forged) = resume(&s, "tokens", "Bob", &forged).await;
    assert!(!forged.resumed);
    assert_ne!(forged.participant_id, jb.participant_id);
    // A token of this room does not resume anyone in another room.
    let (_z, other) = resume(&s, "elsewhere", "Ada", &ja.resume_token).await;
    assert!(!other.resumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_applies_the_clients_mute_state() {
    let s = TestServer::start().await;
    let (mut ada, _) = s.join("mutes", "Ada").await;
    let (bob, jb) = s.join("mutes", "Bob").await;
    bob.abort();
    let mut c = s.client().await;
    let j = c
        .join(resume_msg("mutes", "Bob", &jb.resume_token, true))
        .await
        .expect("resume");
    assert!(j.resumed && j.media_kept, "same process: media kept");
    let me = j
        .participants
        .iter()
        .find(|p| p.id == jb.participant_id)
        .expect("listed");
    assert!(me.mic_muted && me.camera_muted);
    let updated = next_update(&mut ada).await;
    assert!(updated.mic_muted && updated.camera_muted);
}

/// What the host set holds across a crash: the meeting stays locked and Bob's microphone stays
/// host-muted (he cannot unmute it by coming back), as the record kept them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosts_lock_and_mutes_survive_a_crash() {
    use convene_proto::{ErrorCode, Source};
    let mut first = TestServer::start().await;
    let (mut ada, ja) = first.join("held", "Ada").await;
    let (_bob, jb) = first.join("held", "Bob").await;
    ada.send(&ClientMessage::MuteParticipant {
        participant_id: jb.participant_id.clone(),
        source: Source::Microphone,
    })
    .await
    .unwrap();
    ada.send(&ClientMessage::SetLocked { locked: true })
        .await
        .unwrap();
    ada.recv_until(|m| match m {
        ServerMessage::MeetingUpdated { settings } if settings.locked => Some(()),
        _ => None,
    })
    .await
    .expect("locked");
    // The room writes them behind its acknowledgements: wait until the record has both.
    let store = first.store().await;
    let meeting = store.meetings(Some("held"), 1).await.unwrap()[0].clone();
    let mut kept = false;
    for _ in 0..100 {
        let settings = store
            .meeting(meeting.id)
            .await
            .unwrap()
            .unwrap()
            .settings_json;
        let bob = store
            .sessions(meeting.id)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.participant_id == jb.participant_id.0)
            .unwrap();
        if settings.contains("\"locked\":true") && bob.host_muted == r#"["microphone"]"# {
            kept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(kept, "the lock and the mute are in the record");
    first.crash();

    let second = first.start_again().await;
    let (_ada2, ja2) = resume(&second, "held", "Ada", &ja.resume_token).await;
    assert!(ja2.settings.locked, "still locked after the crash");
    let bob_seen = ja2
        .participants
        .iter()
        .find(|p| p.id == jb.participant_id)
        .expect("Bob awaited");
    assert_eq!(bob_seen.host_muted, vec![Source::Microphone]);
    // Bob comes back saying his microphone is on: the host's mute still holds.
    let (_bob2, jb2) = resume(&second, "held", "Bob", &jb.resume_token).await;
    let me = jb2
        .participants
        .iter()
        .find(|p| p.id == jb.participant_id)
        .expect("himself");
    assert!(me.mic_muted, "host-muted, whatever he asked");
    assert_eq!(me.host_muted, vec![Source::Microphone]);
    // Nobody new gets in.
    let mut carol = second.client().await;
    match carol.join(join_msg("held", "Carol")).await {
        Err(convene_client::ClientError::Refused { code, .. }) => {
            assert_eq!(code, ErrorCode::MeetingLocked)
        }
        other => panic!("a newcomer to a locked meeting is refused: {other:?}"),
    }
    // His new session row carries the mute on, for a later restore.
    let store = second.store().await;
    let mut carried = false;
    for _ in 0..100 {
        let sessions = store.sessions(meeting.id).await.unwrap();
        let last = sessions
            .iter()
            .filter(|s| s.participant_id == jb.participant_id.0)
            .max_by_key(|s| s.id.0)
            .unwrap();
        if last.left_at.is_none() && last.host_muted == r#"["microphone"]"# {
            carried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(carried, "the new session row keeps the host's mute");
}
