//! The media sockets' kernel buffers (`media.socket_buffer_bytes`). The system default (~200 KiB)
//! holds about 50 ms of a busy worker's input: a worker that is busy, or starved of its core, for
//! longer than that loses datagrams in the kernel (the 10 → 1,000 audio benchmark counted
//! thousands; a fan-out ramp to 500 lost ~1 % of its frames). 4 MiB rode out such bursts, but
//! under a sustained overload it queued media instead: delay instead of loss, and browsers'
//! congestion control backed off (in the browser tests, against the slow debug build, a
//! publisher's top layer then came back too late, 2 of 5 runs). The default, 1 MiB, lost nothing
//! in that ramp and passed those tests 7 of 7; operators choose otherwise.

use std::io;
use std::net::UdpSocket;

/// Asks for `bytes` of receive and of send buffer on `socket`; returns what the kernel granted
/// (receive, send). Linux caps the request at `net.core.rmem_max` / `wmem_max` and reports twice
/// what it grants for data (its bookkeeping is counted too).
pub fn set_buffers(socket: &UdpSocket, bytes: u32) -> io::Result<(usize, usize)> {
    let socket = socket2::SockRef::from(socket);
    // The option is a C int: a larger request would wrap to a negative size.
    let want = usize::try_from(bytes.min(i32::MAX as u32)).unwrap_or(usize::MAX);
    socket.set_recv_buffer_size(want)?;
    socket.set_send_buffer_size(want)?;
    Ok((socket.recv_buffer_size()?, socket.send_buffer_size()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_larger_buffer_is_granted_up_to_the_system_cap() {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let (small, _) = set_buffers(&s, 64 << 10).expect("set");
        // 256 KiB is under the cap of any system that runs media servers (and of this one's).
        let (rx, tx) = set_buffers(&s, 256 << 10).expect("set");
        assert!(rx >= 256 << 10 && tx >= 256 << 10, "{rx} {tx}");
        assert!(rx > small);
    }
}
