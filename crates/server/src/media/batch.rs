//! Sending many datagrams with one system call (sendmmsg). A forwarded video frame becomes several
//! packets for each subscriber, so one flush of the core commonly holds dozens of datagrams: one
//! syscall for all of them instead of one each. Buffers are reused from flush to flush.

use std::net::SocketAddr;

/// Datagrams handed to the kernel per call (Linux caps a call at 1024; 64 keeps stack-like sizes).
const CHUNK: usize = 64;

#[derive(Default)]
pub struct Batch {
    dests: Vec<SocketAddr>,
    data: Vec<Vec<u8>>,
    used: usize,
}

impl Batch {
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

    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Sends everything queued and empties the batch. Datagrams the socket cannot take now are
    /// dropped, as a full network queue would drop them; NACK/RTX and keyframe requests recover.
    /// Returns how many were sent.
    #[cfg(target_os = "linux")]
    pub fn send(&mut self, fd: std::os::fd::RawFd) -> usize {
        let mut sent = 0;
        let mut start = 0;
        while start < self.used {
            let end = (start + CHUNK).min(self.used);
            match sendmmsg(fd, &self.dests[start..end], &self.data[start..end]) {
                Some(0) | None => break,
                Some(n) => {
                    sent += n;
                    start += n;
                }
            }
        }
        self.used = 0;
        sent
    }
}

#[cfg(target_os = "linux")]
fn sendmmsg(fd: std::os::fd::RawFd, dests: &[SocketAddr], data: &[Vec<u8>]) -> Option<usize> {
    let n = dests.len();
    // SAFETY: all-zero is a valid value for these plain C structs.
    let mut addrs: [libc::sockaddr_storage; CHUNK] = unsafe { std::mem::zeroed() };
    let mut iovs: [libc::iovec; CHUNK] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; CHUNK] = unsafe { std::mem::zeroed() };
    for i in 0..n {
        let len = write_sockaddr(&dests[i], &mut addrs[i]);
        iovs[i] = libc::iovec {
            iov_base: data[i].as_ptr() as *mut libc::c_void,
            iov_len: data[i].len(),
        };
        msgs[i].msg_hdr.msg_name =
            &mut addrs[i] as *mut libc::sockaddr_storage as *mut libc::c_void;
        msgs[i].msg_hdr.msg_namelen = len;
        msgs[i].msg_hdr.msg_iov = &mut iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: msgs[..n] point into addrs, iovs and data, which all outlive the call; the kernel only
    // reads the buffers and writes msg_len.
    let r = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as libc::c_uint, libc::MSG_DONTWAIT) };
    if r < 0 {
        None
    } else {
        Some(r as usize)
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
}
