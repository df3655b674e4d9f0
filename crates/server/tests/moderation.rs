//! Host powers, enforced by the server: each refused with its code for whom the policy refuses it,
//! applied and told for whom it allows it, and written to the audit log.

mod common;
#[path = "support/http.rs"]
mod http;
#[path = "support/people.rs"]
mod people;

use common::{expect_closing, next_left, TestServer};
use convene_proto::{ClientMessage as M, ErrorCode, ModerationAction, ParticipantId, Role, Source};
use convene_store::Store;
use people::{accepted, join, notice, refused, try_join, update_of, update_where, As};

fn pid(s: &str) -> ParticipantId {
    ParticipantId(s.into())
}

/// Every host power, aimed at `target`.
fn every_power(target: &ParticipantId) -> Vec<M> {
    let t = || target.clone();
    vec![
        M::MuteParticipant {
            participant_id: t(),
            source: Source::Microphone,
        },
        M::MuteAll {
            source: Source::Microphone,
        },
        M::AllowUnmute {
            participant_id: t(),
            source: Source::Microphone,
        },
        M::RemoveParticipant {
            participant_id: t(),
        },
        M::EndMeeting,
        M::SetRole {
            participant_id: t(),
            role: Role::Viewer,
        },
        M::TransferHost {
            participant_id: t(),
        },
        M::LowerHand {
            participant_id: t(),
        },
        M::SetLocked { locked: true },
        M::SetLobby { enabled: true },
        M::Admit {
            participant_id: t(),
        },
        M::Deny {
            participant_id: t(),
        },
        M::AdmitAll,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_may_use_no_host_power_and_a_co_host_only_some() {
    let s = TestServer::start().await;
    let (mut ada, j) = join(&s, "powers", "Ada", As::Guest).await;
    assert_eq!(j.role, Role::Host, "the first of an ad-hoc room hosts it");
    let (mut bob, jb) = join(&s, "powers", "Bob", As::Guest).await;
    assert_eq!(jb.role, Role::Participant);
    for msg in every_power(&j.participant_id) {
        refused(&mut bob, msg, ErrorCode::Forbidden).await;
    }
    // Made co-host, Bob may mute and lock, not end, change roles or act on the host.
    accepted(
        &mut ada,
        M::SetRole {
            participant_id: jb.participant_id.clone(),
            role: Role::CoHost,
        },
    )
    .await;
    let (action, _, by) = notice(&mut bob).await;
    assert_eq!(
        (action, by.as_deref()),
        (ModerationAction::RoleChanged, Some("Ada"))
    );
    refused(&mut bob, M::EndMeeting, ErrorCode::Forbidden).await;
    let host = j.participant_id.clone();
    refused(
        &mut bob,
        M::RemoveParticipant {
            participant_id: host.clone(),
        },
        ErrorCode::Forbidden,
    )
    .await;
    refused(
        &mut bob,
        M::MuteParticipant {
            participant_id: host.clone(),
            source: Source::Microphone,
        },
        ErrorCode::Forbidden,
    )
    .await;
    refused(
        &mut bob,
        M::TransferHost {
            participant_id: host,
        },
        ErrorCode::Forbidden,
    )
    .await;
    accepted(&mut bob, M::SetLocked { locked: true }).await;
    refused(
        &mut ada,
        M::MuteParticipant {
            participant_id: pid("p_nobody"),
            source: Source::Camera,
        },
        ErrorCode::NotFound,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_mute_holds_until_a_host_allows_an_unmute() {
    let s = TestServer::start().await;
    let (mut ada, _) = join(&s, "mute", "Ada", As::Guest).await;
    let (mut bob, jb) = join(&s, "mute", "Bob", As::Guest).await;
    let (mut carol, _) = join(&s, "mute", "Carol", As::Guest).await;
    let bob_id = jb.participant_id.clone();
    let mute = M::MuteParticipant {
        participant_id: bob_id.clone(),
        source: Source::Microphone,
    };
    accepted(&mut ada, mute).await;
    assert_eq!(
        notice(&mut bob).await,
        (
            ModerationAction::Muted,
            Some(Source::Microphone),
            Some("Ada".into())
        )
    );
    let seen = update_of(&mut carol, &bob_id).await;
    assert!(seen.mic_muted && seen.host_muted == vec![Source::Microphone]);
    // Bob's own unmute is refused; his camera is still his.
    let unmute = || M::SetMuted {
        mic: Some(false),
        camera: None,
    };
    refused(&mut bob, unmute(), ErrorCode::MutedByHost).await;
    accepted(
        &mut bob,
        M::SetMuted {
            mic: Some(true),
            camera: Some(false),
        },
    )
    .await;
    refused(&mut bob, unmute(), ErrorCode::MutedByHost).await;
    refused(
        &mut bob,
        M::AskToUnmute {
            source: Source::Camera,
        },
        ErrorCode::InvalidMessage,
    )
    .await;
    accepted(
        &mut bob,
        M::AskToUnmute {
            source: Source::Microphone,
        },
    )
    .await;
    let asked = update_where(&mut ada, &bob_id, |p| !p.unmute_asked.is_empty()).await;
    assert_eq!(asked.unmute_asked, vec![Source::Microphone]);
    let allow = M::AllowUnmute {
        participant_id: bob_id.clone(),
        source: Source::Microphone,
    };
    accepted(&mut ada, allow).await;
    assert_eq!(notice(&mut bob).await.0, ModerationAction::UnmuteAllowed);
    let after = update_where(&mut carol, &bob_id, |p| p.host_muted.is_empty()).await;
    assert!(
        after.host_muted.is_empty() && after.mic_muted,
        "allowed, not unmuted: unmuting stays Bob's to do"
    );
    accepted(&mut bob, unmute()).await;
    // Mute all spares hosts and co-hosts.
    accepted(
        &mut ada,
        M::MuteAll {
            source: Source::Camera,
        },
    )
    .await;
    assert_eq!(notice(&mut carol).await.0, ModerationAction::Muted);
    assert_eq!(notice(&mut bob).await.1, Some(Source::Camera));
    let audit = audit_of(&s, "mute").await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["mute", "allow_unmute", "mute_all"]);
    assert_eq!(audit[0].actor_name.as_deref(), Some("Ada"));
    assert_eq!(audit[0].target_name.as_deref(), Some("Bob"));
    assert_eq!(audit[0].detail.as_deref(), Some("microphone"));
}

/// The audit log of the latest meeting of `room`, once it is written.
async fn audit_of(s: &TestServer, room: &str) -> Vec<convene_store::AuditRecord> {
    let store = s.store().await;
    let m = store.meetings(Some(room), 1).await.unwrap().remove(0);
    let mut last = Vec::new();
    for _ in 0..100 {
        last = store.moderation_log(m.id, 100).await.unwrap();
        if !last.is_empty() && last.len() == store.moderation_log(m.id, 100).await.unwrap().len() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let again = store.moderation_log(m.id, 100).await.unwrap();
            if again.len() == last.len() {
                return again;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_participant_cannot_come_back_by_any_door_even_after_a_restart() {
    const KEY: &str = "k1:0123456789abcdef0123456789abcdef";
    let mut s = TestServer::with(|c| c.auth.token_keys = vec![KEY.into()]).await;
    let bob_cookie = http::signed_up(s.addr, "bob@example.org").await;
    let grants = convene_server::auth::tokens::Grants::default();
    let token = |s: &TestServer| {
        convene_server::auth::tokens::make(
            &s.config,
            "ban",
            "crm-7",
            None,
            Some(600),
            grants.clone(),
            None,
        )
        .expect("token")
        .0
    };
    let (mut ada, ja) = join(&s, "ban", "Ada", As::Guest).await;
    let (mut bob, jb) = join(&s, "ban", "Bob", As::Account(&bob_cookie)).await;
    let t = token(&s);
    let (mut tom, jt) = join(&s, "ban", "Tom", As::Token(&t)).await;
    let (mut gus, jg) = join(&s, "ban", "Gus", As::Guest).await;
    // Carol only watches: what she sees is not consumed by Ada's requests.
    let (mut carol, _) = join(&s, "ban", "Carol", As::Guest).await;
    let removed = [
        (&mut bob, &jb.participant_id),
        (&mut tom, &jt.participant_id),
        (&mut gus, &jg.participant_id),
    ];
    for (who, id) in removed {
        accepted(
            &mut ada,
            M::RemoveParticipant {
                participant_id: id.clone(),
            },
        )
        .await;
        assert_eq!(expect_closing(who).await, "removed");
        assert_eq!(who.closed().await.unwrap().code, Some(4003));
        assert_eq!(next_left(&mut carol).await, (id.clone(), "removed".into()));
    }
    assert_eq!(
        try_join(&s, "ban", "Bob", As::Account(&bob_cookie), None)
            .await
            .err(),
        Some(ErrorCode::Removed),
        "by account"
    );
    let t2 = token(&s);
    assert_eq!(
        try_join(&s, "ban", "Tom", As::Token(&t2), None).await.err(),
        Some(ErrorCode::Removed),
        "by token identity, with a fresh token"
    );
    assert_eq!(
        try_join(&s, "ban", "Gus", As::Guest, Some(&jg.resume_token))
            .await
            .err(),
        Some(ErrorCode::Removed),
        "by resume token"
    );
    // A restart: the meeting comes back (Ada returns to it) with its bans.
    s.stop().await.expect("drain");
    let s = s.start_again().await;
    let (_ada, back) = try_join(&s, "ban", "Ada", As::Guest, Some(&ja.resume_token))
        .await
        .expect("Ada comes back");
    assert!(back.resumed);
    assert_eq!(
        try_join(&s, "ban", "Bob", As::Account(&bob_cookie), None)
            .await
            .err(),
        Some(ErrorCode::Removed),
        "by account, after a restart"
    );
    assert_eq!(
        try_join(&s, "ban", "Gus", As::Guest, Some(&jg.resume_token))
            .await
            .err(),
        Some(ErrorCode::Removed),
        "by resume token, after a restart"
    );
    let t3 = token(&s);
    assert_eq!(
        try_join(&s, "ban", "Tom", As::Token(&t3), None).await.err(),
        Some(ErrorCode::Removed)
    );
    let store = s.store().await;
    let m = store.meetings(Some("ban"), 1).await.unwrap().remove(0);
    let sessions = store.sessions(m.id).await.unwrap();
    let bob_session = sessions.iter().find(|x| x.display_name == "Bob").unwrap();
    assert_eq!(
        bob_session.leave_reason.map(|r| r.as_str()),
        Some("removed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_meeting_admits_nobody_new_and_an_ended_one_closes_for_all() {
    let s = TestServer::start().await;
    let (mut ada, _) = join(&s, "lock", "Ada", As::Guest).await;
    let (mut bob, _) = join(&s, "lock", "Bob", As::Guest).await;
    accepted(&mut ada, M::SetLocked { locked: true }).await;
    let settings = bob
        .recv_until(|m| match m {
            convene_proto::ServerMessage::MeetingUpdated { settings } => Some(*settings),
            _ => None,
        })
        .await
        .unwrap();
    assert!(settings.locked && !settings.lobby);
    assert_eq!(
        try_join(&s, "lock", "Carol", As::Guest, None).await.err(),
        Some(ErrorCode::MeetingLocked)
    );
    accepted(&mut ada, M::SetLocked { locked: false }).await;
    let (mut carol, jc) = join(&s, "lock", "Carol", As::Guest).await;
    assert!(!jc.settings.locked);
    ada.send(&M::EndMeeting).await.unwrap();
    for c in [&mut ada, &mut bob, &mut carol] {
        assert_eq!(expect_closing(c).await, "meeting_ended");
        assert_eq!(c.closed().await.unwrap().code, Some(1000));
    }
    let audit = audit_of(&s, "lock").await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["lock", "unlock", "end"]);
    let store = s.store().await;
    let m = store.meetings(Some("lock"), 1).await.unwrap().remove(0);
    assert!(m.ended_at.is_some());
    let sessions = store.sessions(m.id).await.unwrap();
    assert!(sessions
        .iter()
        .all(|x| x.leave_reason.map(|r| r.as_str()) == Some("meeting_ended")));
}
