//! Cross-site request protection for requests that change state. A browser names the page that made
//! a request in `Origin` (or, failing that, `Referer`); a request from a page that is not this
//! server's own (or one of `server.public_origins`) is refused. With the session cookie at
//! SameSite=Lax this closes cross-site form posts and `fetch`es alike. The origin rules are the
//! WebSocket check's (`net::origin`), so both agree on what "our own pages" means.

use axum::http::{header, HeaderMap};
use convene_proto::ErrorCode;

use crate::error::ServerError;
use crate::net::{origin, ConnInfo};
use crate::state::AppState;

/// Refuses a state-changing request that another site's page made; also one that names no page
/// but carries the session cookie (a browser always names the page of a cookie request it sends).
pub fn guard(
    state: &AppState,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
) -> Result<(), ServerError> {
    let has_cookie = super::token::from_headers(headers).is_some();
    let tls = conn.is_some_and(|c| c.tls);
    if allowed(
        headers,
        has_cookie,
        tls,
        &state.config.server.public_origins,
    ) {
        Ok(())
    } else {
        Err(ServerError::client(
            ErrorCode::Forbidden,
            "refused: the request came from another site",
        ))
    }
}

fn allowed(headers: &HeaderMap, has_cookie: bool, tls: bool, public: &[String]) -> bool {
    let page = match headers.get(header::ORIGIN) {
        Some(o) => o.to_str().ok().map(str::to_owned),
        None => headers
            .get(header::REFERER)
            .and_then(|r| r.to_str().ok())
            .map(origin_of),
    };
    let Some(page) = page else {
        return !has_cookie;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let configured: Vec<String> = public.iter().filter_map(|o| origin::normalize(o)).collect();
    origin::allowed(&page, host, tls, &configured)
}

/// `scheme://authority` of a URL (a Referer names the whole page).
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            format!("{scheme}://{authority}")
        }
        None => url.to_owned(),
    }
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
        assert!(allowed(&ours, true, true, &[]));
        assert!(!allowed(&ours, true, false, &[]), "the scheme counts");
        let theirs = headers(&[host.clone(), (header::ORIGIN, "https://evil.example")]);
        assert!(!allowed(&theirs, true, true, &[]));
        assert!(!allowed(&theirs, false, true, &[]), "not even to sign in");
        assert!(
            allowed(&theirs, true, true, &["https://evil.example".into()]),
            "listed"
        );
        let null = headers(&[host.clone(), (header::ORIGIN, "null")]);
        assert!(!allowed(&null, true, true, &[]));
        let referer = headers(&[
            host.clone(),
            (header::REFERER, "https://meet.example.org:8443/r/team?x=1"),
        ]);
        assert!(allowed(&referer, true, true, &[]));
        let nothing = headers(&[host]);
        assert!(
            !allowed(&nothing, true, true, &[]),
            "a cookie without a page"
        );
        assert!(
            allowed(&nothing, false, true, &[]),
            "a program without a cookie"
        );
    }
}
