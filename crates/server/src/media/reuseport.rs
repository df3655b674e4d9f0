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

/// A UDP socket bound to `addr` that other sockets of this process may bind too (port 0: a free
/// port, which the others then bind).
#[cfg(target_os = "linux")]
pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    use socket2::{Domain, Socket, Type};
    // socket2 opens it close-on-exec, as std does.
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, None)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Elsewhere: a plain socket, which the workers share (other systems' `SO_REUSEPORT` does not
/// spread datagrams over the group by sender, or is named differently).
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
    socket2::SockRef::from(socket).reuse_port().unwrap_or(false)
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
