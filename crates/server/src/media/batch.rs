//! Sending many datagrams with one system call (sendmmsg), and optionally coalescing a run of
//! datagrams to one destination into one send the kernel splits up (UDP GSO, `UDP_SEGMENT`). A
//! forwarded video frame becomes several packets for each subscriber, so one flush of the core
//! commonly holds dozens of datagrams: one syscall for all of them instead of one each. Buffers are
//! reused from flush to flush.

use std::net::SocketAddr;

/// Datagrams handed to the kernel per call (Linux caps a call at 1024; 64 keeps stack-like sizes).
const CHUNK: usize = 64;
/// Segments of one GSO send: the kernel's limit (UDP_MAX_SEGMENTS) is 64 on older kernels.
const GSO_MAX_SEGMENTS: usize = 64;
/// Bytes of one GSO send (a UDP datagram's maximum payload).
const GSO_MAX_BYTES: usize = 65_000;
/// linux/udp.h; the libc crate defines it only for some targets.
#[cfg(target_os = "linux")]
const UDP_SEGMENT: libc::c_int = 103;

/// What the batch did, for metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendCounts {
    pub calls: u64,
    pub datagrams: u64,
    /// Datagrams that went out as segments of a GSO send of two or more.
    pub gso_segments: u64,
    /// Datagrams the socket did not take (its send buffer full, or an error): dropped, whether
    /// batched or sent one by one.
    pub failed: u64,
}

#[derive(Default)]
pub struct Batch {
    dests: Vec<SocketAddr>,
    data: Vec<Vec<u8>>,
    used: usize,
    /// Coalesce runs to one destination with GSO (turned off if the kernel refuses it).
    gso: bool,
    pub counts: SendCounts,
}

/// A run of datagrams sent as one message: `count` datagrams from `start`, split by the kernel
/// into `segment`-byte datagrams (the last may be shorter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: usize,
    count: usize,
    segment: usize,
}

impl Batch {
    pub fn new(gso: bool) -> Self {
        Batch {
            gso,
            ..Batch::default()
        }
    }

    pub fn push(&mut self, dest: SocketAddr, contents: &[u8]) {
        // Reuse the byte buffers of earlier flushes.
        if self.used < self.data.len() {
            let buf = &mut self.data[self.used];
            buf.clear();
            buf.extend_from_slice(contents);
            self.dests[self.used] = dest;
        } else {
            self.data.push(contents.to_vec());
            self.dests.push(dest);
        }
        self.used += 1;
    }

    /// Sends one datagram now, outside any batch (`media.batch_send` off). One the socket does
    /// not take (its buffer full, or refused) is dropped, as a full network queue would drop it,
    /// and counted in `failed`.
    pub fn send_one(&mut self, sock: &tokio::net::UdpSocket, dest: SocketAddr, contents: &[u8]) {
        if sock.try_send_to(contents, dest).is_err() {
            self.counts.failed += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// The runs of `[from, to)`: with GSO, consecutive datagrams to one destination, all of one
    /// size but the last, which may be shorter (what UDP_SEGMENT can express); else one each.
    /// Datagrams before `single_until` are one each in any case.
    fn runs(&self, from: usize, to: usize, single_until: usize) -> Vec<Run> {
        let mut runs = Vec::new();
        let mut i = from;
        while i < to {
            let segment = self.data[i].len();
            let mut count = 1;
            let mut bytes = segment;
            if self.gso && i >= single_until {
                while i + count < to && count < GSO_MAX_SEGMENTS {
                    let next = &self.data[i + count];
                    if self.dests[i + count] != self.dests[i]
                        || next.len() > segment
                        || bytes + next.len() > GSO_MAX_BYTES
                    {
                        break;
                    }
                    count += 1;
                    bytes += next.len();
                    if next.len() < segment {
                        break;
                    }
                }
            }
            runs.push(Run {
                start: i,
                count,
                segment,
            });
            i += count;
        }
        runs
    }

    /// Sends everything queued and empties the batch. When the socket's buffer is full, the rest
    /// is dropped, as a full network queue would drop it; NACK/RTX and keyframe requests recover.
    /// A destination the kernel refuses (a broadcast or unroutable address, which a peer's ICE
    /// candidate can name) loses only its own datagrams, never the others'. Returns how many were
    /// sent.
    #[cfg(target_os = "linux")]
    pub fn send(&mut self, fd: std::os::fd::RawFd) -> usize {
        let mut sent = 0;
        let mut start = 0;
        // A coalesced run that failed is retried a datagram at a time, which tells a refused
        // destination (that fails again) from a kernel that refuses GSO (that then succeeds).
        let mut single_until = 0;
        while start < self.used {
            let end = (start + CHUNK).min(self.used);
            let runs = self.runs(start, end, single_until);
            self.counts.calls += 1;
            match sendmmsg(fd, &self.dests, &self.data, &runs) {
                Ok(0) => break,
                Ok(n) => {
                    if start < single_until && self.gso {
                        tracing::warn!("UDP GSO refused by the kernel; sending without it");
                        self.gso = false;
                    }
                    for r in &runs[..n] {
                        sent += r.count;
                        start += r.count;
                        if r.count > 1 {
                            self.counts.gso_segments += r.count as u64;
                        }
                    }
                }
                Err(e) if is_full(&e) => break,
                Err(_) if runs[0].count > 1 => single_until = runs[0].start + runs[0].count,
                // The first message's destination was refused: skip it, send the rest.
                Err(_) => start += 1,
            }
        }
        self.counts.datagrams += sent as u64;
        self.counts.failed += (self.used - sent) as u64;
        self.used = 0;
        sent
    }
}

/// The socket (or the device queue behind it) takes nothing more for now.
#[cfg(target_os = "linux")]
fn is_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS)
}

#[cfg(target_os = "linux")]
fn sendmmsg(
    fd: std::os::fd::RawFd,
    dests: &[SocketAddr],
    data: &[Vec<u8>],
    runs: &[Run],
) -> std::io::Result<usize> {
    /// Room for one control message holding a u16, aligned for `cmsghdr`.
    #[repr(C, align(8))]
    #[derive(Clone, Copy)]
    struct Control([u8; 32]);

    let n = runs.len();
    // SAFETY: all-zero is a valid value for these plain C structs.
    let mut addrs: [libc::sockaddr_storage; CHUNK] = unsafe { std::mem::zeroed() };
    let mut iovs: [libc::iovec; CHUNK] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; CHUNK] = unsafe { std::mem::zeroed() };
    let mut controls = [Control([0; 32]); CHUNK];
    let base = runs.first().map_or(0, |r| r.start);
    for (m, run) in runs.iter().enumerate() {
        let len = write_sockaddr(&dests[run.start], &mut addrs[m]);
        for k in 0..run.count {
            let d = &data[run.start + k];
            iovs[run.start - base + k] = libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: d.len(),
            };
        }
        let hdr = &mut msgs[m].msg_hdr;
        hdr.msg_name = &mut addrs[m] as *mut libc::sockaddr_storage as *mut libc::c_void;
        hdr.msg_namelen = len;
        hdr.msg_iov = &mut iovs[run.start - base];
        hdr.msg_iovlen = run.count as _;
        if run.count > 1 {
            // SAFETY: the control buffer is aligned and large enough for one cmsghdr with a u16
            // (CMSG_SPACE(2) is 24 on 64-bit Linux); CMSG_FIRSTHDR returns a pointer into it.
            unsafe {
                let space = libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) as usize;
                hdr.msg_control = controls[m].0.as_mut_ptr() as *mut libc::c_void;
                hdr.msg_controllen = space as _;
                let c = libc::CMSG_FIRSTHDR(hdr);
                (*c).cmsg_level = libc::SOL_UDP;
                (*c).cmsg_type = UDP_SEGMENT;
                (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as _;
                std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut u16, run.segment as u16);
            }
        }
    }
    // SAFETY: msgs[..n] point into addrs, iovs, controls and data, which all outlive the call; the
    // kernel only reads the buffers and writes msg_len.
    let r = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as libc::c_uint, libc::MSG_DONTWAIT) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

#[cfg(target_os = "linux")]
fn write_sockaddr(addr: &SocketAddr, out: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(out as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(out as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[tokio::test]
    async fn a_datagram_sent_alone_that_the_socket_refuses_is_counted_as_failed() {
        let tx = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rx = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // tokio tries the system call only once the reactor has seen the socket writable.
        tx.writable().await.unwrap();
        let mut batch = Batch::default();
        batch.send_one(&tx, rx.local_addr().unwrap(), b"fine");
        batch.send_one(&tx, "[::1]:9".parse().unwrap(), b"refused");
        assert_eq!(batch.counts.failed, 1);
        let mut buf = [0u8; 8];
        let (n, _) = rx.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"fine");
    }

    #[test]
    fn datagrams_the_socket_refuses_are_counted_as_failed() {
        use std::os::fd::AsRawFd;
        // An IPv4 socket cannot send to an IPv6 address: the kernel refuses each of them.
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let ok = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = Batch::default();
        batch.push(ok.local_addr().unwrap(), b"fine");
        for _ in 0..3 {
            batch.push("[::1]:9".parse().unwrap(), b"refused");
        }
        assert_eq!(batch.send(tx.as_raw_fd()), 1);
        assert_eq!((batch.counts.datagrams, batch.counts.failed), (1, 3));
        assert!(batch.is_empty());
    }

    /// Destinations the kernel refuses: broadcast (EACCES without SO_BROADCAST), an address
    /// family the socket does not have, and an address a loopback-bound socket cannot reach.
    const REFUSED: [&str; 3] = ["255.255.255.255:9", "[::1]:9", "10.255.255.1:9"];

    fn received(sock: &std::net::UdpSocket, count: usize) -> Vec<Vec<u8>> {
        sock.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut buf = [0u8; 2048];
        (0..count)
            .map(|_| {
                let n = sock.recv(&mut buf).unwrap();
                buf[..n].to_vec()
            })
            .collect()
    }

    #[test]
    fn a_refused_destination_loses_only_its_own_datagrams() {
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let ok = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = Batch::default();
        let mut expected = Vec::new();
        for (i, bad) in REFUSED.iter().enumerate() {
            // A refused one first in the batch, then good ones behind it.
            batch.push(bad.parse().unwrap(), b"refused");
            for k in 0..3u8 {
                let payload = vec![i as u8, k];
                batch.push(ok.local_addr().unwrap(), &payload);
                expected.push(payload);
            }
        }
        assert_eq!(batch.send(tx.as_raw_fd()), 9);
        assert_eq!((batch.counts.datagrams, batch.counts.failed), (9, 3));
        assert_eq!(received(&ok, 9), expected);
    }

    #[test]
    fn a_refused_destination_in_a_coalesced_run_keeps_gso_on_and_loses_only_its_run() {
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let ok = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = Batch::new(true);
        let mut expected = Vec::new();
        for round in 0..2u8 {
            // Three of one size to a refused destination: one GSO run, which the kernel refuses.
            for _ in 0..3 {
                batch.push(REFUSED[0].parse().unwrap(), &[0xee; 100]);
            }
            for k in 0..4u8 {
                let payload = vec![round, k, 0, 0];
                batch.push(ok.local_addr().unwrap(), &payload);
                expected.push(payload);
            }
        }
        assert_eq!(batch.send(tx.as_raw_fd()), 8);
        assert_eq!((batch.counts.datagrams, batch.counts.failed), (8, 6));
        assert_eq!(received(&ok, 8), expected);
        assert!(batch.gso, "the destination was refused, not GSO");
        assert_eq!(
            batch.counts.gso_segments, 8,
            "the good runs still went out coalesced"
        );
    }

    #[test]
    fn sends_every_datagram_to_its_destination() {
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("[::1]:0").ok();
        let mut batch = Batch::default();
        for round in 0..2 {
            for i in 0..150u32 {
                batch.push(a.local_addr().unwrap(), &(round * 1000 + i).to_be_bytes());
            }
            if let Some(b) = &b {
                let tx6 = std::net::UdpSocket::bind("[::1]:0").unwrap();
                let mut b6 = Batch::default();
                b6.push(b.local_addr().unwrap(), b"six");
                assert_eq!(b6.send(tx6.as_raw_fd()), 1);
            }
            assert_eq!(batch.send(tx.as_raw_fd()), 150);
            assert!(batch.is_empty());
            let mut buf = [0u8; 16];
            for i in 0..150u32 {
                let n = a.recv(&mut buf).unwrap();
                assert_eq!(&buf[..n], &(round * 1000 + i).to_be_bytes());
            }
            if let Some(b) = &b {
                let n = b.recv(&mut buf).unwrap();
                assert_eq!(&buf[..n], b"six");
            }
        }
    }

    #[test]
    fn gso_coalesces_runs_to_one_destination_and_each_datagram_arrives_intact() {
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (da, db) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        // A frame of 5 packets to a (1200 x4 + 300), one to b, 3 equal to a, 2 growing to b.
        let mut plan: Vec<(SocketAddr, usize)> = vec![(da, 1200); 4];
        plan.push((da, 300));
        plan.push((db, 500));
        plan.extend([(da, 800); 3]);
        plan.push((db, 100));
        plan.push((db, 200));
        let payload =
            |i: usize, len: usize| -> Vec<u8> { (0..len).map(|k| (i * 31 + k) as u8).collect() };
        let mut batch = Batch::new(true);
        for (i, (dest, len)) in plan.iter().enumerate() {
            batch.push(*dest, &payload(i, *len));
        }
        let runs = batch.runs(0, plan.len(), 0);
        let counts: Vec<usize> = runs.iter().map(|r| r.count).collect();
        assert_eq!(counts, vec![5, 1, 3, 1, 1], "{runs:?}");
        assert_eq!(batch.send(tx.as_raw_fd()), plan.len());
        a.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        b.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut buf = [0u8; 2048];
        for (i, (dest, len)) in plan.iter().enumerate() {
            let sock = if *dest == da { &a } else { &b };
            let n = sock.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], &payload(i, *len)[..], "datagram {i}");
        }
        // Linux has had UDP GSO since 4.18, loopback included: it must not have been refused.
        assert!(batch.gso, "GSO stayed on");
        assert_eq!(batch.counts.gso_segments, 8);
        assert_eq!(batch.counts.calls, 1);
        assert_eq!(batch.counts.datagrams, plan.len() as u64);
    }
}
