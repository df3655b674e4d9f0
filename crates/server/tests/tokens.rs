//! Access tokens through the WebSocket join, the REST API and the command line: a token admits its
//! holder to its room whatever the room's rules, gives the record its identity, and its grants are
//! enforced (chat, publishing by source). Each bad token is refused with its code (the unit tests in
//! auth/tokens.rs go through every kind).

mod common;
#[path = "support/http.rs"]
mod http;

use common::{base64_encode, chat, next_error, TestServer};
use convene_client::{join_msg, ClientError, Signaling};
use convene_proto::{ClientMessage, ErrorCode, Joined, Source};
use convene_server::auth::tokens::{self, Grants, Publish};
use convene_store::Store;

const KEY: &str = "k1:0123456789abcdef0123456789abcdef";

async fn server() -> TestServer {
    TestServer::with(|c| c.auth.token_keys = vec![KEY.into()]).await
}

fn token(s: &TestServer, room: &str, grants: Grants) -> String {
    tokens::make(
        &s.config,
        room,
        "user-42",
        Some("Ada from the CRM".into()),
        Some(600),
        grants,
        None,
    )
    .expect("token")
    .0
}

async fn join_with(
    s: &TestServer,
    room: &str,
    token: &str,
) -> Result<(Signaling, Joined), ErrorCode> {
    let mut c = s.client().await;
    let mut msg = join_msg(room, "typed name");
    if let ClientMessage::Join { access_token, .. } = &mut msg {
        *access_token = Some(token.into());
    }
    match c.join(msg).await {
        Ok(j) => Ok((c, j)),
        Err(ClientError::Refused { code, .. }) => Err(code),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_admits_its_holder_to_its_room_and_names_them() {
    let s = server().await;
    let owner = http::signed_up(s.addr, "o@example.org").await;
    let r = http::request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &owner)],
        Some(serde_json::json!({ "unique_name": "board", "access": "invited", "password": "secret!" })),
    )
    .await;
    assert_eq!(r.status, 201);
    let t = token(&s, "Board", Grants::default());
    let (_c, j) = join_with(&s, "board", &t).await.expect("the token admits");
    let me = j
        .participants
        .iter()
        .find(|p| p.id == j.participant_id)
        .unwrap();
    assert_eq!(me.display_name, "Ada from the CRM");
    let store = s.store().await;
    let m = store.meetings(Some("board"), 1).await.unwrap().remove(0);
    let sessions = store.sessions(m.id).await.unwrap();
    assert_eq!(sessions[0].identity.as_deref(), Some("user-42"));
    // The same token does not open another room.
    assert_eq!(
        join_with(&s, "other", &t).await.err(),
        Some(ErrorCode::TokenWrongRoom)
    );
    assert_eq!(
        join_with(&s, "board", "not.a.token").await.err(),
        Some(ErrorCode::InvalidToken)
    );
    let mut old = tokens::Claims {
        sub: "x".into(),
        name: None,
        room: "board".into(),
        exp: 1,
        nbf: None,
        iat: None,
        jti: None,
        grants: Grants::default(),
    };
    let expired = tokens::issue(&s.config.auth, None, &old).unwrap();
    assert_eq!(
        join_with(&s, "board", &expired).await.err(),
        Some(ErrorCode::TokenExpired)
    );
    old.exp = u64::MAX / 2;
    old.nbf = Some(u64::MAX / 4);
    let early = tokens::issue(&s.config.auth, None, &old).unwrap();
    assert_eq!(
        join_with(&s, "board", &early).await.err(),
        Some(ErrorCode::TokenNotYetValid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_are_enforced() {
    let s = server().await;
    let quiet = Grants {
        join: true,
        publish: Publish::Sources(vec![Source::Microphone]),
        chat: false,
        ..Grants::default()
    };
    let (mut c, _) = join_with(&s, "grants", &token(&s, "grants", quiet))
        .await
        .unwrap();
    c.send(&chat("may I?")).await.unwrap();
    assert_eq!(next_error(&mut c).await.0, ErrorCode::Forbidden);
    let store = s.store().await;
    let m = store.meetings(Some("grants"), 1).await.unwrap().remove(0);
    assert!(
        store.chat_history(m.id, 10).await.unwrap().is_empty(),
        "nothing stored"
    );
    // An offer that would send a camera is refused before the media plane sees it.
    let camera = "v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n\
                  m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendonly\r\n";
    c.send(&ClientMessage::SdpOffer {
        sdp: camera.into(),
        tracks: vec![],
    })
    .await
    .unwrap();
    assert_eq!(next_error(&mut c).await.0, ErrorCode::Forbidden);
    // A microphone alone passes the policy (and reaches the media plane, which takes this bare SDP
    // for what it is: not a usable offer).
    let mic = "v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n";
    c.send(&ClientMessage::SdpOffer {
        sdp: mic.into(),
        tracks: vec![],
    })
    .await
    .unwrap();
    assert_eq!(next_error(&mut c).await.0, ErrorCode::MediaError);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_made_by_api_keys_and_admins() {
    let s = server().await;
    let body = serde_json::json!({ "room": "Team", "identity": "u1", "grants": { "chat": false } });
    let anon = http::request(s.addr, "POST", "/api/v1/tokens", &[], Some(body.clone())).await;
    assert_eq!(anon.status, 401);
    let user = http::signed_up(s.addr, "u@example.org").await;
    let r = http::request(
        s.addr,
        "POST",
        "/api/v1/tokens",
        &[("Cookie", &user)],
        Some(body.clone()),
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let key = convene_server::auth::apikeys::generate("t", 0).unwrap();
    s.store().await.create_api_key(&key.record).await.unwrap();
    let basic = format!(
        "Basic {}",
        base64_encode(format!("{}:{}", key.record.id, key.secret).as_bytes())
    );
    let r = http::request(
        s.addr,
        "POST",
        "/api/v1/tokens",
        &[("Authorization", &basic)],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["room"], "team");
    let t = r.body["token"].as_str().unwrap();
    let claims = tokens::verify(&s.config.auth, t, "team").unwrap();
    assert!(!claims.grants.chat);
    let too_long = serde_json::json!({ "room": "t", "identity": "u", "ttl_secs": 10_000_000 });
    let r = http::request(
        s.addr,
        "POST",
        "/api/v1/tokens",
        &[("Authorization", &basic)],
        Some(too_long),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "invalid_message"));
}

#[test]
fn convene_token_create_prints_a_token_the_server_takes() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convene"))
        .args([
            "token",
            "create",
            "--room",
            "Team",
            "--identity",
            "u7",
            "--grant",
            "publish:microphone,chat",
            "--ttl",
            "30m",
            "--set",
            &format!("auth.token_keys={KEY}"),
        ])
        .output()
        .expect("run convene");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8(out.stdout).unwrap();
    let config = convene_server::config::AuthConfig {
        token_keys: vec![KEY.into()],
        ..Default::default()
    };
    let claims = tokens::verify(&config, t.trim(), "team").unwrap();
    assert_eq!(claims.sub, "u7");
    assert!(claims.grants.chat && claims.grants.publish.allows(Source::Microphone));
    assert!(!claims.grants.publish.allows(Source::Camera));
    assert!(claims.exp - claims.iat.unwrap() == 1800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_join_leaves_no_rights_on_the_connection() {
    let s = TestServer::with(|c| {
        c.auth.token_keys = vec![KEY.into()];
        c.rooms.max_participants = 1;
    })
    .await;
    let owner = http::signed_up(s.addr, "o@example.org").await;
    let r = http::request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &owner)],
        Some(serde_json::json!({ "unique_name": "members", "access": "accounts" })),
    )
    .await;
    assert_eq!(r.status, 201);
    // "full" holds its one seat; a token for it is refused there, room_full.
    let (_first, _) = s.join("full", "First").await;
    let mut c = s.client().await;
    let mut msg = join_msg("full", "Guest");
    if let ClientMessage::Join { access_token, .. } = &mut msg {
        *access_token = Some(token(&s, "full", Grants::default()));
    }
    match c.join(msg).await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::RoomFull),
        other => panic!("expected room_full, got {other:?}"),
    }
    // The same connection, without a token, is a guest again: the members-only room refuses it.
    match c.join(join_msg("members", "Guest")).await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::SignInRequired),
        other => panic!("expected sign_in_required, got {other:?}"),
    }
}
