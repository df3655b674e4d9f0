//! Counting TCP connections at accept time, before a byte is read: in total, per address, and a
//! reserve beyond the total for health checks and admin. A flood of idle or half-sent connections
//! from one address takes that address's share and no more; a flood from many takes the general
//! capacity but not the reserve. A connection holds its [`Permit`] for its whole life (through a
//! WebSocket upgrade too: the permit travels with the socket, see [`Held`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::descriptors::ConnCaps;

/// Which capacity a connection was admitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Slot {
    #[default]
    General,
    /// Beyond the general capacity: health, metrics and admin only, one request.
    Reserve,
}

/// Why a connection was closed at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address holds `max_per_address` connections already.
    PerAddress,
    /// The general capacity and the reserve are taken.
    Full,
}

/// What a limit per address counts: an IPv4 address, or an IPv6 /64 (one subscriber's network:
/// a host picks addresses in it at will). IPv4-mapped IPv6 counts as its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrKey(IpAddr);

impl AddrKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    Self(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }
}

#[derive(Default)]
struct Counts {
    general: u32,
    reserve: u32,
    per_address: HashMap<AddrKey, u32>,
}

/// Connections refused and held, for /metrics.
#[derive(Default)]
pub struct AdmissionStats {
    pub refused_per_address: AtomicU64,
    pub refused_full: AtomicU64,
}

pub struct Admission {
    caps: ConnCaps,
    exempt_loopback: bool,
    counts: Mutex<Counts>,
    pub stats: AdmissionStats,
}

impl Admission {
    pub fn new(caps: ConnCaps, exempt_loopback: bool) -> Arc<Self> {
        Arc::new(Self {
            caps,
            exempt_loopback,
            counts: Mutex::new(Counts::default()),
            stats: AdmissionStats::default(),
        })
    }

    pub fn caps(&self) -> ConnCaps {
        self.caps
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Each update is complete before the lock is let go: a panic cannot leave it half-done.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Open connections: general and reserve.
    pub fn open(&self) -> (u32, u32) {
        let c = self.lock();
        (c.general, c.reserve)
    }

    /// Admits a connection from `ip`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let limited = !(self.exempt_loopback && ip.is_loopback());
        let key = self
            .caps
            .per_address
            .filter(|_| limited)
            .map(|cap| (AddrKey::of(ip), cap));
        let mut c = self.lock();
        if let Some((key, cap)) = key {
            if c.per_address.get(&key).copied().unwrap_or(0) >= cap {
                drop(c);
                self.stats
                    .refused_per_address
                    .fetch_add(1, Ordering::Relaxed);
                return Err(Refusal::PerAddress);
            }
        }
        let slot = if c.general < self.caps.total {
            c.general += 1;
            Slot::General
        } else if c.reserve < self.caps.reserve {
            c.reserve += 1;
            Slot::Reserve
        } else {
            drop(c);
            self.stats.refused_full.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Full);
        };
        let key = key.map(|(key, _)| key);
        if let Some(key) = key {
            *c.per_address.entry(key).or_insert(0) += 1;
        }
        Ok(Permit {
            admission: self.clone(),
            key,
            slot,
        })
    }

    fn release(&self, key: Option<AddrKey>, slot: Slot) {
        let mut c = self.lock();
        match slot {
            Slot::General => c.general = c.general.saturating_sub(1),
            Slot::Reserve => c.reserve = c.reserve.saturating_sub(1),
        }
        if let Some(key) = key {
            if let Some(n) = c.per_address.get_mut(&key) {
                *n = n.saturating_sub(1);
                // Gone addresses leave no entry: the map holds only addresses with connections.
                if *n == 0 {
                    c.per_address.remove(&key);
                }
            }
        }
    }

    /// Prometheus families of the connection limits.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let (general, reserve) = self.open();
        let _ = writeln!(
            out,
            "# HELP convene_tcp_connections Open TCP connections on the HTTP port, by capacity.\n\
             # TYPE convene_tcp_connections gauge\n\
             convene_tcp_connections{{slot=\"general\"}} {general}\n\
             convene_tcp_connections{{slot=\"reserve\"}} {reserve}\n\
             # HELP convene_tcp_connections_limit Connections each capacity holds (connections.max_total, connections.reserve).\n\
             # TYPE convene_tcp_connections_limit gauge\n\
             convene_tcp_connections_limit{{slot=\"general\"}} {}\n\
             convene_tcp_connections_limit{{slot=\"reserve\"}} {}\n\
             # HELP convene_tcp_connections_refused_total Connections closed at accept, by reason.\n\
             # TYPE convene_tcp_connections_refused_total counter\n\
             convene_tcp_connections_refused_total{{reason=\"per_address\"}} {}\n\
             convene_tcp_connections_refused_total{{reason=\"full\"}} {}",
            self.caps.total,
            self.caps.reserve,
            self.stats.refused_per_address.load(Ordering::Relaxed),
            self.stats.refused_full.load(Ordering::Relaxed),
        );
    }
}

/// One admitted connection; its capacity is given back when it is dropped.
pub struct Permit {
    admission: Arc<Admission>,
    key: Option<AddrKey>,
    slot: Slot,
}

impl Permit {
    pub fn slot(&self) -> Slot {
        self.slot
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.admission.release(self.key, self.slot);
    }
}

/// A stream that holds its connection's permit: hyper hands the stream itself to a WebSocket on
/// upgrade, and the permit must live exactly as long as the socket does.
pub struct Held<S> {
    inner: S,
    _permit: Permit,
}

impl<S> Held<S> {
    pub fn new(inner: S, permit: Permit) -> Self {
        Self {
            inner,
            _permit: permit,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Held<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Held<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn admission(total: u32, reserve: u32, per_address: Option<u32>) -> Arc<Admission> {
        Admission::new(
            ConnCaps {
                total,
                reserve,
                per_address,
            },
            true,
        )
    }

    #[test]
    fn the_total_then_the_reserve_then_nothing() {
        let a = admission(2, 1, None);
        let p1 = a.admit(ip("192.0.2.1")).unwrap();
        let p2 = a.admit(ip("192.0.2.2")).unwrap();
        assert_eq!((p1.slot(), p2.slot()), (Slot::General, Slot::General));
        let r = a.admit(ip("192.0.2.3")).unwrap();
        assert_eq!(r.slot(), Slot::Reserve);
        assert_eq!(a.admit(ip("192.0.2.4")).err(), Some(Refusal::Full));
        assert_eq!(a.open(), (2, 1));
        drop(p1);
        let p4 = a.admit(ip("192.0.2.4")).unwrap();
        assert_eq!(p4.slot(), Slot::General);
        drop(r);
        assert_eq!(a.open(), (2, 0));
        drop((p2, p4));
        assert_eq!(a.open(), (0, 0));
        assert_eq!(a.stats.refused_full.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn per_address_counts_v4_mapped_v6_and_a_v6_slash_64_as_one() {
        let a = admission(100, 1, Some(2));
        let _a = a.admit(ip("192.0.2.1")).unwrap();
        let _b = a.admit(ip("::ffff:192.0.2.1")).unwrap();
        assert_eq!(a.admit(ip("192.0.2.1")).err(), Some(Refusal::PerAddress));
        let _c = a.admit(ip("192.0.2.2")).unwrap();
        let _d = a.admit(ip("2001:db8:1:2::1")).unwrap();
        let _e = a.admit(ip("2001:db8:1:2:ffff::9")).unwrap();
        assert_eq!(
            a.admit(ip("2001:db8:1:2::77")).err(),
            Some(Refusal::PerAddress)
        );
        let _f = a.admit(ip("2001:db8:1:3::1")).unwrap();
        assert_eq!(a.stats.refused_per_address.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn loopback_is_exempt_only_when_configured_and_released_addresses_leave_no_entry() {
        let exempt = admission(100, 1, Some(1));
        let _a = exempt.admit(ip("127.0.0.1")).unwrap();
        let _b = exempt.admit(ip("127.0.0.1")).unwrap();
        let strict = Admission::new(exempt.caps(), false);
        let held = strict.admit(ip("127.0.0.1")).unwrap();
        assert_eq!(
            strict.admit(ip("127.0.0.1")).err(),
            Some(Refusal::PerAddress)
        );
        drop(held);
        assert!(strict.lock().per_address.is_empty());
        assert!(strict.admit(ip("127.0.0.1")).is_ok());
    }
}
