//! Bad input and limits: each gets a clear error, loses nothing, and never takes the server down.
//! Each limit test is written so that it fails if the limit is removed.

mod common;

use std::time::Duration;

use common::{chat, TestServer};
use convene_client::{join_msg, ClientError, Signaling};
use convene_proto::{ClientMessage, ErrorCode, ServerMessage};

async fn expect_error(c: &mut Signaling) -> (ErrorCode, String) {
    c.recv_until(|m| match m {
        ServerMessage::Error { code, message, .. } => Some((*code, message.clone())),
        _ => None,
    })
    .await
    .expect("an error message")
}

/// The connection still works: a ping is answered.
async fn still_usable(c: &mut Signaling) {
    c.send(&ClientMessage::Ping { ts: Some(7.0) })
        .await
        .unwrap();
    c.recv_until(|m| {
        matches!(m, ServerMessage::Pong { ts: Some(t), .. } if *t == 7.0).then_some(())
    })
    .await
    .expect("pong after an error");
}

#[tokio::test]
async fn malformed_unknown_and_invalid_messages_get_errors_and_the_connection_stays() {
    let s = TestServer::start().await;
    let (mut c, _) = s.join("bad", "Ada").await;
    let cases: &[(&str, ErrorCode)] = &[
        ("{not json", ErrorCode::MalformedJson),
        ("42", ErrorCode::MalformedJson),
        (r#"{"no_type":1}"#, ErrorCode::UnknownType),
        (r#"{"type":"teleport"}"#, ErrorCode::UnknownType),
        (r#"{"type":"chat_send"}"#, ErrorCode::InvalidMessage),
        (
            r#"{"type":"set_hand","raised":"yes"}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            r#"{"type":"join","room":"bad","display_name":"again"}"#,
            ErrorCode::AlreadyJoined,
        ),
        (r#"{"type":"chat_send","text":"   "}"#, ErrorCode::ChatEmpty),
    ];
    for (text, want) in cases {
        c.send_raw(text).await.unwrap();
        let (code, message) = expect_error(&mut c).await;
        assert_eq!(code, *want, "for {text}: {message}");
        assert!(!message.is_empty());
        still_usable(&mut c).await;
    }
    c.send_binary(vec![1, 2, 3]).await.unwrap();
    assert_eq!(expect_error(&mut c).await.0, ErrorCode::MalformedJson);
    still_usable(&mut c).await;
    assert!(
        s.metric("convene_errors_total{code=\"unknown_type\"}")
            .await
            >= 2.0
    );
    assert!(
        s.metric("convene_messages_in_total{type=\"invalid\"}")
            .await
            >= 4.0
    );
}

#[tokio::test]
async fn identity_comes_from_the_session_not_the_message() {
    let s = TestServer::start().await;
    let (mut a, ja) = s.join("who", "Ada").await;
    let (mut b, jb) = s.join("who", "Bob").await;
    // Bob tries to speak as Ada: the extra field is refused outright.
    let forged = format!(
        r#"{{"type":"chat_send","text":"I am Ada","from":"{}"}}"#,
        ja.participant_id
    );
    b.send_raw(&forged).await.unwrap();
    assert_eq!(expect_error(&mut b).await.0, ErrorCode::InvalidMessage);
    b.send(&chat("from Bob")).await.unwrap();
    let m = common::next_chat(&mut a).await;
    assert_eq!(m.from, jb.participant_id);
    assert_eq!(m.text, "from Bob");
}

#[tokio::test]
async fn messages_before_join_are_refused() {
    let s = TestServer::start().await;
    let mut c = s.client().await;
    c.send(&chat("hi")).await.unwrap();
    assert_eq!(expect_error(&mut c).await.0, ErrorCode::NotJoined);
    c.join(join_msg("ok", "Ada")).await.unwrap();
}

#[tokio::test]
async fn bad_names_and_versions() {
    let s = TestServer::start().await;
    let mut c = s.client().await;
    let refused = |r: Result<_, ClientError>| match r {
        Err(ClientError::Refused { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        refused(c.join(join_msg("no spaces", "Ada")).await),
        ErrorCode::InvalidRoomName
    );
    assert_eq!(
        refused(c.join(join_msg(&"r".repeat(65), "Ada")).await),
        ErrorCode::InvalidRoomName
    );
    assert_eq!(
        refused(c.join(join_msg("ok", "   ")).await),
        ErrorCode::InvalidDisplayName
    );
    assert_eq!(
        refused(c.join(join_msg("ok", &"n".repeat(65))).await),
        ErrorCode::InvalidDisplayName
    );
    let mut v2 = join_msg("ok", "Ada");
    if let ClientMessage::Join { version, .. } = &mut v2 {
        *version = Some(2);
    }
    assert_eq!(refused(c.join(v2).await), ErrorCode::UnsupportedVersion);
    let j = c.join(join_msg("ok", &"n".repeat(64))).await.unwrap();
    assert_eq!(j.participants[0].display_name.chars().count(), 64);
}

#[tokio::test]
async fn chat_length_is_bounded_in_characters() {
    let s = TestServer::start().await;
    let (mut c, _) = s.join("long-chat", "Ada").await;
    // 4,000 two-byte characters are allowed (8,000 bytes) ...
    c.send(&chat(&"é".repeat(4000))).await.unwrap();
    let m = common::next_chat(&mut c).await;
    assert_eq!(m.text.chars().count(), 4000);
    // ... 4,001 are not, and nothing is stored or broadcast.
    c.send(&chat(&"x".repeat(4001))).await.unwrap();
    let next = c
        .recv_until(|m| match m {
            ServerMessage::Error { code, .. } => Some(Err(*code)),
            ServerMessage::Chat { message } => Some(Ok(message.seq)),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(next, Err(ErrorCode::ChatTooLong));
    c.send(&chat("after")).await.unwrap();
    let m = common::next_chat(&mut c).await;
    assert_eq!(m.seq, 2, "the refused message took no sequence number");
}

#[tokio::test]
async fn a_frame_over_the_limit_closes_with_1009() {
    let s = TestServer::start().await;
    let limit = s.config.limits.max_frame_bytes as usize;
    assert!(
        limit >= 400 * 1024,
        "holds the SDP answer of a browser in a room of 100 (~4 KB each)"
    );
    let (mut c, _) = s.join("big-frame", "Ada").await;
    // Just under the limit is fine (it fails validation as chat, but is read).
    let under = format!(
        r#"{{"type":"chat_send","text":"{}"}}"#,
        "x".repeat(limit - 100)
    );
    c.send_raw(&under).await.unwrap();
    assert_eq!(expect_error(&mut c).await.0, ErrorCode::ChatTooLong);
    let over = format!(
        r#"{{"type":"chat_send","text":"{}"}}"#,
        "x".repeat(limit + 1000)
    );
    c.send_raw(&over).await.unwrap();
    let closed = c.closed().await.unwrap();
    assert_eq!(closed.code, Some(1009), "{closed:?}");
}

#[tokio::test]
async fn a_huge_frame_is_refused_without_buffering_it() {
    let s = TestServer::start().await;
    let mut c = s.client().await;
    let huge = "x".repeat(16 * 1024 * 1024);
    let _ = c.send_raw(&huge).await;
    let closed = c.closed().await.unwrap();
    assert!(
        closed.code == Some(1009) || closed.code.is_none(),
        "{closed:?}"
    );
    // The server is fine.
    let (_d, _) = s.join("after-huge", "Ada").await;
}

#[tokio::test]
async fn flooding_is_rate_limited_then_closed() {
    let s = TestServer::start().await;
    let (mut a, _) = s.join("flood", "Ada").await;
    let (mut b, _) = s.join("flood", "Bob").await;
    for _ in 0..60 {
        b.send(&ClientMessage::SetHand { raised: true })
            .await
            .unwrap();
    }
    assert_eq!(expect_error(&mut b).await.0, ErrorCode::RateLimited);
    for _ in 0..300 {
        if b.send(&ClientMessage::SetHand { raised: false })
            .await
            .is_err()
        {
            break;
        }
    }
    let closed = b.closed().await.unwrap();
    assert_eq!(closed.code, Some(1008), "{closed:?}");
    assert_eq!(
        s.metric("convene_connections_closed_rate_limit_total")
            .await,
        1.0
    );
    // Others are unaffected.
    a.send(&ClientMessage::Ping { ts: None }).await.unwrap();
    a.recv_until(|m| matches!(m, ServerMessage::Pong { .. }).then_some(()))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_steady_client_is_not_rate_limited() {
    let s = TestServer::start().await;
    let (mut c, _) = s.join("steady", "Ada").await;
    for i in 0..30 {
        c.send(&ClientMessage::Ping { ts: Some(i as f64) })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let mut pongs = 0;
    while pongs < 30 {
        match c.recv().await.unwrap() {
            ServerMessage::Pong { .. } => pongs += 1,
            ServerMessage::Error { code, .. } => panic!("unexpected error {code}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn garbage_http_and_websocket_bytes_do_not_hurt() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start().await;
    let mut seed = 0x2545F4914F6CDD1Du64;
    for len in [1usize, 3, 17, 200, 5000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let mut raw = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        let _ = raw.write_all(&bytes).await;
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), raw.read_to_end(&mut sink)).await;
    }
    assert_eq!(s.get("/healthz").await.0, 200);
    let (_c, _) = s.join("still-fine", "Ada").await;
}
