//! Allocations (RFC 8656 2.2): one relay socket per client 5-tuple, with its permissions and
//! channels, counted per participant and per node so that neither can exhaust sockets or memory.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Permissions last 300 s and channel bindings 600 s unless refreshed (RFC 8656 9, 12).
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// Peers one allocation may have permissions or channels for: a browser's relay talks to one
/// media address of ours, a few with ICE restarts; more is a client misusing the relay.
pub const MAX_PEERS: usize = 32;

/// The client side of an allocation: the transport and the client's address on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    Udp(SocketAddr),
    Tcp(SocketAddr),
    /// TURN over TLS on the HTTPS port: another connection than a TCP one from the same address.
    Tls(SocketAddr),
}

/// Where datagrams for the client go.
#[derive(Clone, Debug)]
pub enum Sink {
    Udp(Arc<UdpSocket>, SocketAddr),
    Tcp(mpsc::Sender<Vec<u8>>),
}

impl Sink {
    /// Sends without waiting: a full socket buffer or connection queue drops the datagram, as a
    /// congested UDP path would (media copes; a blocked relay would stall every allocation).
    pub fn send(&self, bytes: Vec<u8>) {
        match self {
            Sink::Udp(s, to) => {
                let _ = s.try_send_to(&bytes, *to);
            }
            Sink::Tcp(tx) => {
                let _ = tx.try_send(bytes);
            }
        }
    }

    pub fn is_stream(&self) -> bool {
        matches!(self, Sink::Tcp(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// 486 Allocation Quota Reached: the participant's share.
    User,
    /// 486 too: the node's.
    Node,
    /// 508 Insufficient Capacity: this allocation's peers.
    Peers,
    /// 400: a channel already bound to another peer, or the peer to another channel.
    ChannelConflict,
}

pub struct Allocation {
    pub user: String,
    pub username: String,
    pub key: [u8; 16],
    pub relay: Arc<UdpSocket>,
    /// The relayed transport address told to the client.
    pub relayed: SocketAddr,
    pub sink: Sink,
    /// The Allocate request's transaction id: a retransmission gets the same success again.
    pub tid: [u8; 12],
    state: Mutex<State>,
}

struct State {
    expires: Instant,
    permissions: HashMap<IpAddr, Instant>,
    channels: HashMap<u16, (SocketAddr, Instant)>,
}

impl Allocation {
    pub fn new(
        auth: &super::auth::Authed,
        relay: Arc<UdpSocket>,
        relayed: SocketAddr,
        sink: Sink,
        tid: [u8; 12],
        expires: Instant,
    ) -> Allocation {
        Allocation {
            user: auth.user.clone(),
            username: auth.username.clone(),
            key: auth.key,
            relay,
            relayed,
            sink,
            tid,
            state: Mutex::new(State {
                expires,
                permissions: HashMap::new(),
                channels: HashMap::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain maps behind: still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn refresh(&self, expires: Instant) {
        self.state().expires = expires;
    }

    pub fn expired(&self, now: Instant) -> bool {
        self.state().expires <= now
    }

    pub fn permit(&self, ip: IpAddr, now: Instant) -> Result<(), Full> {
        let mut s = self.state();
        s.permissions.retain(|_, until| *until > now);
        if !s.permissions.contains_key(&ip) && s.permissions.len() >= MAX_PEERS {
            return Err(Full::Peers);
        }
        s.permissions.insert(ip, now + PERMISSION_LIFETIME);
        Ok(())
    }

    pub fn permitted(&self, ip: IpAddr, now: Instant) -> bool {
        self.state().permissions.get(&ip).is_some_and(|t| *t > now)
    }

    /// Binds (or refreshes) `channel` to `peer`, and the peer's permission with it.
    pub fn bind(&self, channel: u16, peer: SocketAddr, now: Instant) -> Result<(), Full> {
        {
            let mut s = self.state();
            s.channels.retain(|_, (_, until)| *until > now);
            let other_peer = s.channels.get(&channel).is_some_and(|(p, _)| *p != peer);
            let other_channel = s
                .channels
                .iter()
                .any(|(c, (p, _))| *p == peer && *c != channel);
            if other_peer || other_channel {
                return Err(Full::ChannelConflict);
            }
            if !s.channels.contains_key(&channel) && s.channels.len() >= MAX_PEERS {
                return Err(Full::Peers);
            }
            s.channels.insert(channel, (peer, now + CHANNEL_LIFETIME));
        }
        self.permit(peer.ip(), now)
    }

    pub fn channel_peer(&self, channel: u16, now: Instant) -> Option<SocketAddr> {
        let s = self.state();
        s.channels
            .get(&channel)
            .filter(|(_, until)| *until > now)
            .map(|(p, _)| *p)
    }

    pub fn channel_of(&self, peer: SocketAddr, now: Instant) -> Option<u16> {
        let s = self.state();
        s.channels
            .iter()
            .find(|(_, (p, until))| *p == peer && *until > now)
            .map(|(c, _)| *c)
    }
}

struct Entry {
    alloc: Arc<Allocation>,
    /// The task reading the relay socket; aborted when the allocation goes.
    reader: Option<AbortHandle>,
}

/// Every allocation of this node, by client.
pub struct Table {
    max_per_user: u32,
    max_total: u32,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_client: HashMap<Client, Entry>,
    per_user: HashMap<String, u32>,
}

impl Table {
    pub fn new(max_per_user: u32, max_total: u32) -> Table {
        Table {
            max_per_user,
            max_total,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Plain maps: usable after a panic elsewhere.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, client: &Client) -> Option<Arc<Allocation>> {
        self.inner().by_client.get(client).map(|e| e.alloc.clone())
    }

    pub fn len(&self) -> usize {
        self.inner().by_client.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `user` may have one more allocation.
    pub fn room_for(&self, user: &str) -> Result<(), Full> {
        let i = self.inner();
        if i.by_client.len() >= self.max_total as usize {
            return Err(Full::Node);
        }
        if i.per_user.get(user).copied().unwrap_or(0) >= self.max_per_user {
            return Err(Full::User);
        }
        Ok(())
    }

    /// Adds an allocation, checking the quotas again under the lock (two requests may have
    /// passed `room_for` at once).
    pub fn insert(&self, client: Client, alloc: Arc<Allocation>) -> Result<(), Full> {
        let mut i = self.inner();
        if i.by_client.len() >= self.max_total as usize {
            return Err(Full::Node);
        }
        let n = i.per_user.entry(alloc.user.clone()).or_insert(0);
        if *n >= self.max_per_user {
            return Err(Full::User);
        }
        *n += 1;
        i.by_client.insert(
            client,
            Entry {
                alloc,
                reader: None,
            },
        );
        Ok(())
    }

    pub fn set_reader(&self, client: &Client, reader: AbortHandle) {
        match self.inner().by_client.get_mut(client) {
            Some(e) => e.reader = Some(reader),
            // Removed meanwhile: its reader has nothing to serve.
            None => reader.abort(),
        }
    }

    pub fn remove(&self, client: &Client) {
        let mut i = self.inner();
        if let Some(e) = i.by_client.remove(client) {
            release(&mut i.per_user, &e);
        }
    }

    /// Frees the allocations whose lifetime ended; returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut i = self.inner();
        let gone: Vec<Client> = i
            .by_client
            .iter()
            .filter(|(_, e)| e.alloc.expired(now))
            .map(|(c, _)| *c)
            .collect();
        for c in &gone {
            if let Some(e) = i.by_client.remove(c) {
                release(&mut i.per_user, &e);
            }
        }
        gone.len()
    }

    pub fn clear(&self) {
        let mut i = self.inner();
        for (_, e) in i.by_client.drain() {
            if let Some(r) = e.reader {
                r.abort();
            }
        }
        i.per_user.clear();
    }
}

fn release(per_user: &mut HashMap<String, u32>, e: &Entry) {
    if let Some(r) = &e.reader {
        r.abort();
    }
    if let Some(n) = per_user.get_mut(&e.alloc.user) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_user.remove(&e.alloc.user);
        }
    }
}

#[cfg(test)]
#[path = "allocation_tests.rs"]
mod tests;
