//! Live rooms over REST: who is in a room now, and ending it for everyone; for API keys,
//! administrators and the room's owner only.

mod common;
#[path = "support/http.rs"]
mod http;

use common::{expect_closing, TestServer};
use convene_store::{LeaveReason, Store};
use http::request;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_lists_who_is_in_a_room_and_ends_it_for_everyone() {
    let s = TestServer::start().await;
    let (mut ada, ja) = s.join("live", "Ada").await;
    let (mut bob, _) = s.join("live", "Bob").await;
    let key = s.api_auth().await;
    let auth = [("Authorization", key.as_str())];

    let r = request(
        s.addr,
        "GET",
        "/api/v1/rooms/LIVE/participants",
        &auth,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let names: Vec<&str> = r.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ada", "Bob"]);

    let done = serde_json::json!({ "status": "completed" });
    let r = request(s.addr, "POST", "/api/v1/rooms/live", &auth, Some(done)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    for c in [&mut ada, &mut bob] {
        assert_eq!(expect_closing(c).await, "meeting_ended");
    }
    let store = s.store().await;
    let m = store.meetings(Some("live"), 1).await.unwrap().remove(0);
    assert!(m.ended_at.is_some(), "the meeting is over");
    let sessions = store.sessions(m.id).await.unwrap();
    assert!(sessions
        .iter()
        .all(|x| x.leave_reason == Some(LeaveReason::MeetingEnded)));
    assert!(sessions
        .iter()
        .any(|x| x.participant_id == ja.participant_id.0));
    let after = request(
        s.addr,
        "GET",
        "/api/v1/rooms/live/participants",
        &auth,
        None,
    )
    .await;
    assert_eq!(after.status, 404, "no live room any more");
    // A new join starts a new meeting, not the ended one.
    let (_c, jc) = s.join("live", "Cleo").await;
    assert!(!jc.resumed && jc.participants.len() == 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_owners_admins_and_keys_manage_live_rooms() {
    let s = TestServer::start().await;
    let owner = http::signed_up(s.addr, "o@example.org").await;
    let other = http::signed_up(s.addr, "x@example.org").await;
    let r = request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &owner)],
        Some(serde_json::json!({ "unique_name": "board" })),
    )
    .await;
    assert_eq!(r.status, 201);
    let (_a, _) = s.join("board", "Ada").await;
    let (_b, _) = s.join("adhoc", "Bob").await;
    let path = "/api/v1/rooms/board/participants";
    assert_eq!(request(s.addr, "GET", path, &[], None).await.status, 401);
    assert_eq!(
        request(s.addr, "GET", path, &[("Cookie", &other)], None)
            .await
            .status,
        404
    );
    assert_eq!(
        request(s.addr, "GET", path, &[("Cookie", &owner)], None)
            .await
            .status,
        200
    );
    let adhoc = "/api/v1/rooms/adhoc/participants";
    assert_eq!(
        request(s.addr, "GET", adhoc, &[("Cookie", &owner)], None)
            .await
            .status,
        404,
        "an ad-hoc room is nobody's to manage but admins' and keys'"
    );
    let bad = request(
        s.addr,
        "POST",
        "/api/v1/rooms/board",
        &[("Cookie", &owner)],
        Some(serde_json::json!({ "status": "paused" })),
    )
    .await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_message"));
    let theirs = request(
        s.addr,
        "POST",
        "/api/v1/rooms/board",
        &[("Cookie", &other)],
        Some(serde_json::json!({ "status": "completed" })),
    )
    .await;
    assert_eq!(theirs.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_list_by_status_for_an_api_key_and_for_an_owner() {
    let s = TestServer::start().await;
    let key = s.api_auth().await;
    let auth = [("Authorization", key.as_str())];
    // An owner plans two rooms; a meeting runs in one of them, and another runs by link.
    let cookie = http::signed_up(s.addr, "owner@example.org").await;
    let origin = format!("http://{}", s.addr);
    let mine = [("Cookie", cookie.as_str()), ("Origin", origin.as_str())];
    for name in ["planned-live", "planned-idle"] {
        let body = serde_json::json!({ "unique_name": name });
        let r = request(s.addr, "POST", "/api/v1/rooms", &mine, Some(body)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["status"], "completed");
    }
    let (_a, _) = s.join("planned-live", "Ada").await;
    let (_b, _) = s.join("by-link", "Bob").await;

    let names = |r: &http::Reply| -> Vec<String> {
        let mut v: Vec<String> = r.body["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                format!(
                    "{}={}",
                    x["unique_name"].as_str().unwrap(),
                    x["status"].as_str().unwrap()
                )
            })
            .collect();
        v.sort();
        v
    };
    let r = request(
        s.addr,
        "GET",
        "/api/v1/rooms?status=in-progress",
        &auth,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        names(&r),
        ["by-link=in-progress", "planned-live=in-progress"]
    );

    let r = request(s.addr, "GET", "/api/v1/rooms", &mine, None).await;
    assert_eq!(
        names(&r),
        ["planned-idle=completed", "planned-live=in-progress"]
    );
    let r = request(s.addr, "GET", "/api/v1/rooms?status=completed", &mine, None).await;
    assert_eq!(names(&r), ["planned-idle=completed"]);

    let r = request(s.addr, "GET", "/api/v1/rooms?status=paused", &auth, None).await;
    assert_eq!(
        (r.status, r.code()),
        (400, "invalid_message"),
        "{:?}",
        r.body
    );
    let r = request(s.addr, "GET", "/api/v1/rooms", &[], None).await;
    assert_eq!(r.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_rest_route() {
    let s = TestServer::start().await;
    let r = request(s.addr, "GET", "/api/v1/openapi.json", &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["openapi"], "3.1.0");
    let paths = r.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/meetings", "get"),
        ("/api/v1/meetings/{id}", "get"),
        ("/api/v1/rooms", "get"),
        ("/api/v1/rooms", "post"),
        ("/api/v1/rooms/{name}", "patch"),
        ("/api/v1/rooms/{name}", "post"),
        ("/api/v1/rooms/{name}/participants", "get"),
        ("/api/v1/auth/signin", "post"),
        ("/api/v1/keys/{id}", "delete"),
        ("/api/v1/tokens", "post"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        assert!(
            op["responses"]["401"].is_object(),
            "{method} {path} documents its refusals"
        );
    }
    let schemes = r.body["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("api_key") && schemes.contains_key("session"));
}
