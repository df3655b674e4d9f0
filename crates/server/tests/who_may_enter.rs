//! Planned rooms and who may enter them, through the REST API and the WebSocket join, with the
//! session cookies real browsers send: each refusal with its code, and the records of who came.

mod common;
#[path = "support/http.rs"]
mod http;

use common::TestServer;
use convene_client::{join_msg, ClientError, Signaling};
use convene_proto::{ClientMessage, ErrorCode, Joined};
use convene_store::Store;
use http::request;

/// Signs up `email` and returns its cookie.
async fn account(s: &TestServer, email: &str) -> String {
    http::signed_up(s.addr, email).await
}

async fn plan(s: &TestServer, cookie: &str, body: serde_json::Value) -> serde_json::Value {
    let r = request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", cookie)],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

/// Joins `room` as the browser holding `cookie` (None: a guest), with `password`.
async fn join(
    s: &TestServer,
    cookie: Option<&str>,
    room: &str,
    password: Option<&str>,
) -> Result<(Signaling, Joined), ErrorCode> {
    let origin = format!("http://{}", s.addr);
    let mut headers = vec![("Origin", origin.as_str())];
    if let Some(c) = cookie {
        headers.push(("Cookie", c));
    }
    let mut c = Signaling::connect_with_headers(&s.ws_url(), &headers)
        .await
        .expect("connect");
    let mut msg = join_msg(room, "Someone");
    if let ClientMessage::Join { password: p, .. } = &mut msg {
        *p = password.map(str::to_owned);
    }
    match c.join(msg).await {
        Ok(j) => Ok((c, j)),
        Err(ClientError::Refused { code, .. }) => Err(code),
        Err(e) => panic!("join failed: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_meeting_admits_its_owner_and_guests_only_by_invitation() {
    let s = TestServer::start().await;
    let owner = account(&s, "owner@example.org").await;
    let friend = account(&s, "Friend@Example.org").await;
    let stranger = account(&s, "stranger@example.org").await;
    let room = plan(
        &s,
        &owner,
        serde_json::json!({ "title": "Board", "access": "invited", "invited": ["friend@example.org"] }),
    )
    .await;
    let name = room["unique_name"].as_str().unwrap().to_owned();
    // An unguessable name: four groups of five base-32 characters (100 bits).
    assert_eq!(name.len(), 23, "{name}");
    assert_eq!(
        join(&s, None, &name, None).await.err(),
        Some(ErrorCode::SignInRequired)
    );
    assert_eq!(
        join(&s, Some(&stranger), &name, None).await.err(),
        Some(ErrorCode::NotInvited)
    );
    let (_o, jo) = join(&s, Some(&owner), &name, None)
        .await
        .expect("the owner enters");
    let (_f, jf) = join(&s, Some(&friend), &name, None)
        .await
        .expect("the invited enter");
    // The record says which account each session was.
    let store = s.store().await;
    let meeting = store.meetings(Some(&name), 1).await.unwrap().remove(0);
    let sessions = store.sessions(meeting.id).await.unwrap();
    let owner_id = store
        .user_by_email("owner@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let friend_id = store
        .user_by_email("friend@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let by = |pid: &str| {
        sessions
            .iter()
            .find(|x| x.participant_id == pid)
            .unwrap()
            .user
    };
    assert_eq!(by(jo.participant_id.as_str()), Some(owner_id));
    assert_eq!(by(jf.participant_id.as_str()), Some(friend_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_meeting_refuses_guests() {
    let s = TestServer::start().await;
    let owner = account(&s, "o@example.org").await;
    let other = account(&s, "p@example.org").await;
    plan(
        &s,
        &owner,
        serde_json::json!({ "unique_name": "Members", "access": "accounts" }),
    )
    .await;
    assert_eq!(
        join(&s, None, "members", None).await.err(),
        Some(ErrorCode::SignInRequired)
    );
    assert!(join(&s, Some(&other), "MEMBERS", None).await.is_ok());
    // A signed-out cookie is a guest's.
    let out = request(
        s.addr,
        "POST",
        "/api/v1/auth/signout",
        &[("Cookie", &other)],
        None,
    )
    .await;
    assert_eq!(out.status, 204);
    assert_eq!(
        join(&s, Some(&other), "members", None).await.err(),
        Some(ErrorCode::SignInRequired)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_meeting_needs_the_password_and_slows_guessing() {
    let s = TestServer::with(|c| c.auth.signin_failures_per_account = 3).await;
    let owner = account(&s, "o@example.org").await;
    plan(
        &s,
        &owner,
        serde_json::json!({ "unique_name": "locked", "password": "open sesame" }),
    )
    .await;
    assert_eq!(
        join(&s, None, "locked", None).await.err(),
        Some(ErrorCode::PasswordRequired)
    );
    assert_eq!(
        join(&s, None, "locked", Some("wrong")).await.err(),
        Some(ErrorCode::WrongPassword)
    );
    assert!(join(&s, None, "locked", Some("open sesame")).await.is_ok());
    assert!(
        join(&s, Some(&owner), "locked", None).await.is_ok(),
        "the owner needs none"
    );
    for _ in 0..2 {
        assert_eq!(
            join(&s, None, "locked", Some("guess")).await.err(),
            Some(ErrorCode::WrongPassword)
        );
    }
    assert_eq!(
        join(&s, None, "locked", Some("open sesame")).await.err(),
        Some(ErrorCode::RateLimited),
        "after three wrong guesses even the right one waits"
    );
    // The owner removes the password.
    let r = request(
        s.addr,
        "PATCH",
        "/api/v1/rooms/locked",
        &[("Cookie", &owner)],
        Some(serde_json::json!({ "password": null })),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["has_password"]),
        (200, &serde_json::json!(false))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rooms_on_join_only_planned_rooms_open() {
    let s = TestServer::with(|c| c.rooms.create_on_join = false).await;
    assert_eq!(
        join(&s, None, "adhoc", None).await.err(),
        Some(ErrorCode::RoomNotFound)
    );
    let owner = account(&s, "o@example.org").await;
    plan(
        &s,
        &owner,
        serde_json::json!({ "unique_name": "planned", "max_participants": 2 }),
    )
    .await;
    let (_a, _) = join(&s, None, "planned", None)
        .await
        .expect("a planned room opens");
    let (_b, _) = join(&s, None, "planned", None).await.expect("second seat");
    assert_eq!(
        join(&s, None, "planned", None).await.err(),
        Some(ErrorCode::RoomFull),
        "the room's own seat limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_api_refuses_strangers_and_bad_settings() {
    let s = TestServer::start().await;
    let owner = account(&s, "o@example.org").await;
    let other = account(&s, "p@example.org").await;
    let anon = request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[],
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!((anon.status, anon.code()), (401, "unauthorized"));
    plan(&s, &owner, serde_json::json!({ "unique_name": "mine" })).await;
    let theirs = request(
        s.addr,
        "GET",
        "/api/v1/rooms/mine",
        &[("Cookie", &other)],
        None,
    )
    .await;
    assert_eq!(
        (theirs.status, theirs.code()),
        (404, "not_found"),
        "not even its existence"
    );
    let change = request(
        s.addr,
        "PATCH",
        "/api/v1/rooms/mine",
        &[("Cookie", &other)],
        Some(serde_json::json!({ "access": "link" })),
    )
    .await;
    assert_eq!(change.status, 404);
    let dup = request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &owner)],
        Some(serde_json::json!({ "unique_name": "MINE" })),
    )
    .await;
    assert_eq!((dup.status, dup.code()), (409, "room_name_taken"));
    for bad in [
        serde_json::json!({ "access": "everyone" }),
        serde_json::json!({ "invited": ["not an email"] }),
        serde_json::json!({ "max_participants": 0 }),
        serde_json::json!({ "co_hosts": ["not an email"] }),
        serde_json::json!({ "empty_room_timeout": 0 }),
        serde_json::json!({ "empty_room_timeout": 1441 }),
        serde_json::json!({ "lobby": "yes" }),
        serde_json::json!({ "breakout_rooms": true }),
    ] {
        let r = request(
            s.addr,
            "POST",
            "/api/v1/rooms",
            &[("Cookie", &owner)],
            Some(bad.clone()),
        )
        .await;
        assert_eq!((r.status, r.code()), (400, "invalid_message"), "{bad}");
    }
    let evil = request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &owner), ("Origin", "https://evil.example")],
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(evil.status, 403);
    let list = request(s.addr, "GET", "/api/v1/rooms", &[("Cookie", &owner)], None).await;
    assert_eq!(list.body["rooms"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_is_refused_not_ignored() {
    let s = TestServer::start().await;
    let mut c = s.client().await;
    let mut msg = join_msg("any", "Ada");
    if let ClientMessage::Join { access_token, .. } = &mut msg {
        *access_token = Some("made-up".into());
    }
    match c.join(msg).await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::Unauthorized),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planning_rooms_is_rate_limited_per_account() {
    let s = TestServer::with(|c| c.limits.rooms_per_hour_per_account = 2).await;
    let a = account(&s, "a@example.org").await;
    let b = account(&s, "b@example.org").await;
    for _ in 0..2 {
        plan(&s, &a, serde_json::json!({})).await;
    }
    let r = request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &a)],
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    plan(&s, &b, serde_json::json!({})).await;
}
