//! What a joiner receives of the meeting's chat is bounded in octets, whatever was said before.

mod common;

use common::{chat, next_chat, TestServer};
use convene_proto::ServerMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joined_stays_small_after_a_long_chat() {
    let s = TestServer::with(|c| {
        c.limits.messages_per_sec = 1000;
        c.limits.messages_burst = 1000;
    })
    .await;
    let (mut ada, _) = s.join("history", "Ada").await;
    // 100 messages of 4,000 three-octet characters: 1.2 MB of text, all within the per-message limits.
    let text = "会".repeat(4000);
    for i in 1..=100 {
        ada.send(&chat(&text)).await.unwrap();
        assert_eq!(next_chat(&mut ada).await.seq, i);
    }
    let (_bob, jb) = s.join("history", "Bob").await;
    let wire = serde_json::to_string(&ServerMessage::Joined(Box::new(jb.clone()))).unwrap();
    assert!(
        wire.len() <= 300 * 1024,
        "joined is {} octets; history is bounded to 256 KiB",
        wire.len()
    );
    let seqs: Vec<i64> = jb.chat_history.iter().map(|m| m.seq).collect();
    assert!(!seqs.is_empty());
    assert_eq!(*seqs.last().unwrap(), 100, "the newest are kept");
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, no holes"
    );
}
