//! Connections that hold a socket without finishing what they started are closed: a partial HTTP
//! head, a silent connection, an idle keep-alive connection, a stalled TLS handshake, an ICE-TCP
//! connection without a complete first frame. WebSockets are not cut by the HTTP idle timeout.

mod common;
#[path = "support/raw_ws.rs"]
mod raw_ws;

use std::time::Duration;

use common::TestServer;
use convene_proto::{ClientMessage, ServerMessage};
use raw_ws::closed_within;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Header timeout 1 s, idle timeout 3 s, ICE-TCP handshake 1 s.
async fn server() -> TestServer {
    TestServer::with(|c| {
        c.server.http_header_timeout_secs = 1;
        c.server.http_idle_timeout_secs = 3;
        c.media.ice_tcp_handshake_timeout_secs = 1;
    })
    .await
}

#[tokio::test]
async fn a_partial_request_head_is_closed_within_the_header_timeout() {
    let s = server().await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let took = closed_within(&mut c, Duration::from_secs(5)).await;
    let took = took.expect("the connection was closed");
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

#[tokio::test]
async fn a_head_trickled_byte_by_byte_is_closed_within_the_header_timeout() {
    let s = server().await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let start = std::time::Instant::now();
    // One byte every 200 ms keeps bytes moving, but the head never completes in time.
    for b in b"GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if c.write_all(&[*b]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if start.elapsed() > Duration::from_secs(4) {
            break;
        }
    }
    let took = closed_within(&mut c, Duration::from_secs(1)).await;
    assert!(took.is_some(), "still open after {:?}", start.elapsed());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_silent_connection_and_a_stalled_tls_handshake_are_closed() {
    let s = server().await;
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    let took = closed_within(&mut silent, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|t| t < Duration::from_millis(2500)),
        "{took:?}"
    );

    let tls = TestServer::with(|c| {
        c.tls.self_signed = true;
        c.server.http_header_timeout_secs = 1;
    })
    .await;
    let mut c = TcpStream::connect(tls.addr).await.unwrap();
    // The first bytes of a TLS record header, then nothing.
    c.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let took = closed_within(&mut c, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|t| t < Duration::from_millis(2500)),
        "{took:?}"
    );
}

async fn get_keep_alive(c: &mut TcpStream) -> String {
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
        .await
        .expect("a response")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let s = server().await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    assert!(get_keep_alive(&mut c).await.starts_with("HTTP/1.1 200"));
    // Idle longer than the header timeout (1 s): still served.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let again = get_keep_alive(&mut c).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    let start = std::time::Instant::now();
    let took = closed_within(&mut c, Duration::from_secs(8)).await;
    let took = took.expect("the idle connection was closed");
    assert!(
        took > Duration::from_millis(2500) && took < Duration::from_millis(4500),
        "closed after {took:?}, idle timeout 3 s ({:?})",
        start.elapsed()
    );
}

#[tokio::test]
async fn an_ice_tcp_connection_without_a_complete_first_frame_is_closed() {
    let s = server().await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    // One byte: the start of an RFC 4571 length, never followed by the frame.
    c.write_all(&[0x00]).await.unwrap();
    let took = closed_within(&mut c, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|t| t < Duration::from_millis(2500)),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_websocket_outlives_the_http_idle_timeout() {
    let s = TestServer::with(|c| {
        c.server.http_header_timeout_secs = 1;
        c.server.http_idle_timeout_secs = 1;
    })
    .await;
    let (mut a, _) = s.join("long-call", "Ada").await;
    // Quiet for longer than both HTTP timeouts (the client answers the server's pings).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    a.send(&ClientMessage::Ping { ts: None }).await.unwrap();
    a.recv_until(|m| matches!(m, ServerMessage::Pong { .. }).then_some(()))
        .await
        .expect("still connected");
}
