//! What the listener knows about a connection, handed to every request on it as an extension.

#[derive(Debug, Clone, Copy, Default)]
pub struct ConnInfo {
    /// Where the connection comes from (for limits per address).
    pub peer: Option<std::net::SocketAddr>,
    /// The request came over TLS.
    pub tls: bool,
    /// Plain HTTP on a port that serves TLS: the app is redirected to HTTPS.
    pub plain_on_tls_port: bool,
    /// Send Strict-Transport-Security (TLS from certificate files, not a self-signed trial).
    pub hsts: bool,
    /// The capacity it was admitted on: the reserve serves operations only (net/reserve.rs).
    pub slot: super::admission::Slot,
}

impl ConnInfo {
    /// The peer's address, or the unspecified address when not known (requests made in-process).
    pub fn peer_ip(conn: Option<&ConnInfo>) -> std::net::IpAddr {
        conn.and_then(|c| c.peer)
            .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |p| p.ip())
    }
}
