//! Where a webhook may go. A webhook URL is given by a configuration file or by an API caller, and the
//! server connects to it: left unchecked, it reaches the server's own network (the database, a cloud
//! metadata service at 169.254.169.254, admin pages on loopback). So an endpoint's host is resolved
//! and every address checked, at registration and again at each delivery (a name can start resolving
//! elsewhere), and the connection goes to a checked address, never to a name resolved again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A webhook URL, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Why a delivery cannot go to a URL.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("{0}")]
    Malformed(&'static str),
    #[error("{host} cannot be resolved")]
    Unresolved { host: String },
    #[error(
        "{host} is {addr}, a loopback, link-local or private address: webhooks go to public \
         addresses only (webhooks.allow_private lets them go there)"
    )]
    Private { host: String, addr: IpAddr },
}

/// `http(s)://host[:port]/path?query`: no user info, no fragment.
pub fn parse_url(url: &str) -> Result<Target, TargetError> {
    let bad = |why| Err(TargetError::Malformed(why));
    if url.len() > 2048 {
        return bad("the URL is over 2048 bytes");
    }
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return bad("the URL must start with https:// or http://");
    };
    if url.contains('#') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("the URL has a fragment, spaces or control characters");
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    if authority.contains('@') {
        return bad("the URL must not carry a user name or password");
    }
    let (host, port) = split_host_port(authority)?;
    if host.is_empty() {
        return bad("the URL has no host");
    }
    Ok(Target {
        https,
        host,
        port: port.unwrap_or(if https { 443 } else { 80 }),
        path,
    })
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), TargetError> {
    let bad_port = || TargetError::Malformed("the URL's port is not a number from 1 to 65535");
    let port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(bad_port()),
    };
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or(TargetError::Malformed("the URL's IPv6 address lacks its ]"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host.to_owned(), port(p)?)),
            None if after.is_empty() => Ok((host.to_owned(), None)),
            None => Err(bad_port()),
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Ok((h.to_ascii_lowercase(), port(p)?)),
        None => Ok((authority.to_ascii_lowercase(), None)),
    }
}

/// Addresses a webhook must not reach unless allowed: loopback, private (RFC 1918, unique local),
/// link-local, carrier-grade NAT, unspecified, multicast, broadcast, documentation and the like.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private_v4(v4),
            None => private_v6(v6),
        },
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Carrier-grade NAT (100.64.0.0/10) and the IETF protocol block (192.0.0.0/24).
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        // Benchmarking (198.18.0.0/15) and reserved (240.0.0.0/4).
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local (fc00::/7) and link-local (fe80::/10).
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // Documentation (2001:db8::/32).
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
}

/// The addresses a delivery to `t` may connect to: all that `t.host` resolves to, each checked.
/// One private address among them refuses the whole name (it could be chosen next time).
pub async fn resolve(t: &Target, allow_private: bool) -> Result<Vec<SocketAddr>, TargetError> {
    let unresolved = || TargetError::Unresolved {
        host: t.host.clone(),
    };
    let addrs: Vec<SocketAddr> = match t.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, t.port)],
        Err(_) => tokio::net::lookup_host((t.host.as_str(), t.port))
            .await
            .map_err(|_| unresolved())?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(unresolved());
    }
    if !allow_private {
        if let Some(a) = addrs.iter().find(|a| is_private(a.ip())) {
            return Err(TargetError::Private {
                host: t.host.clone(),
                addr: a.ip(),
            });
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_taken_apart_and_odd_ones_refused() {
        let t = parse_url("https://Hooks.Example.org/in?x=1").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (true, "hooks.example.org", 443, "/in?x=1")
        );
        let t = parse_url("http://[::1]:8080").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 8080, "/")
        );
        let t = parse_url("http://example.org?q").unwrap();
        assert_eq!(t.path, "/?q");
        for bad in [
            "ftp://example.org/",
            "https://user:pw@example.org/",
            "https://example.org:0/",
            "https://example.org:99999/",
            "https://example.org/#frag",
            "https:///path",
            "https://exa mple.org/",
            "https://[::1/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn internal_addresses_are_private_and_public_ones_are_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.215.14",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let t = parse_url("http://127.0.0.1:9/hook").unwrap();
        assert!(matches!(
            resolve(&t, false).await,
            Err(TargetError::Private { .. })
        ));
        assert_eq!(resolve(&t, true).await.unwrap().len(), 1);
        let named = parse_url("http://localhost:9/hook").unwrap();
        assert!(matches!(
            resolve(&named, false).await,
            Err(TargetError::Private { .. })
        ));
    }
}
