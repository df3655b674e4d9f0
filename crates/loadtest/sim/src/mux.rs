//! One UDP socket for many receive-only sessions (Linux).
//!
//! The server tells participants apart by address, so each session still needs an address of
//! its own. Every 127.0.0.0/8 address is local, so each session gets one, and they all share one
//! socket and one port. The socket is bound to the wildcard address, and by `SO_BINDTODEVICE`
//! to the loopback device only: nothing from another interface reaches it. `IP_PKTINFO` says
//! which address each datagram was sent to, and sets the source address of each one we send.
//! `SO_TIMESTAMP` gives each datagram the time the kernel took it in, so delays measured by the
//! tool do not depend on when its thread got round to reading (the shard reads on a timer).
//! A batch of datagrams costs one `recvmmsg` or `sendmmsg` instead of a system call per packet
//! per session.

use std::io;
use std::mem::{size_of, size_of_val, zeroed};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::ptr;
use std::time::{Duration, Instant};

/// Datagrams per `recvmmsg`.
pub(crate) const BATCH: usize = 32;
/// Receive buffer per datagram. Media on loopback stays under str0m's MTU; a larger datagram
/// is truncated by the kernel and dropped here.
const BUF: usize = 2048;
/// Socket buffers. One socket takes in the packets of hundreds of sessions, each of which would
/// otherwise have had a socket buffer (~200 KiB) of its own: when the tool falls behind a burst,
/// the kernel queues as much as that many sockets would have, rather than dropping (which would
/// make the server see missing ICE consent and end sessions that a real client would keep).
/// The kernel takes memory only for what is queued.
const RECV_BUFFER: libc::c_int = 256 << 20;
const SEND_BUFFER: libc::c_int = 8 << 20;
/// `CMSG_SPACE` of `struct in_pktinfo` (32), of `SO_RXQ_OVFL`'s u32 (24) and of
/// `SO_TIMESTAMP`'s `struct timeval` (32), with room to spare.
const CONTROL: usize = 128;

pub(crate) struct MuxSocket {
    sock: UdpSocket,
    pub port: u16,
}

/// One received datagram: its bytes are `RecvBatch::data(i)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecvMeta {
    pub len: usize,
    pub source: SocketAddr,
    /// The address it was sent to: which session it is for.
    pub dest: Ipv4Addr,
    /// When the kernel took it in (wall clock, µs since the Unix epoch), if it said.
    pub arrival_us: Option<u64>,
}

impl RecvMeta {
    /// When it arrived, as an `Instant` and in wall-clock µs, from the kernel's time and a
    /// reading of both clocks taken after it (`now`, `now_unix`). Without a kernel time, or with
    /// one after `now_unix` (the wall clock was set back), it is `now`.
    pub fn arrival(&self, now: Instant, now_unix: u64) -> (Instant, u64) {
        match self.arrival_us {
            Some(t) if t <= now_unix => {
                let ago = Duration::from_micros(now_unix - t);
                now.checked_sub(ago).map_or((now, now_unix), |at| (at, t))
            }
            _ => (now, now_unix),
        }
    }
}

/// Buffers for one `recvmmsg`, reused for every call.
pub(crate) struct RecvBatch {
    data: Box<[[u8; BUF]; BATCH]>,
    pub meta: Vec<RecvMeta>,
    /// The kernel's count of datagrams dropped because the socket buffer was full (cumulative).
    pub overflow: u32,
}

impl RecvBatch {
    pub fn new() -> Self {
        RecvBatch {
            data: Box::new([[0; BUF]; BATCH]),
            meta: Vec::with_capacity(BATCH),
            overflow: 0,
        }
    }

    pub fn data(&self, i: usize) -> &[u8] {
        &self.data[i][..self.meta[i].len]
    }
}

/// One datagram to send from `source` (a session's address) to `dest`.
pub(crate) struct Outgoing {
    pub source: Ipv4Addr,
    pub dest: SocketAddrV4,
    pub data: Vec<u8>,
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn set_int(
    fd: libc::c_int,
    level: libc::c_int,
    opt: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `v` outlives the call and the length given is its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            ptr::from_ref(&v).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    check(r).map(|_| ())
}

impl AsRawFd for MuxSocket {
    /// Always the same descriptor: the socket is owned for the value's whole life.
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl MuxSocket {
    /// A non-blocking socket on the loopback device, on a free port.
    pub fn bind() -> io::Result<MuxSocket> {
        // SAFETY: plain system call; the descriptor is owned by `sock` from here on.
        let fd = check(unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })?;
        // SAFETY: `fd` is a fresh socket nobody else owns.
        let sock = unsafe { UdpSocket::from_raw_fd(fd) };
        let dev = b"lo\0";
        // SAFETY: `dev` outlives the call; the length excludes nothing the kernel needs.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                dev.as_ptr().cast(),
                dev.len() as libc::socklen_t,
            )
        };
        check(r).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("binding a socket to the loopback device (SO_BINDTODEVICE): {e}"),
            )
        })?;
        set_int(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
        set_int(fd, libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1)?;
        set_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMP, 1)?;
        for (force, plain, size) in [
            (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, RECV_BUFFER),
            (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, SEND_BUFFER),
        ] {
            // Past net.core.*mem_max only with CAP_NET_ADMIN; otherwise as much as allowed.
            if set_int(fd, libc::SOL_SOCKET, force, size).is_err() {
                set_int(fd, libc::SOL_SOCKET, plain, size)?;
            }
        }
        // Bound to `lo` above: the wildcard address means "any loopback address" here.
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr { s_addr: 0 },
            sin_zero: [0; 8],
        };
        // SAFETY: `addr` is a valid sockaddr_in of the length given.
        check(unsafe {
            libc::bind(
                fd,
                ptr::from_ref(&addr).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        })?;
        let port = sock.local_addr()?.port();
        Ok(MuxSocket { sock, port })
    }

    /// Reads up to [`BATCH`] datagrams without waiting. `Ok(0)` never happens: an empty queue is
    /// `WouldBlock`. Truncated datagrams and ones not from an IPv4 address are skipped.
    pub fn recv(&self, b: &mut RecvBatch) -> io::Result<usize> {
        b.meta.clear();
        let mut m = Msgs::new();
        for i in 0..BATCH {
            m.wire(i, b.data[i].as_mut_ptr(), BUF);
        }
        // SAFETY: every header points into buffers that live until after the call.
        let n = unsafe {
            libc::recvmmsg(
                self.as_raw_fd(),
                m.hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                ptr::null_mut(),
            )
        };
        let n = check(n)? as usize;
        let mut kept = 0;
        for i in 0..n {
            let h = &m.hdrs[i].msg_hdr;
            let mut dest = None;
            let mut arrival_us = None;
            // SAFETY: the kernel filled `msg_control` with `msg_controllen` bytes of messages;
            // CMSG_* walk them within those bounds; the data is read unaligned.
            unsafe {
                let mut c = libc::CMSG_FIRSTHDR(h);
                while !c.is_null() {
                    let (level, kind) = ((*c).cmsg_level, (*c).cmsg_type);
                    if level == libc::IPPROTO_IP && kind == libc::IP_PKTINFO {
                        let info: libc::in_pktinfo = ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                        dest = Some(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
                    } else if level == libc::SOL_SOCKET && kind == libc::SO_RXQ_OVFL {
                        b.overflow = ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    } else if level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMP {
                        let tv: libc::timeval = ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                        arrival_us = u64::try_from(tv.tv_sec)
                            .ok()
                            .zip(u64::try_from(tv.tv_usec).ok())
                            .map(|(s, us)| s * 1_000_000 + us);
                    }
                    c = libc::CMSG_NXTHDR(h, c);
                }
            }
            let name = &m.names[i];
            let ok = h.msg_flags & libc::MSG_TRUNC == 0
                && name.sin_family == libc::AF_INET as libc::sa_family_t;
            let Some(dest) = dest.filter(|_| ok) else {
                continue;
            };
            let source = SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(name.sin_addr.s_addr)),
                u16::from_be(name.sin_port),
            ));
            if kept != i {
                b.data.swap(kept, i);
            }
            b.meta.push(RecvMeta {
                len: m.hdrs[i].msg_len as usize,
                source,
                dest,
                arrival_us,
            });
            kept += 1;
        }
        Ok(n)
    }

    /// Sends `out` with as few system calls as the kernel allows. Datagrams that cannot go
    /// (socket buffer full, or refused) are dropped, as a network would, and passed to `dropped`.
    pub fn send(&self, out: &[Outgoing], dropped: &mut impl FnMut(&Outgoing)) {
        let mut at = 0;
        while at < out.len() {
            let chunk = &out[at..out.len().min(at + BATCH)];
            match self.send_chunk(chunk) {
                Ok(n) => at += n.max(1),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    out[at..].iter().for_each(&mut *dropped);
                    break;
                }
                // An ICMP error from an earlier datagram, or this one refused: skip it.
                Err(_) => {
                    dropped(&out[at]);
                    at += 1;
                }
            }
        }
    }

    fn send_chunk(&self, chunk: &[Outgoing]) -> io::Result<usize> {
        let n = chunk.len();
        let mut m = Msgs::new();
        for (i, o) in chunk.iter().enumerate() {
            m.names[i] = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: o.dest.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*o.dest.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // sendmmsg only reads the data.
            m.wire(i, o.data.as_ptr().cast_mut(), o.data.len());
            let h = &mut m.hdrs[i].msg_hdr;
            // SAFETY: CMSG_SPACE/LEN are pure arithmetic; the control buffer is CONTROL bytes,
            // more than CMSG_SPACE(in_pktinfo), and the header and data are written inside it.
            unsafe {
                let space = libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) as usize;
                h.msg_controllen = space as _;
                let c = libc::CMSG_FIRSTHDR(h);
                (*c).cmsg_level = libc::IPPROTO_IP;
                (*c).cmsg_type = libc::IP_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as _;
                let info = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(o.source).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                ptr::write_unaligned(libc::CMSG_DATA(c).cast(), info);
            }
        }
        // SAFETY: the first `n` headers point into buffers that live until after the call.
        let r = unsafe {
            libc::sendmmsg(
                self.as_raw_fd(),
                m.hdrs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        check(r).map(|r| r as usize)
    }
}

/// The C structures of one `recvmmsg` or `sendmmsg`: header `i` points at address `i`, control
/// buffer `i` and one data buffer. The pointers are into the value itself, so it must not move
/// between `wire` and the call (it is a local that stays put).
struct Msgs {
    names: [libc::sockaddr_in; BATCH],
    iovs: [libc::iovec; BATCH],
    ctrl: [[u64; CONTROL / 8]; BATCH],
    hdrs: [libc::mmsghdr; BATCH],
}

impl Msgs {
    fn new() -> Self {
        Msgs {
            // SAFETY: all-zero is a valid value for these plain C structs.
            names: unsafe { zeroed() },
            iovs: unsafe { zeroed() },
            ctrl: [[0; CONTROL / 8]; BATCH],
            hdrs: unsafe { zeroed() },
        }
    }

    /// Points header `i` at its address, its whole control buffer, and `len` bytes at `data`.
    fn wire(&mut self, i: usize, data: *mut u8, len: usize) {
        self.iovs[i].iov_base = data.cast();
        self.iovs[i].iov_len = len;
        let h = &mut self.hdrs[i].msg_hdr;
        h.msg_name = ptr::from_mut(&mut self.names[i]).cast();
        h.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        h.msg_iov = ptr::from_mut(&mut self.iovs[i]);
        h.msg_iovlen = 1;
        h.msg_control = self.ctrl[i].as_mut_ptr().cast();
        h.msg_controllen = size_of_val(&self.ctrl[i]) as _;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrival_comes_from_the_kernel_time() {
        let meta = |arrival_us| RecvMeta {
            len: 0,
            source: SocketAddr::from(([127, 0, 0, 1], 1)),
            dest: Ipv4Addr::LOCALHOST,
            arrival_us,
        };
        let now = Instant::now();
        let unix = 1_700_000_000_000_000;
        assert_eq!(
            meta(Some(unix - 1_500)).arrival(now, unix),
            (now - Duration::from_micros(1_500), unix - 1_500)
        );
        // No kernel time, or one "after" now (the wall clock stepped back): now.
        assert_eq!(meta(None).arrival(now, unix), (now, unix));
        assert_eq!(meta(Some(unix + 10)).arrival(now, unix), (now, unix));
    }

    /// Two addresses on one socket: each datagram arrives tagged with the address it was sent
    /// to, and replies leave from the address given.
    #[test]
    fn one_socket_serves_many_loopback_addresses() {
        let mux = MuxSocket::bind().expect("bind (needs CAP_NET_RAW for SO_BINDTODEVICE)");
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let a = Ipv4Addr::new(127, 1, 0, 1);
        let b = Ipv4Addr::new(127, 1, 0, 2);
        let sent_at = convene_client::frame::unix_micros();
        peer.send_to(b"to a", (a, mux.port)).unwrap();
        peer.send_to(b"to b", (b, mux.port)).unwrap();
        let mut batch = RecvBatch::new();
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while got.len() < 2 && std::time::Instant::now() < deadline {
            match mux.recv(&mut batch) {
                Ok(_) => {
                    for i in 0..batch.meta.len() {
                        got.push((batch.meta[i].dest, batch.data(i).to_vec(), batch.meta[i]));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                Err(e) => panic!("recv: {e}"),
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0, got[0].1.as_slice()), (a, &b"to a"[..]));
        assert_eq!((got[1].0, got[1].1.as_slice()), (b, &b"to b"[..]));
        assert_eq!(got[0].2.source, peer.local_addr().unwrap());
        // Kernel arrival times: present, and between our sending and reading (wall clock).
        let read_at = convene_client::frame::unix_micros();
        for (_, _, m) in &got {
            let at = m
                .arrival_us
                .expect("SO_TIMESTAMP gives every datagram its arrival time");
            assert!(
                at >= sent_at && at <= read_at,
                "{sent_at} <= {at} <= {read_at}"
            );
        }

        let SocketAddr::V4(to) = peer.local_addr().unwrap() else {
            unreachable!("bound to an IPv4 address")
        };
        let out = vec![
            Outgoing {
                source: b,
                dest: to,
                data: b"from b".to_vec(),
            },
            Outgoing {
                source: a,
                dest: to,
                data: b"from a".to_vec(),
            },
        ];
        let mut dropped = 0;
        mux.send(&out, &mut |_| dropped += 1);
        assert_eq!(dropped, 0);
        let mut buf = [0u8; 64];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"from b"[..], (b, mux.port).into()));
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"from a"[..], (a, mux.port).into()));
    }
}
