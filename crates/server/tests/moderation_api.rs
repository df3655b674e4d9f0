//! Host powers over REST (API keys, administrators, a room's owner): removing and muting
//! participants, the lobby, lock; the audit log of a meeting, for its owner only; and a planned
//! room's own empty-room timeout.

mod common;
#[path = "support/http.rs"]
mod http;
#[path = "support/people.rs"]
mod people;

use common::{expect_closing, TestServer};
use convene_proto::{ServerMessage, Source};
use convene_store::Store;
use http::request;
use people::{connect, join, join_message, notice, As};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_removes_mutes_admits_and_locks() {
    let s = TestServer::start().await;
    let key = s.api_auth().await;
    let auth = [("Authorization", key.as_str())];
    let (mut ada, _) = join(&s, "ops", "Ada", As::Guest).await;
    let (mut bob, jb) = join(&s, "ops", "Bob", As::Guest).await;
    let bob_path = format!("/api/v1/rooms/ops/participants/{}", jb.participant_id);
    let mute = serde_json::json!({"source": "microphone"});
    let r = request(
        s.addr,
        "POST",
        &format!("{bob_path}/mute"),
        &auth,
        Some(mute),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let (action, source, by) = notice(&mut bob).await;
    assert_eq!(
        (action, source, by),
        (
            convene_proto::ModerationAction::Muted,
            Some(Source::Microphone),
            None
        )
    );
    let bad = serde_json::json!({"source": "everything"});
    let r = request(
        s.addr,
        "POST",
        &format!("{bob_path}/mute"),
        &auth,
        Some(bad),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "invalid_message"));
    let lobby_on = serde_json::json!({"lobby": true, "locked": false});
    let r = request(s.addr, "POST", "/api/v1/rooms/ops", &auth, Some(lobby_on)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["lobby"].clone(), r.body["locked"].clone()),
        (true.into(), false.into())
    );
    // Carol waits; the API sees her and admits her.
    let mut carol = connect(&s, As::Guest).await;
    carol
        .send(&join_message("ops", "Carol", As::Guest, None))
        .await
        .unwrap();
    carol
        .recv_until(|m| matches!(m, ServerMessage::WaitingInLobby { .. }).then_some(()))
        .await
        .unwrap();
    let r = request(s.addr, "GET", "/api/v1/rooms/ops/lobby", &auth, None).await;
    assert_eq!(r.status, 200);
    let carol_id = r.body["waiting"][0]["participant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admit = serde_json::json!({"action": "admit"});
    let path = format!("/api/v1/rooms/ops/lobby/{carol_id}");
    let r = request(s.addr, "POST", &path, &auth, Some(admit.clone())).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    carol
        .recv_until(|m| matches!(m, ServerMessage::Joined(_)).then_some(()))
        .await
        .unwrap();
    let r = request(s.addr, "POST", &path, &auth, Some(admit)).await;
    assert_eq!(
        (r.status, r.code()),
        (404, "not_found"),
        "she waits no more"
    );
    // Remove Bob, as Twilio's API does.
    let gone = serde_json::json!({"status": "disconnected"});
    let r = request(s.addr, "POST", &bob_path, &auth, Some(gone)).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("disconnected"))
    );
    assert_eq!(expect_closing(&mut bob).await, "removed");
    let r = request(
        s.addr,
        "POST",
        &bob_path,
        &auth,
        Some(serde_json::json!({"status": "x"})),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "invalid_message"));
    // The audit log names the API key as who did it.
    let m = s
        .store()
        .await
        .meetings(Some("ops"), 1)
        .await
        .unwrap()
        .remove(0);
    let path = format!("/api/v1/meetings/{}/audit", m.public_id);
    let mut actions = Vec::new();
    for _ in 0..50 {
        let r = request(s.addr, "GET", &path, &auth, None).await;
        assert_eq!(r.status, 200);
        actions = r.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["actor_kind"].clone(),
                )
            })
            .collect();
        if actions.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let names: Vec<&str> = actions.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(names, ["mute", "lobby_on", "admit", "remove"]);
    assert!(actions.iter().all(|(_, k)| k == "api_key"));
    drop(ada.send(&convene_proto::ClientMessage::Leave).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_reads_a_meetings_audit_and_strangers_manage_nothing() {
    let s = TestServer::start().await;
    let owner = http::signed_up(s.addr, "olga@example.org").await;
    let other = http::signed_up(s.addr, "otto@example.org").await;
    let r = request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &owner)],
        Some(serde_json::json!({"unique_name": "audited"})),
    )
    .await;
    assert_eq!(r.status, 201);
    let (mut olga, _) = join(&s, "audited", "Olga", As::Account(&owner)).await;
    let (_gus, jg) = join(&s, "audited", "Gus", As::Guest).await;
    people::accepted(
        &mut olga,
        convene_proto::ClientMessage::SetLocked { locked: true },
    )
    .await;
    let gus_path = format!("/api/v1/rooms/audited/participants/{}", jg.participant_id);
    let gone = serde_json::json!({"status": "disconnected"});
    // Another account, a stranger without credentials, and a cross-site request are refused.
    let r = request(
        s.addr,
        "POST",
        &gus_path,
        &[("Cookie", &other)],
        Some(gone.clone()),
    )
    .await;
    assert_eq!(r.status, 404, "another account learns nothing of the room");
    let r = request(s.addr, "POST", &gus_path, &[], Some(gone.clone())).await;
    assert_eq!(r.status, 401);
    let evil = [
        ("Cookie", owner.as_str()),
        ("Origin", "https://evil.example"),
    ];
    let r = request(s.addr, "POST", &gus_path, &evil, Some(gone)).await;
    assert_eq!(r.status, 403);
    let m = s
        .store()
        .await
        .meetings(Some("audited"), 1)
        .await
        .unwrap()
        .remove(0);
    let path = format!("/api/v1/meetings/{}/audit", m.public_id);
    let mut entries = 0;
    for _ in 0..50 {
        let r = request(s.addr, "GET", &path, &[("Cookie", &owner)], None).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        entries = r.body["entries"].as_array().unwrap().len();
        if entries == 1 {
            assert_eq!(r.body["entries"][0]["action"], "lock");
            assert_eq!(r.body["entries"][0]["actor_name"], "Olga");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(entries, 1);
    let r = request(s.addr, "GET", &path, &[("Cookie", &other)], None).await;
    assert_eq!(r.status, 404);
    let r = request(s.addr, "GET", &path, &[], None).await;
    assert_eq!(r.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_room_stays_open_for_its_own_empty_room_timeout() {
    // The server's own grace is 2 s in tests; the plan keeps the room a minute.
    let s = TestServer::start().await;
    let owner = http::signed_up(s.addr, "olga@example.org").await;
    let body = serde_json::json!({"unique_name": "patient", "empty_room_timeout": 1});
    let r = request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &owner)],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201);
    let store = s.store().await;
    for room in ["patient", "hasty"] {
        let (mut ada, _) = join(&s, room, "Ada", As::Guest).await;
        ada.send(&convene_proto::ClientMessage::Leave)
            .await
            .unwrap();
        assert_eq!(expect_closing(&mut ada).await, "left");
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    for room in ["patient", "hasty"] {
        let _ = join(&s, room, "Ada", As::Guest).await;
    }
    let count = |room: &'static str| {
        let store = &store;
        async move { store.meetings(Some(room), 10).await.unwrap().len() }
    };
    assert_eq!(
        count("patient").await,
        1,
        "the same meeting, 3 s after it emptied"
    );
    assert_eq!(
        count("hasty").await,
        2,
        "an ad-hoc room ends after the server's grace"
    );
}
