//! The media transport: a UDP socket, or one ICE-TCP connection with RFC 4571 framing.

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use str0m::net::{Protocol, TcpType};
use str0m::Candidate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::error::MediaError;
use super::stamped;

/// How media reaches the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// A UDP socket on the local IP, announced as a host candidate.
    #[default]
    Udp,
    /// ICE-TCP to the server's passive TCP candidate (from its answer).
    Tcp,
}

/// Largest packet we accept; RFC 4571 frames are at most 65535 bytes.
const MAX_PACKET: usize = 65_535;
/// The discard port, as browsers announce for active TCP candidates (they never listen).
const ACTIVE_TCP_PORT: u16 = 9;
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct Net {
    kind: NetKind,
    /// The address our candidate announces; str0m sees packets arrive on it.
    pub local: SocketAddr,
    /// TCP receive buffer: a stream of frames (UDP reads into the thread's [`with_scratch`]).
    buf: Vec<u8>,
    /// TCP: `buf[start..filled]` holds received bytes not handed out yet.
    start: usize,
    filled: usize,
    /// TCP: reusable buffer for one outgoing frame.
    out: Vec<u8>,
    pub counters: NetCounters,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetCounters {
    pub packets_in: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    /// Packets not sent: UDP socket buffer full, or TCP not connected yet.
    pub send_dropped: u64,
}

enum NetKind {
    Udp(UdpSocket),
    Tcp {
        stream: Option<TcpStream>,
        peer: Option<SocketAddr>,
    },
}

/// One received packet, borrowed from the transport's buffer.
pub(crate) struct Packet<'a> {
    pub proto: Protocol,
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub data: &'a [u8],
    /// When the kernel took it in (wall clock, µs), for UDP; None over TCP (a stream has no
    /// per-packet time).
    pub arrival_us: Option<u64>,
}

impl Net {
    pub async fn bind(transport: Transport, ip: IpAddr) -> Result<Net, MediaError> {
        let kind = match transport {
            Transport::Udp => {
                let s = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
                stamped::enable(&s)?;
                NetKind::Udp(s)
            }
            Transport::Tcp => NetKind::Tcp {
                stream: None,
                peer: None,
            },
        };
        let local = match &kind {
            NetKind::Udp(s) => s.local_addr()?,
            NetKind::Tcp { .. } => SocketAddr::new(ip, ACTIVE_TCP_PORT),
        };
        let buf = match kind {
            NetKind::Udp(_) => Vec::new(),
            NetKind::Tcp { .. } => vec![0; MAX_PACKET + 2],
        };
        Ok(Net {
            kind,
            local,
            buf,
            start: 0,
            filled: 0,
            out: Vec::new(),
            counters: NetCounters::default(),
        })
    }

    /// The local candidate to add before the first offer.
    pub fn candidate(&self) -> Result<Candidate, MediaError> {
        let c = match self.kind {
            NetKind::Udp(_) => Candidate::host(self.local, "udp"),
            NetKind::Tcp { .. } => Candidate::builder()
                .tcp()
                .host(self.local)
                .tcptype(TcpType::Active)
                .build(),
        };
        c.map_err(|e| MediaError::Candidate(e.to_string()))
    }

    /// The remote address packets go to (TCP: once connected).
    pub fn peer(&self) -> Option<SocketAddr> {
        match &self.kind {
            NetKind::Udp(_) => None,
            NetKind::Tcp { peer, .. } => *peer,
        }
    }

    /// TCP: connects to the server's passive candidate in `answer_sdp` unless already connected
    /// to that address. UDP: nothing to do.
    pub async fn connect_from_sdp(&mut self, answer_sdp: &str) -> Result<(), MediaError> {
        let NetKind::Tcp { stream, peer } = &mut self.kind else {
            return Ok(());
        };
        let want = passive_tcp_candidate(answer_sdp, self.local.is_ipv4())
            .ok_or(MediaError::NoTcpCandidate)?;
        if *peer == Some(want) && stream.is_some() {
            return Ok(());
        }
        let s = tokio::time::timeout(TCP_CONNECT_TIMEOUT, TcpStream::connect(want))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "ICE-TCP connect"))??;
        // Small media packets must not wait for Nagle.
        s.set_nodelay(true)?;
        *stream = Some(s);
        *peer = Some(want);
        self.start = 0;
        self.filled = 0;
        Ok(())
    }

    /// Sends one packet; drops it (as a network would) if it cannot go out right now.
    pub async fn send(&mut self, destination: SocketAddr, data: &[u8]) -> Result<(), MediaError> {
        match &mut self.kind {
            NetKind::Udp(s) => match s.try_send_to(data, destination) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.counters.send_dropped += 1;
                    return Ok(());
                }
                // ICMP errors from an earlier send (port unreachable) surface here; not fatal.
                Err(_) => {
                    self.counters.send_dropped += 1;
                    return Ok(());
                }
            },
            NetKind::Tcp { stream, peer } => {
                let (Some(s), true) = (stream.as_mut(), *peer == Some(destination)) else {
                    self.counters.send_dropped += 1;
                    return Ok(());
                };
                let Ok(len) = u16::try_from(data.len()) else {
                    self.counters.send_dropped += 1;
                    return Ok(());
                };
                self.out.clear();
                self.out.extend_from_slice(&len.to_be_bytes());
                self.out.extend_from_slice(data);
                s.write_all(&self.out).await?;
            }
        }
        self.counters.packets_out += 1;
        self.counters.bytes_out += data.len() as u64;
        Ok(())
    }

    /// Waits until there is input to read. Cancel-safe: nothing is lost if dropped. Pends forever
    /// when TCP is not connected yet.
    pub async fn readable(&mut self) -> Result<(), MediaError> {
        match &mut self.kind {
            NetKind::Udp(s) => s.readable().await?,
            NetKind::Tcp { stream, .. } => {
                let Some(s) = stream.as_mut() else {
                    return std::future::pending().await;
                };
                if frame_len(&self.buf[self.start..self.filled]).is_some() {
                    return Ok(());
                }
                // Move the partial frame to the front; `buf` holds the largest frame possible.
                self.buf.copy_within(self.start..self.filled, 0);
                self.filled -= self.start;
                self.start = 0;
                let n = s.read(&mut self.buf[self.filled..]).await?;
                if n == 0 {
                    *stream = None;
                    return Err(MediaError::Io(io::ErrorKind::UnexpectedEof.into()));
                }
                self.filled += n;
            }
        }
        Ok(())
    }

    /// The next packet already received, if any (call after `readable`, until None). A UDP
    /// datagram is read into `scratch` (from [`with_scratch`]).
    pub fn next_packet<'a>(
        &'a mut self,
        scratch: &'a mut [u8],
    ) -> Result<Option<Packet<'a>>, MediaError> {
        match &mut self.kind {
            NetKind::Udp(s) => match stamped::try_recv(s, scratch) {
                Ok((n, source, arrival_us)) => {
                    self.counters.packets_in += 1;
                    self.counters.bytes_in += n as u64;
                    Ok(Some(Packet {
                        proto: Protocol::Udp,
                        source,
                        destination: self.local,
                        data: &scratch[..n],
                        arrival_us,
                    }))
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
                // ICMP port unreachable etc.: the next read may succeed.
                Err(_) => Ok(None),
            },
            NetKind::Tcp { peer, .. } => {
                let at = self.start;
                let (Some(len), Some(source)) = (frame_len(&self.buf[at..self.filled]), *peer)
                else {
                    return Ok(None);
                };
                self.start += 2 + len;
                self.counters.packets_in += 1;
                self.counters.bytes_in += len as u64;
                Ok(Some(Packet {
                    proto: Protocol::Tcp,
                    source,
                    destination: self.local,
                    data: &self.buf[at + 2..at + 2 + len],
                    arrival_us: None,
                }))
            }
        }
    }
}

thread_local! {
    /// One datagram buffer per thread, for every UDP session on it: each datagram is handed to
    /// str0m before the next is read, so no session needs 64 KiB of its own.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_PACKET]);
}

/// Runs `f` with this thread's datagram buffer.
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    SCRATCH.with(|b| match b.try_borrow_mut() {
        Ok(mut b) => f(&mut b),
        // Only if `f` itself reads packets on this thread (it does not): a buffer of its own.
        Err(_) => f(&mut vec![0; MAX_PACKET]),
    })
}

/// The length of the first complete RFC 4571 frame in `b`, if it is all there.
fn frame_len(b: &[u8]) -> Option<usize> {
    let len = usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?]));
    (b.len() >= 2 + len).then_some(len)
}

/// The address of the first passive TCP host candidate in an SDP, of the wanted IP family.
fn passive_tcp_candidate(sdp: &str, ipv4: bool) -> Option<SocketAddr> {
    sdp.lines()
        .filter_map(|l| l.trim().strip_prefix("a="))
        .filter(|l| l.starts_with("candidate:"))
        .filter_map(|l| Candidate::from_sdp_string(l).ok())
        .find(|c| {
            c.proto() == Protocol::Tcp
                && c.tcptype() == Some(TcpType::Passive)
                && c.addr().is_ipv4() == ipv4
        })
        .map(|c| c.addr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_need_all_their_bytes() {
        assert_eq!(frame_len(&[]), None);
        assert_eq!(frame_len(&[0]), None);
        assert_eq!(frame_len(&[0, 0]), Some(0));
        assert_eq!(frame_len(&[0, 3, 1, 2]), None);
        assert_eq!(frame_len(&[0, 3, 1, 2, 3, 9]), Some(3));
    }

    #[test]
    fn finds_the_passive_tcp_candidate() {
        let sdp = "v=0\r\n\
            a=candidate:1 1 udp 2130706175 127.0.0.1 3478 typ host\r\n\
            a=candidate:2 1 tcp 1694498815 127.0.0.1 3479 typ host tcptype passive\r\n";
        assert_eq!(
            passive_tcp_candidate(sdp, true),
            Some("127.0.0.1:3479".parse().unwrap())
        );
        assert_eq!(passive_tcp_candidate(sdp, false), None);
        assert_eq!(passive_tcp_candidate("v=0\r\n", true), None);
    }
}
