//! The embedded TURN server (RFC 8656): for clients that neither UDP nor ICE-TCP reaches (a network
//! that lets only TCP to some port through), it relays media between the client and this node's
//! media port, and nothing else (peers.rs). Participants get short-lived credentials of their own
//! in `joined` (auth.rs).
//!
//! Why not the `turn` crate (webrtc-rs): its server takes an auth handler and a relay address
//! generator but has no hook to refuse a peer address per CreatePermission/ChannelBind/Send, no
//! allocation quota per user or per node, and no TCP client transport; those are the point here.
//! So the server is ours, on a focused STUN codec (stun.rs says why that one is ours too).
//!
//! TURN over TLS shares the HTTPS port (net/tls_turn.rs tells it from HTTPS after the handshake):
//! a network that lets only TCP to port 443 through reaches it there, as `turns:<host>:<port>`.

pub mod allocation;
pub mod auth;
pub mod cidr;
mod handler;
pub mod peers;
pub mod special;
mod stats;
pub mod stun;
mod transport;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use convene_proto::IceServer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Config;

/// The name of the generated secret in the store's secrets.
pub const KEY_NAME: &str = "turn_secret";

/// The TURN server's UDP socket and TCP listener, on one port, bound before the server runs (so
/// that tests can ask for port 0).
pub struct Sockets {
    pub udp: std::net::UdpSocket,
    pub tcp: std::net::TcpListener,
}

impl Sockets {
    pub fn bind(ip: IpAddr, port: u16) -> std::io::Result<Sockets> {
        // With port 0 the TCP listener takes the UDP socket's port, which another process may
        // hold for TCP: then try another.
        let mut last = None;
        for _ in 0..10 {
            let udp = std::net::UdpSocket::bind(SocketAddr::new(ip, port))?;
            let at = udp.local_addr()?;
            match std::net::TcpListener::bind(at) {
                Ok(tcp) => {
                    udp.set_nonblocking(true)?;
                    tcp.set_nonblocking(true)?;
                    return Ok(Sockets { udp, tcp });
                }
                Err(e) if port == 0 => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no free port for TURN")))
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.udp.local_addr()
    }
}

/// A running TURN server: what `joined` hands out, and its tasks.
pub struct Embedded {
    turn: Arc<handler::Turn>,
    urls: Vec<String>,
    ttl_secs: u64,
    /// TCP and TLS connections held, together at most `turn.max_allocations`.
    stream_slots: Arc<Semaphore>,
    /// Time a stream connection has to send its first complete message.
    first_message: Duration,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Embedded {
    /// Starts serving `sockets`. `media`: this node's media addresses, the only peers allowed
    /// besides `turn.allow_peers`. `https_port`: the HTTPS listener's port when TLS is configured
    /// (TURN over TLS is served there, see `serve_stream`).
    pub fn start(
        config: &Config,
        sockets: Sockets,
        secret: String,
        media: Vec<SocketAddr>,
        https_port: Option<u16>,
    ) -> std::io::Result<Embedded> {
        let cfg = &config.turn;
        let at = sockets.local_addr()?;
        let public_ips: Vec<IpAddr> = config
            .media
            .public_ips
            .iter()
            .filter_map(|ip| ip.parse().ok())
            .collect();
        let mut urls: Vec<String> = public_ips
            .iter()
            .flat_map(|ip| {
                let host = SocketAddr::new(*ip, at.port());
                ["udp", "tcp"].map(|t| format!("turn:{host}?transport={t}"))
            })
            .collect();
        if let Some(port) = https_port {
            match cfg.tls_url_host(&config.server.public_origins, port) {
                Some(host) => urls.push(format!("turns:{host}?transport=tcp")),
                None => tracing::warn!(
                    "TURN over TLS is served on the HTTPS port, but no turns: URL is offered: \
                     set turn.tls_host (or an https:// server.public_origins entry)"
                ),
            }
        }
        let turn = Arc::new(handler::Turn {
            creds: auth::Credentials::new(secret, cfg.realm.clone()),
            policy: peers::PeerPolicy::new(media, &cfg.allow_peers),
            table: allocation::Table::new(cfg.max_allocations_per_user, cfg.max_allocations),
            max_lifetime: cfg.max_lifetime_secs,
            relay_ip: at.ip(),
            public_ips,
            stats: stats::Stats::default(),
        });
        let udp = Arc::new(tokio::net::UdpSocket::from_std(sockets.udp)?);
        let tcp = tokio::net::TcpListener::from_std(sockets.tcp)?;
        let stream_slots = Arc::new(Semaphore::new(cfg.max_allocations as usize));
        // Like an ICE-TCP connection on the HTTP port: the same time to show it speaks the protocol.
        let first_message = Duration::from_secs(config.media.ice_tcp_handshake_timeout_secs);
        let tasks = vec![
            tokio::spawn(transport::udp_loop(turn.clone(), udp)),
            tokio::spawn(transport::tcp_loop(
                turn.clone(),
                tcp,
                stream_slots.clone(),
                first_message,
            )),
            tokio::spawn(transport::sweep_loop(turn.clone())),
        ];
        tracing::info!(%at, "TURN server listening (UDP and TCP)");
        Ok(Embedded {
            turn,
            urls,
            ttl_secs: cfg.credential_ttl_secs,
            stream_slots,
            first_message,
            tasks,
        })
    }

    /// A place for one more stream (TCP or TLS) connection, or None when `turn.max_allocations`
    /// of them are open: the caller closes the connection.
    pub fn stream_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.stream_slots.clone().try_acquire_owned().ok()
    }

    /// Serves TURN on a decrypted TLS connection from `peer` (RFC 8656's framing, as on TCP)
    /// until it ends; its allocation ends with it.
    pub async fn serve_tls<S>(&self, stream: S, peer: SocketAddr, slot: OwnedSemaphorePermit)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let client = allocation::Client::Tls(peer);
        transport::serve_stream(&self.turn, client, stream, self.first_message).await;
        self.turn.table.remove(&client);
        drop(slot);
    }

    /// The TURN entry of a participant's ICE servers, with a credential of its own.
    pub fn ice_server(&self, participant: &str, now_unix_secs: u64) -> IceServer {
        let (username, credential) = self
            .turn
            .creds
            .issue(participant, now_unix_secs + self.ttl_secs);
        IceServer {
            urls: self.urls.clone(),
            username: Some(username),
            credential: Some(credential),
        }
    }

    /// Allocations held now.
    pub fn allocations(&self) -> usize {
        self.turn.table.len()
    }

    /// The TURN families of /metrics.
    pub fn render_metrics(&self) -> String {
        self.turn.stats.render(self.turn.table.len())
    }

    /// Stops serving and frees every allocation.
    pub fn stop(&self) {
        for t in &self.tasks {
            t.abort();
        }
        self.turn.table.clear();
    }
}
