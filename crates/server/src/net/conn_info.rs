//! What the listener knows about a connection, handed to every request on it as an extension.

#[derive(Debug, Clone, Copy, Default)]
pub struct ConnInfo {
    /// The request came over TLS.
    pub tls: bool,
    /// Plain HTTP on a port that serves TLS: the app is redirected to HTTPS.
    pub plain_on_tls_port: bool,
    /// Send Strict-Transport-Security (TLS from certificate files, not a self-signed trial).
    pub hsts: bool,
}
