//! Receiving a datagram with the time the kernel took it in (`SO_TIMESTAMP`), on a tokio socket.
//!
//! Delays are measured from a frame's send time to the arrival of the packet that completed it.
//! Convene's shared-socket subscribers read on a timer and take each datagram's kernel time; the
//! Janus driver's sockets take theirs the same way, so the tool's own scheduling is in neither
//! server's delays.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::ptr;

use tokio::io::Interest;
use tokio::net::UdpSocket;

/// `CMSG_SPACE(sizeof(struct timeval))` (32) with room to spare.
const CONTROL: usize = 64;

/// Asks the kernel for each datagram's arrival time.
pub fn enable(sock: &UdpSocket) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` outlives the call and the length given is its size.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMP,
            ptr::from_ref(&on).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One datagram, without waiting (`WouldBlock` if none): its length, source, and arrival time
/// (wall clock, µs since the Unix epoch) if the kernel gave one.
pub fn try_recv(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Option<u64>)> {
    sock.try_io(Interest::READABLE, || recv(sock.as_raw_fd(), buf))
}

fn recv(fd: libc::c_int, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Option<u64>)> {
    // SAFETY: all-zero is a valid value for these plain C structs.
    let mut name: libc::sockaddr_storage = unsafe { zeroed() };
    let mut ctrl = [0u64; CONTROL / 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut h: libc::msghdr = unsafe { zeroed() };
    h.msg_name = ptr::from_mut(&mut name).cast();
    h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    h.msg_iov = &mut iov;
    h.msg_iovlen = 1;
    h.msg_control = ctrl.as_mut_ptr().cast();
    h.msg_controllen = size_of::<[u64; CONTROL / 8]>() as _;
    // SAFETY: every pointer in `h` is to a local that outlives the call, with its length.
    let n = unsafe { libc::recvmsg(fd, &mut h, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut arrival = None;
    // SAFETY: the kernel filled `msg_control` with `msg_controllen` bytes; CMSG_* walk them
    // within those bounds; the data is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&h);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMP {
                let tv: libc::timeval = ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                arrival = u64::try_from(tv.tv_sec)
                    .ok()
                    .zip(u64::try_from(tv.tv_usec).ok())
                    .map(|(s, us)| s * 1_000_000 + us);
            }
            c = libc::CMSG_NXTHDR(&h, c);
        }
    }
    let source = source(&name).ok_or_else(|| io::Error::other("datagram from a non-IP address"))?;
    Ok((n as usize, source, arrival))
}

fn source(name: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(name.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a: libc::sockaddr_in = unsafe { ptr::read(ptr::from_ref(name).cast()) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a: libc::sockaddr_in6 = unsafe { ptr::read(ptr::from_ref(name).cast()) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::unix_micros;

    #[tokio::test]
    async fn a_datagram_comes_with_its_kernel_arrival_time() {
        for ip in ["127.0.0.1", "::1"] {
            let Ok(rx) = UdpSocket::bind((ip, 0)).await else {
                // No IPv6 on loopback here: the IPv4 case still ran.
                assert_eq!(ip, "::1");
                continue;
            };
            enable(&rx).unwrap();
            let tx = UdpSocket::bind((ip, 0)).await.unwrap();
            let sent_at = unix_micros();
            tx.send_to(b"hello", rx.local_addr().unwrap())
                .await
                .unwrap();
            rx.readable().await.unwrap();
            let mut buf = [0u8; 16];
            let (n, from, at) = loop {
                match try_recv(&rx, &mut buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => rx.readable().await.unwrap(),
                    r => break r.unwrap(),
                }
            };
            let read_at = unix_micros();
            assert_eq!((&buf[..n], from), (&b"hello"[..], tx.local_addr().unwrap()));
            let at = at.expect("SO_TIMESTAMP gives the arrival time");
            assert!(
                sent_at <= at && at <= read_at,
                "{sent_at} <= {at} <= {read_at}"
            );
            // Nothing left: WouldBlock, not a hang or a bogus datagram.
            let e = try_recv(&rx, &mut buf).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        }
    }
}
