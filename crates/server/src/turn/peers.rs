//! Which peers the relay may reach: this node's media addresses (exactly, port included), and what
//! `turn.allow_peers` opens. Everything else is refused with 403, so that the relay cannot be
//! used to reach this machine's other services or the operator's network.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use super::cidr::Cidr;
use super::special;

#[derive(Debug, Clone)]
pub struct PeerPolicy {
    media: HashSet<SocketAddr>,
    allow: Vec<Cidr>,
}

/// Why a peer is refused, for the log and the error reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Special(&'static str),
    NotOurMedia,
}

impl PeerPolicy {
    /// `media`: the addresses this node's media is reached at (its UDP socket and each public IP
    /// with the media port); unspecified ones (0.0.0.0) are left out, they name no peer.
    /// `allow`: `turn.allow_peers`, checked by the configuration (a bad entry is skipped here).
    pub fn new(media: impl IntoIterator<Item = SocketAddr>, allow: &[String]) -> PeerPolicy {
        PeerPolicy {
            media: media
                .into_iter()
                .filter(|a| !a.ip().is_unspecified())
                .map(|a| SocketAddr::new(special::canonical(a.ip()), a.port()))
                .collect(),
            allow: allow.iter().filter_map(|s| Cidr::parse(s)).collect(),
        }
    }

    pub fn check(&self, peer: SocketAddr) -> Result<(), Refusal> {
        let ip = special::canonical(peer.ip());
        if self.media.contains(&SocketAddr::new(ip, peer.port())) {
            return Ok(());
        }
        match special::classify(ip) {
            Some(s) if self.opens(ip, Some(s.block.prefix)) => Ok(()),
            Some(s) => Err(Refusal::Special(s.name)),
            None if self.opens(ip, None) => Ok(()),
            None => Err(Refusal::NotOurMedia),
        }
    }

    /// Whether an `allow_peers` entry holds `ip`; for a special-purpose address, only an entry at
    /// least as narrow as its block (so "0.0.0.0/0" does not open loopback).
    fn opens(&self, ip: IpAddr, block_prefix: Option<u8>) -> bool {
        self.allow
            .iter()
            .filter(|c| block_prefix.is_none_or(|p| c.prefix >= p))
            .any(|c| c.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn our_media_address_is_allowed_even_on_loopback() {
        let p = PeerPolicy::new([a("127.0.0.1:40000"), a("0.0.0.0:40000")], &[]);
        assert_eq!(p.check(a("127.0.0.1:40000")), Ok(()));
        assert_eq!(p.check(a("[::ffff:127.0.0.1]:40000")), Ok(()));
        assert_eq!(
            p.check(a("127.0.0.1:40001")),
            Err(Refusal::Special("loopback"))
        );
        assert_eq!(
            p.check(a("[::ffff:127.0.0.1]:22")),
            Err(Refusal::Special("loopback"))
        );
        assert_eq!(p.check(a("[::1]:40000")), Err(Refusal::Special("loopback")));
        assert_eq!(
            p.check(a("0.0.0.0:40000")),
            Err(Refusal::Special("this network")),
            "an unspecified media address names no peer"
        );
        assert_eq!(p.check(a("8.8.8.8:40000")), Err(Refusal::NotOurMedia));
    }

    #[test]
    fn refuses_special_purpose_peers_by_default() {
        let p = PeerPolicy::new([a("203.0.113.7:3478")], &[]);
        for peer in [
            "10.0.0.1:5000",
            "169.254.1.1:5000",
            "224.0.0.1:5000",
            "[::ffff:10.0.0.1]:5000",
            "[64:ff9b::7f00:1]:5000",
            "[2002:7f00:1::1]:5000",
            "[fe80::1]:5000",
            "[ff02::1]:5000",
            "[::]:5000",
        ] {
            assert!(
                matches!(p.check(a(peer)), Err(Refusal::Special(_))),
                "{peer}"
            );
        }
        // Our public media address is allowed although it is in a documentation block.
        assert_eq!(p.check(a("203.0.113.7:3478")), Ok(()));
    }

    #[test]
    fn allow_peers_opens_only_what_it_names() {
        let p = PeerPolicy::new(
            [],
            &["0.0.0.0/0".into(), "10.1.0.0/16".into(), "::/0".into()],
        );
        assert_eq!(p.check(a("8.8.8.8:1")), Ok(()));
        assert_eq!(p.check(a("[2a00:1450::1]:1")), Ok(()));
        assert_eq!(p.check(a("10.1.2.3:1")), Ok(()), "narrower than 10/8");
        // A catch-all opens no special-purpose block.
        assert_eq!(p.check(a("10.2.0.1:1")), Err(Refusal::Special("private")));
        assert_eq!(p.check(a("127.0.0.1:1")), Err(Refusal::Special("loopback")));
        assert_eq!(p.check(a("[::1]:1")), Err(Refusal::Special("loopback")));
        assert_eq!(
            p.check(a("[::ffff:127.0.0.1]:1")),
            Err(Refusal::Special("loopback"))
        );
        let lo = PeerPolicy::new([], &["127.0.0.0/8".into()]);
        assert_eq!(lo.check(a("127.0.0.1:9")), Ok(()));
        assert_eq!(lo.check(a("8.8.8.8:9")), Err(Refusal::NotOurMedia));
    }
}
