//! `[turn]`: the embedded TURN server (RFC 8656) that relays media for clients no direct path reaches.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnConfig {
    pub enabled: bool,
    /// UDP and TCP port of the TURN server, on the IP of `server.listen`; 0 picks a free one.
    pub listen_port: u16,
    /// REALM of the long-term credentials.
    pub realm: String,
    /// Secret the per-participant credentials are made from (coturn's REST scheme). Empty: one is
    /// generated and kept in the database, so that every node of a cluster and a restarted
    /// server accept the credentials handed out before.
    pub secret: String,
    /// Seconds a credential handed out in `joined` is valid. Allocations are refreshed with it,
    /// so a relayed call longer than this loses its relay (the client rejoins for new ones).
    pub credential_ttl_secs: u64,
    /// Allocations one participant may hold at once (a browser makes one per TURN URL and
    /// local interface, and again after an ICE restart).
    pub max_allocations_per_user: u32,
    /// Allocations this node holds at once, for everyone.
    pub max_allocations: u32,
    /// Longest lifetime an allocation gets per request, in seconds (RFC 8656's default is 3600);
    /// clients refresh before it ends.
    pub max_lifetime_secs: u32,
    /// Peer addresses (CIDRs, "203.0.113.0/24") the relay may reach besides this node's media
    /// addresses. A special-purpose address (loopback, private, link-local, ...) is reachable
    /// only through an entry at least as narrow as its IANA block: "0.0.0.0/0" opens the public
    /// internet, not 127.0.0.1 or 10.x.
    pub allow_peers: Vec<String>,
}

impl Default for TurnConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen_port: 3478,
            realm: "convene".into(),
            secret: String::new(),
            credential_ttl_secs: 86_400,
            max_allocations_per_user: 10,
            max_allocations: 1000,
            max_lifetime_secs: 3600,
            allow_peers: Vec::new(),
        }
    }
}

impl TurnConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| {
            Err(ConfigError::Invalid {
                key: key.into(),
                reason: why,
            })
        };
        // REALM is a quoted-string of under 128 characters (RFC 8489 14.9).
        if self.realm.is_empty()
            || self.realm.chars().count() >= 128
            || self.realm.contains(['"', '\\'])
        {
            return bad(
                "turn.realm",
                "must be 1 to 127 characters without quotes or backslashes".into(),
            );
        }
        if self.credential_ttl_secs == 0 {
            return bad("turn.credential_ttl_secs", "must be at least 1".into());
        }
        if self.max_allocations_per_user == 0 || self.max_allocations == 0 {
            return bad(
                "turn.max_allocations",
                "max_allocations and max_allocations_per_user must be at least 1".into(),
            );
        }
        if self.max_lifetime_secs == 0 {
            return bad("turn.max_lifetime_secs", "must be at least 1".into());
        }
        if let Some(p) = self
            .allow_peers
            .iter()
            .find(|p| crate::turn::cidr::Cidr::parse(p).is_none())
        {
            return bad(
                "turn.allow_peers",
                format!("`{p}` is not a CIDR like \"203.0.113.0/24\" or \"2001:db8::/32\""),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    fn key_of(c: &Config) -> Option<String> {
        match c.validate() {
            Err(ConfigError::Invalid { key, .. }) => Some(key),
            _ => None,
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut c = Config::default();
        c.turn.enabled = true;
        assert_eq!(key_of(&c), None);
        c.turn.allow_peers = vec!["10.0.0.1/8".into()];
        assert_eq!(key_of(&c).as_deref(), Some("turn.allow_peers"));
        c.turn.allow_peers = vec!["10.0.0.0/8".into(), "2001:db8::/32".into()];
        assert_eq!(key_of(&c), None);
        c.turn.realm = "a\"b".into();
        assert_eq!(key_of(&c).as_deref(), Some("turn.realm"));
        c.turn.realm = "convene".into();
        c.turn.max_allocations_per_user = 0;
        assert_eq!(key_of(&c).as_deref(), Some("turn.max_allocations"));
        c.turn.max_allocations_per_user = 1;
        c.turn.max_lifetime_secs = 0;
        assert_eq!(key_of(&c).as_deref(), Some("turn.max_lifetime_secs"));
        c.turn.max_lifetime_secs = 60;
        c.turn.credential_ttl_secs = 0;
        assert_eq!(key_of(&c).as_deref(), Some("turn.credential_ttl_secs"));
        c.turn.credential_ttl_secs = 60;
        c.media.enabled = false;
        assert_eq!(key_of(&c).as_deref(), Some("turn.enabled"));
    }
}
