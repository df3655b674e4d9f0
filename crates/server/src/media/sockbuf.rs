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
/// (receive, send). It caps the request at `net.core.rmem_max` / `wmem_max` and reports twice
/// what it grants for data (its bookkeeping is counted too).
#[cfg(unix)]
pub fn set_buffers(socket: &UdpSocket, bytes: u32) -> io::Result<(usize, usize)> {
    use std::os::fd::AsRawFd;
    let fd = socket.as_raw_fd();
    let want = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let mut granted = [0usize; 2];
    for (i, opt) in [libc::SO_RCVBUF, libc::SO_SNDBUF].into_iter().enumerate() {
        // SAFETY: setsockopt reads size_of::<c_int>() bytes from `want`.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&want as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut got: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `got`, which is that large.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&mut got as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        granted[i] = usize::try_from(got).unwrap_or(0);
    }
    Ok((granted[0], granted[1]))
}

#[cfg(not(unix))]
pub fn set_buffers(_socket: &UdpSocket, _bytes: u32) -> io::Result<(usize, usize)> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "socket buffer sizes are set on Unix only",
    ))
}

#[cfg(all(test, unix))]
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
