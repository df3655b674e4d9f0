//! One UDP port, one socket per media worker (`SO_REUSEPORT`).
//!
//! With one socket read by every worker, each datagram went to whichever worker read first, and a
//! worker handed those of another's participants over through a queue: a participant's packets
//! were split between the two paths and came out reordered (a publisher's RTP reached its
//! subscribers out of order, and its own NACKs fired for gaps that were only late). With a socket
//! per worker in one `SO_REUSEPORT` group the kernel picks the socket by a hash of the sender's
//! address and port, so all of one participant's datagrams reach the same worker, in order; if
//! that is not its own worker, all of them are handed over, still in order.

use std::io;
use std::net::{SocketAddr, UdpSocket};
#[cfg(target_os = "linux")]
use std::{
    mem::size_of,
    os::fd::{FromRawFd, OwnedFd},
};

/// A UDP socket bound to `addr` that other sockets of this process may bind too (port 0: a free
/// port, which the others then bind).
#[cfg(target_os = "linux")]
pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: a plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns; OwnedFd closes it on error paths.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    set_reuseport(&fd)?;
    bind_fd(&fd, addr)?;
    Ok(UdpSocket::from(fd))
}

/// Elsewhere: a plain socket, which the workers share.
#[cfg(not(target_os = "linux"))]
pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    UdpSocket::bind(addr)
}

/// Whether `socket` was bound with `SO_REUSEPORT` (a socket made elsewhere may not have been).
#[cfg(not(target_os = "linux"))]
pub fn is_reuseport(_socket: &UdpSocket) -> bool {
    false
}

/// Whether `socket` was bound with `SO_REUSEPORT` (a socket made elsewhere may not have been).
#[cfg(target_os = "linux")]
pub fn is_reuseport(socket: &UdpSocket) -> bool {
    use std::os::fd::AsRawFd;
    let mut on: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `on`, which is that large.
    let r = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            (&mut on as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    r == 0 && on != 0
}

#[cfg(target_os = "linux")]
fn set_reuseport(fd: &OwnedFd) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from `on`.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn bind_fd(fd: &OwnedFd, addr: SocketAddr) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: sockaddr_storage is plain data, valid when zeroed.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = super::batch::write_sockaddr(&addr, &mut storage);
    // SAFETY: `storage` holds a valid address of `len` bytes for the socket's family.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&storage as *const libc::sockaddr_storage).cast(),
            len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sockets_of_a_group_share_a_port_and_each_sender_reaches_one_of_them() {
        let first = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        assert!(is_reuseport(&first));
        let addr = first.local_addr().unwrap();
        let second = bind(addr).unwrap();
        assert_eq!(second.local_addr().unwrap(), addr);
        for s in [&first, &second] {
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        }
        // Each sender's datagrams all land on one socket, in the order sent.
        for _ in 0..8 {
            let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
            for i in 0..20u8 {
                tx.send_to(&[i], addr).unwrap();
            }
            let mut got = [Vec::new(), Vec::new()];
            let mut buf = [0u8; 8];
            for (k, s) in [&first, &second].into_iter().enumerate() {
                while let Ok((_, from)) = s.recv_from(&mut buf) {
                    assert_eq!(from, tx.local_addr().unwrap());
                    got[k].push(buf[0]);
                }
            }
            let all: Vec<u8> = (0..20).collect();
            assert!(
                (got[0] == all && got[1].is_empty()) || (got[1] == all && got[0].is_empty()),
                "{got:?}"
            );
        }
    }

    #[test]
    fn a_plain_socket_is_told_apart_and_takes_no_partner() {
        let plain = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(!is_reuseport(&plain));
        assert!(bind(plain.local_addr().unwrap()).is_err());
    }
}
