//! The close code tells a client why it was closed: 1007 for a text frame that is not UTF-8, 1002
//! for other protocol violations, 1008 for a flood, and the close frame arrives even while the
//! client is still flooding (not lost to a TCP reset).

mod common;
#[path = "support/raw_ws.rs"]
mod raw_ws;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use convene_client::join_msg;
use convene_proto::ClientMessage;
use raw_ws::{connect, frame, read_until_close, text, End, TEXT};
use tokio::io::AsyncWriteExt;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    let s = TestServer::start().await;
    let mut ws = connect(s.addr).await;
    ws.write_all(&frame(TEXT, &[b'{', 0xff, 0xfe, b'}'], 0))
        .await
        .unwrap();
    assert_eq!(read_until_close(&mut ws, WAIT).await, End::Close(1007));
}

#[tokio::test]
async fn protocol_violations_close_with_1002() {
    let s = TestServer::start().await;
    // Reserved bits set without an extension that defines them.
    let mut ws = connect(s.addr).await;
    ws.write_all(&frame(TEXT, b"{}", 0b100)).await.unwrap();
    assert_eq!(read_until_close(&mut ws, WAIT).await, End::Close(1002));
    // An unmasked frame from a client.
    let mut ws = connect(s.addr).await;
    ws.write_all(&[0x81, 0x02, b'{', b'}']).await.unwrap();
    assert_eq!(read_until_close(&mut ws, WAIT).await, End::Close(1002));
    // The server is fine.
    let (_c, _) = s.join("after-violations", "Ada").await;
}

/// A client that keeps sending while the server closes it (a browser's send queue, a script in a
/// loop) and reads what arrived a little later. Were the socket closed with the flood unread, the
/// system would answer with a TCP reset: the client's next send fails and it reports 1006 without
/// ever seeing the close frame.
#[tokio::test]
async fn a_client_still_flooding_gets_the_1008_close_frame_not_a_reset() {
    let s = TestServer::start().await;
    let ws = connect(s.addr).await;
    let (mut rd, mut wr) = ws.into_split();
    let join = serde_json::to_string(&join_msg("flood-raw", "Ada")).unwrap();
    let hand = serde_json::to_string(&ClientMessage::SetHand { raised: true }).unwrap();
    wr.write_all(&text(&join)).await.unwrap();
    let mut chunk = Vec::new();
    for _ in 0..50 {
        chunk.extend_from_slice(&text(&hand));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let flood = tokio::spawn(async move {
        let start = std::time::Instant::now();
        while !stopped.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(5) {
            wr.write_all(&chunk).await?;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        std::io::Result::Ok(wr)
    });
    // The reader comes round a little later than the server's close.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let end = read_until_close(&mut rd, WAIT).await;
    stop.store(true, Ordering::Relaxed);
    let sent = flood.await.unwrap();
    assert!(
        sent.is_ok(),
        "a send failed (reset) before the close frame was read: {:?}",
        sent.err()
    );
    assert_eq!(end, End::Close(1008));
}

/// The linger after a close is bounded: a client that floods forever and never reads is cut off
/// (its sends fail) soon after the server's decision, not served forever.
#[tokio::test]
async fn a_client_that_never_stops_flooding_is_cut_off_after_the_linger() {
    let s = TestServer::start().await;
    let mut ws = connect(s.addr).await;
    let join = serde_json::to_string(&join_msg("flood-forever", "Ada")).unwrap();
    let hand = serde_json::to_string(&ClientMessage::SetHand { raised: true }).unwrap();
    ws.write_all(&text(&join)).await.unwrap();
    let mut chunk = Vec::new();
    for _ in 0..50 {
        chunk.extend_from_slice(&text(&hand));
    }
    let start = std::time::Instant::now();
    let mut failed = None;
    while start.elapsed() < Duration::from_secs(8) {
        if ws.write_all(&chunk).await.is_err() {
            failed = Some(start.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // The close comes after ~140 messages (a few ms), then at most the 2 s linger.
    let failed = failed.expect("still accepted after 8 s");
    assert!(failed < Duration::from_secs(4), "{failed:?}");
}
