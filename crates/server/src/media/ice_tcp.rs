//! ICE-TCP (RFC 6544) with RFC 4571 framing: each packet is preceded by its length as two bytes, big
//! endian. The TCP listener hands over connections whose first byte is not HTTP or TLS.

use std::net::SocketAddr;
use std::time::Duration;

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

/// Serves one ICE-TCP connection. Its first frame must arrive complete within `handshake`: until
/// then it holds a socket and a task but belongs to no participant.
pub async fn serve(stream: TcpStream, peer: SocketAddr, media: MediaPlane, handshake: Duration) {
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(QUEUE);
    // The first frame (a STUN request) tells which worker holds this peer's participant.
    let Ok(Some(first)) = tokio::time::timeout(handshake, read_frame(&mut rd)).await else {
        tracing::debug!(%peer, "ICE-TCP connection sent no complete first frame in time");
        return;
    };
    let worker = media.shared().owner(&first, peer).unwrap_or(0);
    media.send_to(worker, MediaCmd::TcpOpen { peer, tx });
    media.send_to(worker, MediaCmd::TcpInput { peer, data: first });
    let writer = tokio::spawn(async move {
        while let Some(pkt) = rx.recv().await {
            let Ok(len) = u16::try_from(pkt.len()) else {
                continue;
            };
            let mut frame = Vec::with_capacity(pkt.len() + 2);
            frame.extend_from_slice(&len.to_be_bytes());
            frame.extend_from_slice(&pkt);
            if wr.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    while let Some(data) = read_frame(&mut rd).await {
        media.send_to(worker, MediaCmd::TcpInput { peer, data });
    }
    media.send_to(worker, MediaCmd::TcpClosed { peer });
    writer.abort();
}

/// Reads one RFC 4571 frame; None at the end of the stream or when a frame is cut short. Public
/// for the fuzz target (fuzz/fuzz_targets/ice_tcp.rs), which feeds it arbitrary streams.
#[doc(hidden)]
pub async fn read_frame(rd: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    rd.read_exact(&mut len).await.ok()?;
    let mut data = vec![0u8; u16::from_be_bytes(len) as usize];
    rd.read_exact(&mut data).await.ok()?;
    Some(data)
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
