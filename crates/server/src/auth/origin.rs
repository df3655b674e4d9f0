//! Cross-site request protection for requests that change state. A browser names the page that made
//! a request in `Origin` (or, failing that, `Referer`); a request from another site is refused. With
//! the session cookie at SameSite=Lax this closes cross-site form posts and `fetch`es alike.

use axum::http::{header, HeaderMap};

/// Whether a state-changing request may go on: its Origin (or Referer) is this server's own, or it
/// names none and carries no session cookie (a program, not a browser page acting for a visitor).
pub fn allowed(headers: &HeaderMap, has_cookie: bool) -> bool {
    let named = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match named {
        Some(url) => same_host(url, headers),
        None => !has_cookie,
    }
}

/// Whether `url`'s host and port are those the request was sent to (its Host header).
fn same_host(url: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        // `Origin: null` (a sandboxed frame, a file) and other schemes are never ours.
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_our_own_pages_change_state_with_a_cookie() {
        let host = (header::HOST, "meet.example.org:8443");
        let ours = headers(&[
            host.clone(),
            (header::ORIGIN, "https://meet.example.org:8443"),
        ]);
        assert!(allowed(&ours, true));
        let theirs = headers(&[host.clone(), (header::ORIGIN, "https://evil.example")]);
        assert!(!allowed(&theirs, true));
        assert!(!allowed(&theirs, false), "not even to sign in (login CSRF)");
        let port = headers(&[host.clone(), (header::ORIGIN, "https://meet.example.org")]);
        assert!(!allowed(&port, true));
        let null = headers(&[host.clone(), (header::ORIGIN, "null")]);
        assert!(!allowed(&null, true));
        let referer = headers(&[
            host.clone(),
            (header::REFERER, "https://meet.example.org:8443/r/team?x=1"),
        ]);
        assert!(allowed(&referer, true));
        let nothing = headers(&[host]);
        assert!(!allowed(&nothing, true), "a cookie without a page: refused");
        assert!(allowed(&nothing, false), "a program without a cookie");
    }
}
