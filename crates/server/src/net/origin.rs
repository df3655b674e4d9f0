//! Which page origins may open `/ws`. A browser sends `Origin` with every WebSocket handshake and a
//! page cannot forge it; without this check a page on any site could join meetings through a
//! visitor's browser (cross-site WebSocket hijacking).

/// `scheme://host[:port]` in lower case without the scheme's default port, or None when `origin` is
/// not an http(s) origin (a path, a query, user info or an odd scheme).
pub fn normalize(origin: &str) -> Option<String> {
    let origin = origin.trim().to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    let default_port = match scheme {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let authority = normalize_authority(rest, default_port)?;
    Some(format!("{scheme}://{authority}"))
}

/// `host[:port]` without the default port; None when it holds a path, user info or nothing.
fn normalize_authority(authority: &str, default_port: &str) -> Option<String> {
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    // An IPv6 literal holds colons of its own: the port follows the closing bracket.
    let port_at = match authority.rfind(']') {
        Some(end) => authority[end..].find(':').map(|i| end + i),
        None => authority.rfind(':'),
    };
    match port_at {
        Some(i) => {
            let (host, port) = (&authority[..i], &authority[i + 1..]);
            if host.is_empty() || port.parse::<u16>().is_err() {
                return None;
            }
            Some(if port == default_port {
                host.to_owned()
            } else {
                authority.to_owned()
            })
        }
        None => Some(authority.to_owned()),
    }
}

/// True when a WebSocket handshake with this `Origin` may go on. `host` is the request's Host
/// header, `tls` whether the request came over TLS, `allowed` the normalized configured origins.
pub fn allowed(origin: &str, host: Option<&str>, tls: bool, allowed: &[String]) -> bool {
    let Some(origin) = normalize(origin) else {
        // "null" (a sandboxed or file: page) or garbage: no site we know.
        return false;
    };
    if allowed.contains(&origin) {
        return true;
    }
    let scheme = if tls { "https" } else { "http" };
    let default_port = if tls { "443" } else { "80" };
    let Some(own) = host.and_then(|h| normalize_authority(&h.to_ascii_lowercase(), default_port))
    else {
        return false;
    };
    origin == format!("{scheme}://{own}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_origins() {
        assert_eq!(
            normalize("HTTPS://Meet.Example.org:443").as_deref(),
            Some("https://meet.example.org")
        );
        assert_eq!(
            normalize("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            normalize("http://[::1]:80").as_deref(),
            Some("http://[::1]")
        );
        for bad in [
            "meet.example.org",
            "ftp://x",
            "https://x/path",
            "https://u@x",
            "https://x:99999",
            "https://",
            "null",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    #[test]
    fn same_origin_means_same_scheme_and_host() {
        let none: &[String] = &[];
        assert!(allowed(
            "http://a.test:8080",
            Some("a.test:8080"),
            false,
            none
        ));
        assert!(allowed("https://a.test", Some("A.test:443"), true, none));
        assert!(
            !allowed("http://a.test", Some("a.test"), true, none),
            "scheme"
        );
        assert!(
            !allowed("https://a.test", Some("a.test"), false, none),
            "scheme"
        );
        assert!(!allowed(
            "http://b.test:8080",
            Some("a.test:8080"),
            false,
            none
        ));
        assert!(!allowed(
            "http://a.test:8081",
            Some("a.test:8080"),
            false,
            none
        ));
        assert!(!allowed("http://a.test", None, false, none));
        assert!(!allowed("null", Some("a.test"), false, none));
        let list = vec!["https://meet.example.org".to_owned()];
        assert!(allowed(
            "https://meet.example.org",
            Some("10.0.0.5:8080"),
            false,
            &list
        ));
        assert!(!allowed(
            "http://meet.example.org",
            Some("10.0.0.5:8080"),
            false,
            &list
        ));
    }
}
