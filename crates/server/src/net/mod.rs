//! Sockets.

pub mod listener;

/// The address a request came from, put in each request's extensions by the listener.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub std::net::SocketAddr);
