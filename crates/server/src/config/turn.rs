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
    /// Host (`name` or `name:port`) of the `turns:` URL that offers TURN over TLS on the HTTPS
    /// port; it must match the certificate's name. Empty: the host and port of the first
    /// `https://` entry of `server.public_origins`; with none, no `turns:` URL is offered (TURN over
    /// TLS is still served). A `name` without a port gets the HTTPS listener's port.
    pub tls_host: String,
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
            tls_host: String::new(),
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
        if !self.tls_host.is_empty() && host_port(&self.tls_host).is_none() {
            return bad(
                "turn.tls_host",
                format!(
                    "`{}` is not a host name or host:port like \"meet.example.org\" or \"meet.example.org:443\"",
                    self.tls_host
                ),
            );
        }
        Ok(())
    }

    /// The host and port of the `turns:` URL: `tls_host`, else the first `https://` origin of
    /// `public_origins`; `listen_port` when neither names a port.
    pub fn tls_url_host(&self, public_origins: &[String], listen_port: u16) -> Option<String> {
        let (host, port) = match self.tls_host.is_empty() {
            false => host_port(&self.tls_host)?,
            true => {
                let origin = public_origins
                    .iter()
                    .find_map(|o| o.strip_prefix("https://"))?;
                let (host, port) = host_port(origin.trim_end_matches('/'))?;
                // An https origin without a port is on 443.
                (host, port.or(Some(443)))
            }
        };
        Some(format!("{host}:{}", port.unwrap_or(listen_port)))
    }
}

/// `name`, `name:port`, `[v6]` or `[v6]:port`: a host a certificate can name, no scheme or path.
fn host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => (h, Some(p.parse::<u16>().ok()?)),
        _ => (s, None),
    };
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if host.is_empty() || !host.chars().all(ok_char) || port == Some(0) {
        return None;
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return None;
    }
    Some((host, port))
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
        c.media.enabled = true;
        for bad in [
            "https://meet.example.org",
            "meet/x",
            "meet:0",
            "meet:x",
            "a b",
            "::1",
        ] {
            c.turn.tls_host = bad.into();
            assert_eq!(key_of(&c).as_deref(), Some("turn.tls_host"), "{bad}");
        }
        c.turn.tls_host = "meet.example.org".into();
        assert_eq!(
            key_of(&c).as_deref(),
            Some("turn.tls_host"),
            "no TLS configured"
        );
        c.tls.self_signed = true;
        for good in [
            "meet.example.org",
            "meet.example.org:8443",
            "[::1]:443",
            "127.0.0.1",
        ] {
            c.turn.tls_host = good.into();
            assert_eq!(key_of(&c), None, "{good}");
        }
    }

    #[test]
    fn the_turns_host_comes_from_tls_host_or_the_https_origin() {
        let mut t = crate::config::TurnConfig::default();
        let origins = vec![
            "http://plain.example.org".to_owned(),
            "https://meet.example.org".to_owned(),
        ];
        assert_eq!(
            t.tls_url_host(&origins, 8443).as_deref(),
            Some("meet.example.org:443")
        );
        let ported = vec!["https://meet.example.org:8443/".to_owned()];
        assert_eq!(
            t.tls_url_host(&ported, 9000).as_deref(),
            Some("meet.example.org:8443")
        );
        assert_eq!(t.tls_url_host(&origins[..1], 8443), None);
        t.tls_host = "turn.example.org".into();
        assert_eq!(
            t.tls_url_host(&origins, 8443).as_deref(),
            Some("turn.example.org:8443")
        );
        t.tls_host = "turn.example.org:443".into();
        assert_eq!(
            t.tls_url_host(&origins, 8443).as_deref(),
            Some("turn.example.org:443")
        );
    }
}
