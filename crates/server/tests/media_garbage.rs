//! Garbage on the media UDP port and the ICE-TCP path is dropped, counted by reason, and never hurts.

mod common;

use std::time::Duration;

use common::TestServer;
use tokio::net::UdpSocket;

fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// A STUN binding request with a USERNAME and a MESSAGE-INTEGRITY that verifies against nothing.
fn stun_binding(username: &str) -> Vec<u8> {
    let mut attrs = Vec::new();
    // USERNAME (0x0006), padded to 4 bytes.
    attrs.extend_from_slice(&0x0006u16.to_be_bytes());
    attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attrs.extend_from_slice(username.as_bytes());
    while attrs.len() % 4 != 0 {
        attrs.push(0);
    }
    // PRIORITY (0x0024), required in binding requests.
    attrs.extend_from_slice(&0x0024u16.to_be_bytes());
    attrs.extend_from_slice(&4u16.to_be_bytes());
    attrs.extend_from_slice(&0x6e00_01ffu32.to_be_bytes());
    // MESSAGE-INTEGRITY (0x0008): 20 bytes of nonsense.
    attrs.extend_from_slice(&0x0008u16.to_be_bytes());
    attrs.extend_from_slice(&20u16.to_be_bytes());
    attrs.extend_from_slice(&[0xAB; 20]);
    let mut msg = Vec::new();
    msg.extend_from_slice(&0x0001u16.to_be_bytes()); // binding request
                                                     // Length includes the FINGERPRINT attribute (8 bytes) added below.
    msg.extend_from_slice(&((attrs.len() + 8) as u16).to_be_bytes());
    msg.extend_from_slice(&0x2112A442u32.to_be_bytes()); // magic cookie
    msg.extend_from_slice(&[7u8; 12]); // transaction id
    msg.extend_from_slice(&attrs);
    // FINGERPRINT (0x8028): CRC-32 of the message so far, XOR 0x5354554e (RFC 5389 15.5).
    let fp = crc32(&msg) ^ 0x5354_554e;
    msg.extend_from_slice(&0x8028u16.to_be_bytes());
    msg.extend_from_slice(&4u16.to_be_bytes());
    msg.extend_from_slice(&fp.to_be_bytes());
    msg
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn garbage_datagrams_are_dropped_and_counted_by_reason() {
    let s = TestServer::start().await;
    let udp_addr = s.udp_addr.expect("media is on by default");
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();

    // Random bytes.
    let mut seed = 0x9E3779B97F4A7C15u64;
    let mut sent = 0u64;
    for _ in 0..2000 {
        let len = (xorshift(&mut seed) % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
        sock.send_to(&bytes, udp_addr).await.unwrap();
        sent += 1;
        if sent.is_multiple_of(200) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // STUN for a participant that does not exist.
    for _ in 0..10 {
        sock.send_to(&stun_binding("nosuchufrag:client"), udp_addr)
            .await
            .unwrap();
    }
    // Truncated RTP (version 2, 5 bytes) and truncated RTCP (a sender report header only).
    for _ in 0..10 {
        sock.send_to(&[0x80, 0x60, 0x00, 0x01, 0x00], udp_addr)
            .await
            .unwrap();
        sock.send_to(&[0x80, 200, 0x00, 0x06], udp_addr)
            .await
            .unwrap();
    }

    let total = s
        .metric_reaches(
            "convene_media_dropped_packets_total{reason=\"unknown_ufrag\"}",
            10.0,
        )
        .await;
    let (_, body) = s.get("/metrics").await;
    assert!(
        total >= 10.0,
        "STUN with unknown credentials counted: {total}\n{body}"
    );
    let dropped: f64 = body
        .lines()
        .filter(|l| l.starts_with("convene_media_dropped_packets_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    // Every datagram we sent was dropped and counted (UDP on loopback does not lose these).
    assert!(
        dropped >= 2030.0 * 0.99,
        "dropped {dropped} of 2030:\n{body}"
    );
    for reason in ["not_webrtc", "unknown_peer"] {
        let v = s
            .metric(&format!(
                "convene_media_dropped_packets_total{{reason=\"{reason}\"}}"
            ))
            .await;
        assert!(v > 0.0, "{reason} counted:\n{body}");
    }
    // The server is fine: signaling and HTTP still answer.
    assert_eq!(s.get("/healthz").await.0, 200);
    let (_c, _) = s.join("after-garbage", "Ada").await;
}

#[tokio::test]
async fn garbage_on_ice_tcp_is_harmless() {
    use tokio::io::AsyncWriteExt;
    let s = TestServer::start().await;
    let mut seed = 42u64;
    for _ in 0..20 {
        let mut raw = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        // Starts like an RFC 4571 frame (high length byte 0), then nonsense and a truncated frame.
        let mut bytes = vec![0x00, 0x20];
        bytes.extend((0..100).map(|_| xorshift(&mut seed) as u8));
        bytes.extend_from_slice(&[0x00, 0xFF, 1, 2, 3]);
        let _ = raw.write_all(&bytes).await;
        drop(raw);
    }
    assert_eq!(s.get("/healthz").await.0, 200);
    let (_c, _) = s.join("after-tcp-garbage", "Ada").await;
}
