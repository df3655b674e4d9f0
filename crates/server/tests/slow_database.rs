//! A slow database does not freeze a room: while a chat message or a join waits for its write, the
//! room goes on relaying everything else; the message (or the newcomer) is announced only once it
//! is committed.

mod common;

use std::time::{Duration, Instant};

use common::{chat, next_chat, TestServer};
use convene_proto::{ClientMessage, ServerMessage};
use sqlx::Connection;

/// Another connection takes SQLite's write lock, as a long transaction elsewhere would: the
/// server's writes wait (up to its busy timeout, 5 s) until `COMMIT` on the returned connection.
async fn hold_writes(s: &TestServer) -> sqlx::SqliteConnection {
    let mut lock = sqlx::SqliteConnection::connect(&s.db_url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut lock)
        .await
        .unwrap();
    lock
}

/// What Carol hears first after Bob raises his hand while a write is held: "hand", or `other` when
/// `pick` says so; and how long it took.
async fn first_after_a_hand(
    bob: &mut convene_client::Signaling,
    carol: &mut convene_client::Signaling,
    other: impl Fn(&ServerMessage) -> bool,
) -> (&'static str, Duration) {
    let asked = Instant::now();
    bob.send(&ClientMessage::SetHand { raised: true })
        .await
        .unwrap();
    let first = carol
        .recv_until(|m| match m {
            ServerMessage::ParticipantUpdated { participant } if participant.hand_raised => {
                Some("hand")
            }
            m if other(m) => Some("other"),
            _ => None,
        })
        .await
        .unwrap();
    (first, asked.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_chat_write_does_not_hold_up_the_room() {
    let s = TestServer::start().await;
    let (mut ada, _) = s.join("slow-db", "Ada").await;
    let (mut bob, _) = s.join("slow-db", "Bob").await;
    let (mut carol, _) = s.join("slow-db", "Carol").await;

    let mut lock = hold_writes(&s).await;
    ada.send(&chat("written late")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Meanwhile Bob raises his hand: Carol sees it at once, and no chat message comes first.
    let (first, took) = first_after_a_hand(&mut bob, &mut carol, |m| {
        matches!(m, ServerMessage::Chat { .. })
    })
    .await;
    assert_eq!(
        first, "hand",
        "the message is not broadcast before its write"
    );
    assert!(
        took < Duration::from_millis(1500),
        "the hand took {took:?}: the room waited for the database"
    );

    // The write goes through when the lock is released, and everyone gets the message.
    tokio::time::sleep(Duration::from_millis(500)).await;
    sqlx::query("COMMIT").execute(&mut lock).await.unwrap();
    for c in [&mut ada, &mut carol] {
        let m = next_chat(c).await;
        assert_eq!((m.seq, m.text.as_str()), (1, "written late"));
    }
    let store = s.store().await;
    let m = convene_store::Store::meetings(&store, Some("slow-db"), 1)
        .await
        .unwrap()
        .remove(0);
    let stored = convene_store::Store::chat_page(&store, m.id, 0, 10)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_join_write_does_not_hold_up_the_room() {
    let s = TestServer::start().await;
    let (_ada, _) = s.join("slow-join", "Ada").await;
    let (mut bob, _) = s.join("slow-join", "Bob").await;
    let (mut carol, _) = s.join("slow-join", "Carol").await;
    let mut lock = hold_writes(&s).await;
    // Dan's session row waits for the lock.
    let mut dan = s.client().await;
    dan.send(&convene_client::join_msg("slow-join", "Dan"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (first, took) = first_after_a_hand(&mut bob, &mut carol, |m| {
        matches!(m, ServerMessage::ParticipantJoined { .. })
    })
    .await;
    assert_eq!(
        first, "hand",
        "nobody hears of Dan before his row is written"
    );
    assert!(
        took < Duration::from_millis(1500),
        "the hand took {took:?}: the room waited for the database"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("COMMIT").execute(&mut lock).await.unwrap();
    let joined = dan
        .recv_until(|m| match m {
            ServerMessage::Joined(j) => Some(j.participants.len()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(joined, 4);
    let name = carol
        .recv_until(|m| match m {
            ServerMessage::ParticipantJoined { participant } => {
                Some(participant.display_name.clone())
            }
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(name, "Dan");
}
