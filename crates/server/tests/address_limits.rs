//! Limits per address: joins per minute, and guest seats in one room, so that one address cannot
//! flood joins or take every seat of a meeting. Loopback is exempt by default (the tests turn that off).

mod common;
#[path = "support/http.rs"]
mod http;

use common::TestServer;
use convene_client::{join_msg, ClientError, Signaling};
use convene_proto::ErrorCode;

async fn join(s: &TestServer, room: &str, cookie: Option<&str>) -> Result<Signaling, ErrorCode> {
    let origin = format!("http://{}", s.addr);
    let mut headers = vec![("Origin", origin.as_str())];
    if let Some(c) = cookie {
        headers.push(("Cookie", c));
    }
    let mut c = Signaling::connect_with_headers(&s.ws_url(), &headers)
        .await
        .unwrap();
    match c.join(join_msg(room, "Someone")).await {
        Ok(_) => Ok(c),
        Err(ClientError::Refused { code, .. }) => Err(code),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_per_minute_per_address() {
    let s = TestServer::with(|c| {
        c.limits.exempt_loopback = false;
        c.limits.joins_per_minute_per_address = 3;
    })
    .await;
    let mut kept = Vec::new();
    for room in ["a", "b", "c"] {
        kept.push(join(&s, room, None).await.expect("within the limit"));
    }
    assert_eq!(
        join(&s, "d", None).await.err(),
        Some(ErrorCode::RateLimited)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_seats_per_address_and_room() {
    let s = TestServer::with(|c| {
        c.limits.exempt_loopback = false;
        c.limits.guest_seats_per_address = 2;
    })
    .await;
    let cookie = http::signed_up(s.addr, "member@example.org").await;
    let _a = join(&s, "seats", None).await.expect("first guest");
    let _b = join(&s, "seats", None).await.expect("second guest");
    assert_eq!(
        join(&s, "seats", None).await.err(),
        Some(ErrorCode::TooManyFromAddress)
    );
    let _m = join(&s, "seats", Some(&cookie))
        .await
        .expect("a signed-in user is not a guest seat");
    let _o = join(&s, "other-room", None)
        .await
        .expect("another room has its own seats");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_exempt_by_default() {
    let s = TestServer::with(|c| {
        c.limits.guest_seats_per_address = 1;
        c.limits.joins_per_minute_per_address = 1;
    })
    .await;
    let _a = join(&s, "local", None).await.expect("first");
    let _b = join(&s, "local", None)
        .await
        .expect("loopback is not limited");
}
