//! ICE-TCP (RFC 6544) with RFC 4571 framing: each packet is preceded by its length as two bytes, big
//! endian. The TCP listener hands over connections whose first byte is not HTTP or TLS.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::{MediaCmd, MediaPlane};

/// Packets queued for one ICE-TCP peer before newer ones are dropped.
const QUEUE: usize = 256;

/// True when a connection's first byte starts an RFC 4571 frame rather than HTTP (a letter) or TLS
/// (0x16): a STUN or media packet fits in far less than 0x1600 bytes.
pub fn looks_like_ice_tcp(first: u8) -> bool {
    first < 0x16
}

pub async fn serve(stream: TcpStream, peer: SocketAddr, media: MediaPlane) {
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(QUEUE);
    media.send(MediaCmd::TcpOpen { peer, tx });
    let writer = tokio::spawn(async move {
        while let Some(pkt) = rx.recv().await {
            let Ok(len) = u16::try_from(pkt.len()) else { continue };
            let mut frame = Vec::with_capacity(pkt.len() + 2);
            frame.extend_from_slice(&len.to_be_bytes());
            frame.extend_from_slice(&pkt);
            if wr.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    let mut len = [0u8; 2];
    loop {
        if rd.read_exact(&mut len).await.is_err() {
            break;
        }
        let n = u16::from_be_bytes(len) as usize;
        let mut data = vec![0u8; n];
        if rd.read_exact(&mut data).await.is_err() {
            break;
        }
        media.send(MediaCmd::TcpInput { peer, data });
    }
    media.send(MediaCmd::TcpClosed { peer });
    writer.abort();
}

#[cfg(test)]
mod tests {
    #[test]
    fn tells_ice_tcp_from_http_and_tls() {
        assert!(super::looks_like_ice_tcp(0x00));
        assert!(super::looks_like_ice_tcp(0x01));
        assert!(!super::looks_like_ice_tcp(0x16));
        assert!(!super::looks_like_ice_tcp(b'G'));
    }
}
