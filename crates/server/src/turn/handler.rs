//! What the TURN server does with each message from a client: STUN requests (Allocate, Refresh,
//! CreatePermission, ChannelBind, and plain Binding), Send indications and ChannelData.
//! Anything that does not parse is dropped without an answer.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::allocation::{Allocation, Client, Full, Sink, Table};
use super::auth::{AuthError, Authed, Credentials};
use super::peers::{PeerPolicy, Refusal};
use super::stats::Stats;
use super::stun::{self, attr, method, Builder, Class, Message};

/// An allocation's lifetime when the client asks for none, or for less (RFC 8656 7.2).
const DEFAULT_LIFETIME: u32 = 600;
/// REQUESTED-TRANSPORT's protocol number for UDP, the only transport relayed to peers.
const UDP: u8 = 17;

pub struct Turn {
    pub creds: Credentials,
    pub policy: PeerPolicy,
    pub table: Table,
    pub max_lifetime: u32,
    /// The IP relay sockets bind to (that of `server.listen`).
    pub relay_ip: IpAddr,
    /// The addresses clients reach this machine at (`media.public_ips`): the relayed address told
    /// to a client is the first of the relay's family, with the relay socket's port.
    pub public_ips: Vec<IpAddr>,
    pub stats: Stats,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn client_addr(c: &Client) -> SocketAddr {
    match c {
        Client::Udp(a) | Client::Tcp(a) | Client::Tls(a) => *a,
    }
}

fn fail(msg: &Message<'_>, key: Option<&[u8]>, code: u16, reason: &str) -> Vec<u8> {
    Builder::new(msg.method, Class::Error, msg.tid)
        .error(code, reason)
        .finish(key)
}

impl Turn {
    /// Handles one message (a datagram, or one framed message on TCP); returns the answer to send
    /// back, if any.
    pub fn handle(self: &Arc<Self>, client: Client, sink: &Sink, buf: &[u8]) -> Option<Vec<u8>> {
        if let Some((channel, data)) = stun::parse_channel_data(buf) {
            self.channel_data(client, channel, data);
            return None;
        }
        let msg = Message::parse(buf).ok()?;
        match (msg.class, msg.method) {
            (Class::Request, method::BINDING) => Some(
                Builder::new(method::BINDING, Class::Success, msg.tid)
                    .xor_address(attr::XOR_MAPPED_ADDRESS, client_addr(&client))
                    .finish(None),
            ),
            (Class::Indication, method::SEND) => {
                self.send_indication(client, &msg);
                None
            }
            (Class::Request, _) => Some(self.request(client, sink, &msg)),
            _ => None,
        }
    }

    fn request(self: &Arc<Self>, client: Client, sink: &Sink, msg: &Message<'_>) -> Vec<u8> {
        let known = [
            method::ALLOCATE,
            method::REFRESH,
            method::CREATE_PERMISSION,
            method::CHANNEL_BIND,
        ];
        if !known.contains(&msg.method) {
            return fail(msg, None, 400, "Bad Request");
        }
        let auth = match self.creds.check(msg, unix_now()) {
            Ok(a) => a,
            Err(e) => return self.auth_error(msg, e),
        };
        let key = Some(&auth.key[..]);
        let unknown = msg.unknown_required();
        if !unknown.is_empty() {
            let list: Vec<u8> = unknown.iter().flat_map(|t| t.to_be_bytes()).collect();
            return Builder::new(msg.method, Class::Error, msg.tid)
                .error(420, "Unknown Attribute")
                .attr(attr::UNKNOWN_ATTRIBUTES, &list)
                .finish(key);
        }
        let existing = self.table.get(&client);
        if existing
            .as_ref()
            .is_some_and(|a| a.username != auth.username)
        {
            return fail(msg, key, 441, "Wrong Credentials");
        }
        if msg.method == method::ALLOCATE {
            return self.allocate(client, sink, msg, &auth, existing);
        }
        let Some(alloc) = existing else {
            return fail(msg, key, 437, "Allocation Mismatch");
        };
        let result = match msg.method {
            method::REFRESH => self.refresh(client, msg, &alloc),
            method::CREATE_PERMISSION => self.create_permission(msg, &alloc),
            _ => self.channel_bind(msg, &alloc),
        };
        match result {
            Ok(b) => b.finish(key),
            Err((code, reason)) => fail(msg, key, code, &reason),
        }
    }

    fn auth_error(&self, msg: &Message<'_>, e: AuthError) -> Vec<u8> {
        let (code, reason) = match e {
            AuthError::BadRequest => return fail(msg, None, 400, "Bad Request"),
            AuthError::Challenge => (401, "Unauthorized"),
            AuthError::Unauthorized(why) => {
                Stats::add(&self.stats.auth_refused);
                (401, why)
            }
            AuthError::StaleNonce => (438, "Stale Nonce"),
        };
        Builder::new(msg.method, Class::Error, msg.tid)
            .error(code, reason)
            .attr(attr::REALM, self.creds.realm.as_bytes())
            .attr(attr::NONCE, self.creds.nonce(unix_now()).as_bytes())
            .finish(None)
    }

    fn lifetime(&self, msg: &Message<'_>) -> u32 {
        let asked = msg.u32(attr::LIFETIME).unwrap_or(DEFAULT_LIFETIME);
        asked.max(DEFAULT_LIFETIME).min(self.max_lifetime)
    }

    fn allocate(
        self: &Arc<Self>,
        client: Client,
        sink: &Sink,
        msg: &Message<'_>,
        auth: &Authed,
        existing: Option<Arc<Allocation>>,
    ) -> Vec<u8> {
        let key = Some(&auth.key[..]);
        if let Some(a) = existing {
            // A retransmission of the request that made it gets the same answer (RFC 8656 7.2).
            return match a.tid == msg.tid {
                true => self.allocated(msg, &a, client, self.max_lifetime),
                false => fail(msg, key, 437, "Allocation Mismatch"),
            };
        }
        match msg.get(attr::REQUESTED_TRANSPORT) {
            Some([UDP, _, _, _]) => {}
            Some([_, _, _, _]) => return fail(msg, key, 442, "Unsupported Transport Protocol"),
            _ => return fail(msg, key, 400, "Bad Request: REQUESTED-TRANSPORT"),
        }
        let want_v6 = match msg.get(attr::REQUESTED_ADDRESS_FAMILY) {
            None => false,
            Some([1, 0, 0, 0]) => false,
            Some([2, 0, 0, 0]) => true,
            Some(_) => return fail(msg, key, 400, "Bad Request: REQUESTED-ADDRESS-FAMILY"),
        };
        let Some((bind_ip, public_ip)) = self.relay_ips(want_v6) else {
            return fail(msg, key, 440, "Address Family not Supported");
        };
        if let Err(f) = self.table.room_for(&auth.user) {
            Stats::add(&self.stats.quota_refused);
            return quota(msg, key, f);
        }
        let relay = match bind_relay(bind_ip) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                tracing::warn!(error = %e, "TURN: cannot bind a relay socket");
                return fail(msg, key, 508, "Insufficient Capacity");
            }
        };
        let port = relay.local_addr().map_or(0, |a| a.port());
        let lifetime = self.lifetime(msg);
        let expires = Instant::now() + Duration::from_secs(lifetime.into());
        let alloc = Arc::new(Allocation::new(
            auth,
            relay,
            SocketAddr::new(public_ip, port),
            sink.clone(),
            msg.tid,
            expires,
        ));
        if let Err(f) = self.table.insert(client, alloc.clone()) {
            Stats::add(&self.stats.quota_refused);
            return quota(msg, key, f);
        }
        Stats::add(&self.stats.allocations_made);
        let reader = tokio::spawn(super::transport::relay_reader(self.clone(), alloc.clone()));
        self.table.set_reader(&client, reader.abort_handle());
        self.allocated(msg, &alloc, client, lifetime)
    }

    /// The IP to bind a relay socket of this family to, and the IP clients are told: the first
    /// public IP of the family, else the bound one. None when this server has no such address.
    fn relay_ips(&self, v6: bool) -> Option<(IpAddr, IpAddr)> {
        let bind: IpAddr = match (self.relay_ip.is_unspecified(), v6) {
            (true, true) => std::net::Ipv6Addr::UNSPECIFIED.into(),
            (true, false) => std::net::Ipv4Addr::UNSPECIFIED.into(),
            (false, _) if self.relay_ip.is_ipv6() == v6 => self.relay_ip,
            (false, _) => return None,
        };
        let public = self
            .public_ips
            .iter()
            .copied()
            .find(|ip| ip.is_ipv6() == v6);
        match (public, bind.is_unspecified()) {
            (Some(p), _) => Some((bind, p)),
            (None, false) => Some((bind, bind)),
            (None, true) => None,
        }
    }

    fn allocated(
        &self,
        msg: &Message<'_>,
        a: &Allocation,
        client: Client,
        lifetime: u32,
    ) -> Vec<u8> {
        Builder::new(method::ALLOCATE, Class::Success, msg.tid)
            .xor_address(attr::XOR_RELAYED_ADDRESS, a.relayed)
            .u32(attr::LIFETIME, lifetime)
            .xor_address(attr::XOR_MAPPED_ADDRESS, client_addr(&client))
            .finish(Some(&a.key))
    }

    fn refresh(&self, client: Client, msg: &Message<'_>, a: &Allocation) -> Answer {
        if let Some(f) = msg.get(attr::REQUESTED_ADDRESS_FAMILY) {
            let v6 = f.first() == Some(&2);
            if v6 != a.relayed.is_ipv6() {
                return Err((443, "Peer Address Family Mismatch".into()));
            }
        }
        let lifetime = match msg.u32(attr::LIFETIME) {
            Some(0) => {
                self.table.remove(&client);
                0
            }
            _ => {
                let l = self.lifetime(msg);
                a.refresh(Instant::now() + Duration::from_secs(l.into()));
                l
            }
        };
        Ok(Builder::new(method::REFRESH, Class::Success, msg.tid).u32(attr::LIFETIME, lifetime))
    }

    /// Every peer the request names, each one allowed, or the error for the first that is not.
    fn peers(&self, msg: &Message<'_>, a: &Allocation) -> Result<Vec<SocketAddr>, (u16, String)> {
        let mut peers = Vec::new();
        for v in msg.all(attr::XOR_PEER_ADDRESS) {
            let p = msg
                .xor_address(v)
                .ok_or((400, "Bad Request: XOR-PEER-ADDRESS".to_string()))?;
            if let Err(r) = self.policy.check(p) {
                let why = match r {
                    Refusal::Special(name) => format!("Forbidden: {name} address"),
                    Refusal::NotOurMedia => "Forbidden: not this server's media".into(),
                };
                tracing::debug!(peer = %p, user = %a.user, "TURN: peer refused: {why}");
                Stats::add(&self.stats.peers_refused);
                return Err((403, why));
            }
            if p.is_ipv6() != a.relayed.is_ipv6() {
                return Err((443, "Peer Address Family Mismatch".into()));
            }
            peers.push(p);
        }
        match peers.is_empty() {
            true => Err((400, "Bad Request: no XOR-PEER-ADDRESS".into())),
            false => Ok(peers),
        }
    }

    fn create_permission(&self, msg: &Message<'_>, a: &Allocation) -> Answer {
        let now = Instant::now();
        for p in self.peers(msg, a)? {
            a.permit(p.ip(), now).map_err(full)?;
        }
        Ok(Builder::new(
            method::CREATE_PERMISSION,
            Class::Success,
            msg.tid,
        ))
    }

    fn channel_bind(&self, msg: &Message<'_>, a: &Allocation) -> Answer {
        let channel = match msg.get(attr::CHANNEL_NUMBER) {
            Some(&[hi, lo, 0, 0]) if (0x4000..=0x4FFF).contains(&u16::from_be_bytes([hi, lo])) => {
                u16::from_be_bytes([hi, lo])
            }
            _ => return Err((400, "Bad Request: CHANNEL-NUMBER".into())),
        };
        let peers = self.peers(msg, a)?;
        let [peer] = peers[..] else {
            return Err((400, "Bad Request: one XOR-PEER-ADDRESS".into()));
        };
        a.bind(channel, peer, Instant::now()).map_err(full)?;
        Ok(Builder::new(method::CHANNEL_BIND, Class::Success, msg.tid))
    }

    fn send_indication(&self, client: Client, msg: &Message<'_>) {
        let (Some(alloc), Some(peer), Some(data)) = (
            self.table.get(&client),
            msg.get(attr::XOR_PEER_ADDRESS)
                .and_then(|v| msg.xor_address(v)),
            msg.get(attr::DATA),
        ) else {
            return;
        };
        self.relay_out(&alloc, peer, data);
    }

    fn channel_data(&self, client: Client, channel: u16, data: &[u8]) {
        let Some(alloc) = self.table.get(&client) else {
            return;
        };
        if let Some(peer) = alloc.channel_peer(channel, Instant::now()) {
            self.relay_out(&alloc, peer, data);
        }
    }

    /// Sends to a peer from the relay: with a permission for its IP, and (again, per datagram)
    /// only to an allowed address, since a permission is per IP and the port is the client's to
    /// choose.
    fn relay_out(&self, alloc: &Allocation, peer: SocketAddr, data: &[u8]) {
        if alloc.permitted(peer.ip(), Instant::now()) && self.policy.check(peer).is_ok() {
            let _ = alloc.relay.try_send_to(data, peer);
        }
    }
}

type Answer = Result<Builder, (u16, String)>;

fn full(f: Full) -> (u16, String) {
    match f {
        Full::User | Full::Node => (486, "Allocation Quota Reached".into()),
        Full::Peers => (508, "Insufficient Capacity: too many peers".into()),
        Full::ChannelConflict => (400, "Bad Request: channel bound otherwise".into()),
    }
}

fn quota(msg: &Message<'_>, key: Option<&[u8]>, f: Full) -> Vec<u8> {
    let (code, reason) = full(f);
    fail(msg, key, code, &reason)
}

fn bind_relay(ip: IpAddr) -> std::io::Result<tokio::net::UdpSocket> {
    let s = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
    s.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(s)
}
