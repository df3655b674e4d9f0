//! Time limits of one HTTP connection: its request heads must arrive within the header timeout
//! (counted from the connection's start, then from the first byte of each later request), and a
//! connection with no request in progress and no bytes moving is closed after the idle timeout.
//! hyper's own header timer also runs while a keep-alive connection waits for its next request,
//! which would make the two one; and it does not cover the bytes hyper reads to tell HTTP/1 from
//! HTTP/2. Hence this watchdog, fed by the connection's reads and writes and by its requests.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Why a connection was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Header,
    Idle,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header: Duration,
    pub idle: Duration,
}

pub struct ConnClock {
    state: Mutex<State>,
    /// Wakes the watchdog when a deadline may have moved earlier.
    changed: Notify,
}

struct State {
    last_io: Instant,
    /// When the head being awaited started (the connection's start, or the first byte of a request).
    head_since: Option<Instant>,
    /// Requests whose handler is running.
    requests: usize,
}

impl Default for ConnClock {
    fn default() -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                last_io: now,
                head_since: Some(now),
                requests: 0,
            }),
            changed: Notify::new(),
        }
    }
}

impl ConnClock {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain values, each write complete: a panic elsewhere cannot leave them half-changed.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn on_read(&self, n: usize) {
        if n == 0 {
            return;
        }
        let now = Instant::now();
        let mut s = self.lock();
        s.last_io = now;
        if s.requests == 0 && s.head_since.is_none() {
            s.head_since = Some(now);
            drop(s);
            self.changed.notify_one();
        }
    }

    fn on_write(&self, n: usize) {
        if n > 0 {
            self.lock().last_io = Instant::now();
        }
    }

    /// Called when a request's head is complete; the request counts as in progress (no deadline)
    /// until the guard is dropped, when its handler has produced the response.
    pub fn request_started(self: &Arc<Self>) -> RequestGuard {
        let mut s = self.lock();
        s.requests += 1;
        s.head_since = None;
        RequestGuard(self.clone())
    }

    fn deadline(&self, limits: Limits) -> Option<(Instant, Expiry)> {
        let s = self.lock();
        if let Some(since) = s.head_since {
            return Some((since + limits.header, Expiry::Header));
        }
        if s.requests > 0 {
            return None;
        }
        Some((s.last_io + limits.idle, Expiry::Idle))
    }

    /// Resolves when the connection has overstayed a limit.
    pub async fn expired(&self, limits: Limits) -> Expiry {
        loop {
            let notified = self.changed.notified();
            match self.deadline(limits) {
                Some((at, why)) if at <= Instant::now() => return why,
                Some((at, _)) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at.into()) => {}
                        _ = notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }
}

pub struct RequestGuard(Arc<ConnClock>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.requests = s.requests.saturating_sub(1);
        s.last_io = Instant::now();
        drop(s);
        self.0.changed.notify_one();
    }
}

/// A connection's stream that tells its clock about every read and write.
pub struct Watched<S> {
    inner: S,
    clock: Arc<ConnClock>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, clock: Arc<ConnClock>) -> Self {
        Self { inner, clock }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            self.clock.on_read(buf.filled().len() - before);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.clock.on_write(n);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            self.clock.on_write(n);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
