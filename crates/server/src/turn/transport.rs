//! The TURN server's sockets: its UDP port, its TCP port (RFC 8656 framing: STUN messages and
//! ChannelData back to back, ChannelData padded to 4 bytes), the relay sockets' readers, and the
//! sweep that frees expired allocations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, Semaphore};

use super::allocation::{Allocation, Client, Sink};
use super::handler::Turn;
use super::stun::{self, attr, method, Builder, Class};

/// The longest datagram a Data indication from `peer` carries: 65535 bytes of attributes less
/// XOR-PEER-ADDRESS (12 for IPv4, 24 for IPv6), DATA's header (4) and FINGERPRINT (8), rounded down
/// to 4. Only an IPv6 datagram can be longer (an IPv4 one carries at most 65507 bytes).
fn max_data_indication(peer: std::net::SocketAddr) -> usize {
    let peer_attr = if peer.is_ipv4() { 12 } else { 24 };
    (usize::from(u16::MAX) - peer_attr - 4 - 8) / 4 * 4
}
/// Messages queued for one TCP client before new ones are dropped (a client not reading).
const TCP_QUEUE: usize = 256;

pub async fn udp_loop(turn: Arc<Turn>, socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            // ICMP errors from earlier sends surface here on some systems: not fatal.
            Err(_) => continue,
        };
        let sink = Sink::Udp(socket.clone(), from);
        if let Some(answer) = turn.handle(Client::Udp(from), &sink, &buf[..n]) {
            sink.send(answer);
        }
    }
}

/// Accepts TCP clients; at most as many at once as `slots` has (each may hold one allocation;
/// TURN-over-TLS connections take slots too), the rest are closed at once. A client has
/// `first_message` to send its first complete message.
pub async fn tcp_loop(
    turn: Arc<Turn>,
    listener: TcpListener,
    slots: Arc<Semaphore>,
    first_message: Duration,
) {
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            // Out of descriptors and the like: let it pass rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let turn = turn.clone();
        tokio::spawn(async move {
            let client = Client::Tcp(from);
            let _ = stream.set_nodelay(true);
            serve_stream(&turn, client, stream, first_message).await;
            // The connection was the allocation's transport: it ends with it (RFC 8656 3.1).
            turn.table.remove(&client);
            drop(permit);
        });
    }
}

/// Serves one stream connection (TCP, or TLS once decrypted) until it ends or breaks the framing.
pub async fn serve_stream<S>(turn: &Arc<Turn>, client: Client, stream: S, first_message: Duration)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(TCP_QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
    });
    let sink = Sink::Tcp(tx);
    // The longest frame: a STUN message of the largest length (ChannelData's is shorter).
    let mut buf = vec![0u8; stun::HEADER + usize::from(u16::MAX)];
    let mut first = true;
    loop {
        let read = read_frame(&mut rd, &mut buf);
        let n = match first {
            true => tokio::time::timeout(first_message, read).await.ok(),
            false => Some(read.await),
        };
        let Some(Ok(Some(n))) = n else { break };
        first = false;
        if let Some(answer) = turn.handle(client, &sink, &buf[..n]) {
            sink.send(answer);
        }
    }
    writer.abort();
}

/// Reads one STUN message or ChannelData message; Ok(None) at the end or on a frame that is
/// neither (the stream cannot be resynchronised then).
async fn read_frame<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut [u8],
) -> std::io::Result<Option<usize>> {
    if rd.read_exact(&mut buf[..4]).await.is_err() {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let total = match buf[0] >> 6 {
        0 => stun::HEADER + len,
        1 => 4 + len.div_ceil(4) * 4,
        _ => return Ok(None),
    };
    // `buf` holds the longest frame: a header and 65535 bytes.
    rd.read_exact(&mut buf[4..total]).await?;
    // ChannelData's padding is not part of the message.
    Ok(Some(if buf[0] >> 6 == 1 { 4 + len } else { total }))
}

/// Delivers what peers send to the relay socket to the client: from a permitted, allowed peer
/// only, as ChannelData when the peer has a channel, else as a Data indication.
pub async fn relay_reader(turn: Arc<Turn>, alloc: Arc<Allocation>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = match alloc.relay.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(_) => continue,
        };
        let now = Instant::now();
        if !alloc.permitted(from.ip(), now) || turn.policy.check(from).is_err() {
            continue;
        }
        let data = &buf[..n];
        let out = match alloc.channel_of(from, now) {
            Some(ch) => stun::channel_data(ch, data, alloc.sink.is_stream()),
            // Too long for a Data indication's 16-bit length (with XOR-PEER-ADDRESS and
            // FINGERPRINT): a peer that sends such a datagram needs a channel.
            None if n > max_data_indication(from) => continue,
            None => {
                let tid: [u8; 12] = rand::random();
                Builder::new(method::DATA, Class::Indication, tid)
                    .xor_address(attr::XOR_PEER_ADDRESS, from)
                    .attr(attr::DATA, data)
                    .finish(None)
            }
        };
        alloc.sink.send(out);
    }
}

/// Frees expired allocations (their relay sockets close as their readers end).
pub async fn sweep_loop(turn: Arc<Turn>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let n = turn.table.sweep(Instant::now());
        if n > 0 {
            tracing::debug!(freed = n, "TURN: expired allocations freed");
        }
    }
}
