//! `[connections]`: how many TCP connections the HTTP port (HTTP, WebSockets, ICE-TCP) holds open.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionsConfig {
    /// Connections open at once for everything; 0: sized from the open-file limit the process got.
    pub max_total: u32,
    /// Connections one address (an IPv6 /64) may hold open; 0: no limit. Loopback is exempt when
    /// `limits.exempt_loopback` is.
    pub max_per_address: u32,
    /// Connections accepted beyond `max_total` that may only ask for health, readiness, metrics
    /// and the REST API with an `Authorization` header; each serves one request.
    pub reserve: u32,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            max_total: 0,
            // An office behind one NAT: 50 guests (limits.guest_seats_per_address) with a
            // WebSocket, an ICE-TCP connection and a few HTTP keep-alive connections each.
            max_per_address: 256,
            reserve: 16,
        }
    }
}

impl ConnectionsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.reserve == 0 {
            return Err(ConfigError::Invalid {
                key: "connections.reserve".into(),
                reason: "must be at least 1: health checks must reach a full server".into(),
            });
        }
        Ok(())
    }
}
