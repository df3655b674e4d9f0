//! What the server refuses on the signaling socket, and what it says then: our own words, bounded
//! fields, no unknown fields, nothing stored or broadcast from a refused message.

mod common;

use std::time::Duration;

use common::{next_error, TestServer};
use convene_proto::{ClientMessage, ErrorCode, ServerMessage};

fn chat_with_id(text: &str, id: &str) -> ClientMessage {
    ClientMessage::ChatSend {
        text: text.into(),
        client_msg_id: Some(id.into()),
    }
}

#[tokio::test]
async fn media_errors_carry_our_own_words_not_a_library_s() {
    let s = TestServer::start().await;
    let (mut c, _) = s.join("media-words", "Ada").await;
    for (frame, request) in [
        (r#"{"type":"sdp_offer","sdp":"v=0"}"#, "sdp_offer"),
        (
            r#"{"type":"sdp_offer","sdp":"v=0\r\nnonsense"}"#,
            "sdp_offer",
        ),
        (r#"{"type":"sdp_answer","sdp":"v=0"}"#, "sdp_answer"),
        (
            r#"{"type":"ice_candidate","candidate":"candidate:x 1 udp"}"#,
            "ice_candidate",
        ),
    ] {
        c.send_raw(frame).await.unwrap();
        let (code, message, req) = next_error(&mut c).await;
        assert_eq!(code, ErrorCode::MediaError, "{frame}: {message}");
        assert_eq!(req.as_deref(), Some(request));
        for bad in ["0x", "PointerOffset", "Parse error", "Rtc", "Sdp("] {
            assert!(
                !message.contains(bad),
                "{frame}: `{message}` contains `{bad}`"
            );
        }
    }
}

#[tokio::test]
async fn an_empty_candidate_ends_the_candidates_without_an_error() {
    let s = TestServer::start().await;
    let (mut c, _) = s.join("end-of-candidates", "Ada").await;
    c.send_raw(r#"{"type":"ice_candidate","candidate":""}"#)
        .await
        .unwrap();
    // The media plane takes a participant's messages in order: the next error is the second's.
    c.send_raw(r#"{"type":"ice_candidate","candidate":"nonsense"}"#)
        .await
        .unwrap();
    let (code, message, _) = next_error(&mut c).await;
    assert_eq!(code, ErrorCode::MediaError);
    assert!(message.contains("could not be parsed"), "{message}");
    common::assert_quiet(&mut c, Duration::from_millis(300), "error", |m| {
        matches!(m, ServerMessage::Error { .. })
    })
    .await;
}

#[tokio::test]
async fn a_long_client_msg_id_is_refused_and_nothing_is_stored_or_sent() {
    let s = TestServer::start().await;
    let (mut a, _) = s.join("long-ids", "Ada").await;
    let (mut b, _) = s.join("long-ids", "Bob").await;
    a.send(&chat_with_id("hello", &"i".repeat(60_000)))
        .await
        .unwrap();
    let (code, message, request) = next_error(&mut a).await;
    assert_eq!(code, ErrorCode::InvalidMessage);
    assert_eq!(request.as_deref(), Some("chat_send"));
    assert!(
        message.contains("client_msg_id") && message.contains("64"),
        "{message}"
    );
    assert!(message.len() < 200, "the id is not echoed");
    common::assert_quiet(&mut b, Duration::from_millis(300), "chat", |m| {
        matches!(m, ServerMessage::Chat { .. })
    })
    .await;
    // The longest allowed id is kept and sent to everyone; the refused message took no number.
    let id = "i".repeat(convene_proto::limits::MAX_ID_BYTES);
    a.send(&chat_with_id("hello", &id)).await.unwrap();
    let m = common::next_chat(&mut b).await;
    assert_eq!((m.seq, m.client_msg_id.as_deref()), (1, Some(id.as_str())));
    let (_, joined) = s.join("long-ids", "Cy").await;
    assert_eq!(joined.chat_history.len(), 1);
}

#[tokio::test]
async fn a_leave_with_a_field_is_refused_and_nobody_leaves() {
    let s = TestServer::start().await;
    let (mut a, ja) = s.join("leave-from", "Ada").await;
    let (mut b, _) = s.join("leave-from", "Bob").await;
    let frame = format!(r#"{{"type":"leave","from":"{}"}}"#, ja.participant_id);
    b.send_raw(&frame).await.unwrap();
    let (code, _, request) = next_error(&mut b).await;
    assert_eq!(code, ErrorCode::InvalidMessage);
    assert_eq!(request.as_deref(), Some("leave"));
    common::assert_quiet(&mut a, Duration::from_millis(300), "a leave", |m| {
        matches!(m, ServerMessage::ParticipantLeft { .. })
    })
    .await;
    // Bob is still in the room.
    b.send(&common::chat("still here")).await.unwrap();
    assert_eq!(common::next_chat(&mut a).await.text, "still here");
}
