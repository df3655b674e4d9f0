//! The STUN/TURN servers handed to clients in `joined`: static credentials, or ephemeral ones made from
//! a shared secret the way coturn's `use-auth-secret` expects (TURN REST API draft): username
//! `<expiry unix seconds>:<participant>`, password base64(HMAC-SHA1(secret, username)).

use base64::Engine;
use convene_proto::IceServer;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::config::MediaConfig;

/// STUN first, then the embedded TURN server, then external TURN servers. The order decides no
/// path: ICE ranks candidates by type (host, then server-reflexive, then relayed) whatever the
/// servers' order, so a direct path wins whenever one works.
pub fn for_participant(
    cfg: &MediaConfig,
    embedded: Option<&crate::turn::Embedded>,
    participant: &str,
    now_unix_secs: u64,
) -> Vec<IceServer> {
    let mut servers = Vec::new();
    if !cfg.stun_urls.is_empty() {
        servers.push(IceServer {
            urls: cfg.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if let Some(t) = embedded {
        servers.push(t.ice_server(participant, now_unix_secs));
    }
    if !cfg.turn_urls.is_empty() {
        let (username, credential) = if !cfg.turn_secret.is_empty() {
            let username = format!("{}:{participant}", now_unix_secs + cfg.turn_ttl_secs);
            let credential = turn_password(&cfg.turn_secret, &username);
            (username, credential)
        } else {
            (cfg.turn_username.clone(), cfg.turn_credential.clone())
        };
        servers.push(IceServer {
            urls: cfg.turn_urls.clone(),
            username: Some(username),
            credential: Some(credential),
        });
    }
    servers
}

pub fn turn_password(secret: &str, username: &str) -> String {
    // HMAC accepts keys of any length.
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeral_credentials_match_coturn() {
        let mut cfg = MediaConfig {
            turn_urls: vec!["turn:turn.example.org:3478?transport=udp".into()],
            turn_secret: "secret".into(),
            turn_ttl_secs: 3600,
            ..MediaConfig::default()
        };
        let s = for_participant(&cfg, None, "p_x", 1_699_996_400);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].username.as_deref(), Some("1700000000:p_x"));
        // Test vector made with Python's hmac module, independently of this code:
        // base64(hmac.new(b'secret', b'1700000000:p_x', hashlib.sha1).digest())
        let expected = "HEW8pHGqTlZBwbnH4pwu0wr0gvg=";
        assert_eq!(s[0].credential.as_deref(), Some(expected));
        cfg.turn_secret.clear();
        cfg.turn_username = "u".into();
        cfg.turn_credential = "c".into();
        cfg.stun_urls = vec!["stun:stun.example.org:3478".into()];
        let s = for_participant(&cfg, None, "p_x", 0);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].credential.as_deref(), Some("c"));
    }
}
