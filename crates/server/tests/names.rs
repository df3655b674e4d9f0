//! Room and display names in every script, through the protocol: one spelling per room, nothing
//! silently changed, invisible tricks refused or cleaned.

mod common;

use common::TestServer;
use convene_client::{join_msg, ClientError};
use convene_proto::ErrorCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_in_chinese_korean_and_french() {
    let s = TestServer::start().await;
    let (_a, ja) = s.join("会议室", "Ada").await;
    let (_b, jb) = s.join("회의실", "Bob").await;
    assert_eq!(ja.room.0, "会议室");
    assert_eq!(jb.room.0, "회의실");
    assert_eq!(jb.participants.len(), 1, "two rooms, not one");
    let (_c, jc) = s.join("Café", "Cleo").await;
    let (_d, jd) = s.join("CAFÉ", "Dan").await;
    assert_eq!(jc.room.0, "café");
    assert_eq!(jd.room.0, "café");
    let ids: Vec<_> = jd.participants.iter().map(|p| p.id.clone()).collect();
    assert!(
        ids.contains(&jc.participant_id),
        "Café and CAFÉ are one room"
    );
    // The records API finds the meeting by its name in any spelling's canonical form.
    let (status, body) = s.get("/api/v1/meetings?room=caf%C3%A9").await;
    assert_eq!(status, 200);
    assert!(body.contains("caf\u{e9}"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_would_be_changed_or_trick_the_eye_are_refused() {
    let s = TestServer::start().await;
    let mut c = s.client().await;
    let refusal = |r: Result<_, ClientError>| match r {
        Err(ClientError::Refused { code, message }) => (code, message),
        other => panic!("expected a refusal, got {other:?}"),
    };
    // Never silently turned into another room's name.
    let (code, message) = refusal(c.join(join_msg("Ünïcode room!!", "Ada")).await);
    assert_eq!(code, ErrorCode::InvalidRoomName);
    assert!(message.contains("U+0020"), "names the character: {message}");
    // A Cyrillic 'а' in a Latin name.
    let (code, _) = refusal(c.join(join_msg("p\u{430}ypal", "Ada")).await);
    assert_eq!(code, ErrorCode::InvalidRoomName);
    let (code, _) = refusal(c.join(join_msg("team\u{200B}", "Ada")).await);
    assert_eq!(code, ErrorCode::InvalidRoomName);
    // A display name of zero-width characters only.
    let (code, _) = refusal(c.join(join_msg("ok", "\u{200B}\u{200D}\u{2060}")).await);
    assert_eq!(code, ErrorCode::InvalidDisplayName);
    // A right-to-left override is removed, not shown to everyone.
    let j = c.join(join_msg("ok", "\u{202E}Ada")).await.expect("joins");
    assert_eq!(j.participants[0].display_name, "Ada");
}
