//! A WebSocket client made of bytes, for what well-behaved libraries refuse to do: send invalid
//! frames, flood without reading, ignore a close frame.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const TEXT: u8 = 0x1;
pub const CLOSE: u8 = 0x8;

/// Sends a WebSocket handshake for `/ws` with the given extra header lines; returns the stream and
/// the response head (status line and headers).
pub async fn handshake(addr: SocketAddr, extra: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("send handshake");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut byte))
            .await
            .expect("handshake answer in time")
            .expect("read handshake");
        if n == 0 {
            break;
        }
        head.push(byte[0]);
    }
    (s, String::from_utf8_lossy(&head).into_owned())
}

/// A connected, upgraded WebSocket.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    let (s, head) = handshake(addr, "").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s
}

/// One final frame from a client (masked, as clients must), with `rsv` bits as given.
pub fn frame(opcode: u8, payload: &[u8], rsv: u8) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut out = vec![0x80 | (rsv << 4) | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 65536 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

pub fn text(payload: &str) -> Vec<u8> {
    frame(TEXT, payload.as_bytes(), 0)
}

/// How reading the server's frames ended.
#[derive(Debug, PartialEq)]
pub enum End {
    /// A close frame with this code.
    Close(u16),
    /// The connection ended without a close frame (what a browser reports as 1006).
    NoCloseFrame(String),
}

/// Reads the server's (unmasked) frames, skipping others, until a close frame or the end.
pub async fn read_until_close(s: &mut (impl AsyncRead + Unpin), wait: Duration) -> End {
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Parse whole frames from the front of `buf`.
        while buf.len() >= 2 {
            let opcode = buf[0] & 0x0f;
            let (len, at) = match buf[1] & 0x7f {
                126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
                127 if buf.len() >= 10 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&buf[2..10]);
                    (u64::from_be_bytes(b) as usize, 10)
                }
                126 | 127 => break,
                n => (n as usize, 2),
            };
            if buf.len() < at + len {
                break;
            }
            if opcode == CLOSE {
                let code = if len >= 2 {
                    u16::from_be_bytes([buf[at], buf[at + 1]])
                } else {
                    1005
                };
                return End::Close(code);
            }
            buf.drain(..at + len);
        }
        let mut chunk = [0u8; 16384];
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) => return End::NoCloseFrame("timed out".into()),
            Ok(Err(e)) => return End::NoCloseFrame(e.to_string()),
            Ok(Ok(0)) => return End::NoCloseFrame("end of stream".into()),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Waits until the server closes the TCP connection; returns how long that took, or None if it
/// stayed open for `wait`. Whatever the server sends meanwhile is read and dropped.
pub async fn closed_within(s: &mut TcpStream, wait: Duration) -> Option<Duration> {
    let start = tokio::time::Instant::now();
    let mut sink = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(start + wait, s.read(&mut sink)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}
