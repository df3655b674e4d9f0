//! TURN over TLS on the HTTPS port: after the handshake, a connection that negotiated the ALPN
//! "stun.turn" (RFC 7443), or negotiated none and whose first decrypted bytes are a STUN header
//! (browsers send no ALPN for `turns:` URLs), is TURN; everything else is HTTP. A browser's HTTPS
//! offers "http/1.1", so the page never waits on this.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio_rustls::server::TlsStream;

use crate::turn::stun;

/// What a TLS connection carries.
pub enum Routed<S> {
    Http(Rewound<S>),
    Turn(Rewound<S>),
    /// Neither an HTTP request nor a STUN message: nothing to talk about.
    Neither,
}

/// Decides what `tls` carries, reading at most a STUN header's first 8 bytes (given back to
/// whoever serves it) before `deadline`.
pub async fn route<S>(
    mut tls: TlsStream<S>,
    deadline: tokio::time::Instant,
) -> io::Result<Routed<TlsStream<S>>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tls.get_ref().1.alpn_protocol() {
        Some(p) if p == crate::tls::ALPN_TURN => {
            tracing::debug!("TURN over TLS (ALPN stun.turn)");
            return Ok(Routed::Turn(Rewound::new(tls, [])));
        }
        Some(_) => return Ok(Routed::Http(Rewound::new(tls, []))),
        None => {}
    }
    let mut head = [0u8; 8];
    let mut have = 0;
    while have < head.len() {
        let n = tokio::time::timeout_at(deadline, tls.read(&mut head[have..]))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        if n == 0 {
            return Ok(Routed::Neither);
        }
        have += n;
        // A STUN message's first two bits are zero; an HTTP request starts with a letter.
        if head[0] & 0xC0 != 0 {
            return Ok(Routed::Http(Rewound::new(tls, &head[..have])));
        }
    }
    if head[4..8] == stun::MAGIC.to_be_bytes() {
        tracing::debug!("TURN over TLS (no ALPN; a STUN header)");
        Ok(Routed::Turn(Rewound::new(tls, &head[..have])))
    } else {
        Ok(Routed::Neither)
    }
}

/// A stream with bytes already read from it put back in front.
pub struct Rewound<S> {
    front: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Rewound<S> {
    fn new(inner: S, front: impl AsRef<[u8]>) -> Self {
        Self {
            front: front.as_ref().to_vec(),
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewound<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.front.len() {
            let n = (this.front.len() - this.at).min(buf.remaining());
            buf.put_slice(&this.front[this.at..this.at + n]);
            this.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewound<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn rewound_gives_the_front_back_first() {
        let (a, mut b) = tokio::io::duplex(64);
        b.write_all(b" world").await.unwrap();
        drop(b);
        let mut r = Rewound::new(a, b"hello");
        let mut out = String::new();
        r.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "hello world");
    }
}
