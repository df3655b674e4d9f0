//! Browser sign-in sessions: a random token in an HttpOnly cookie; the database keeps its SHA-256 only.

use axum::http::{header, HeaderMap};
use base64::Engine;
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "convene_session";

/// A fresh session token: 256 random bits, URL-safe base64.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token. A fast hash is right here: the token is 256 random bits, so
/// there is nothing to guess, and every signed-in request computes it.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The session token from the request's cookies, if any.
pub fn from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The Set-Cookie value that signs a browser in for `max_age_secs`. HttpOnly: no script reads it;
/// SameSite=Lax: other sites' requests do not carry it, except top-level navigations; Secure under TLS.
pub fn set_cookie(token: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// The Set-Cookie value that signs a browser out.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_round_trip() {
        let t = new_token();
        assert_eq!(t.len(), 43);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("a=1; {COOKIE}={t}; b=2").parse().unwrap(),
        );
        assert_eq!(from_headers(&h).as_deref(), Some(t.as_str()));
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), token_hash(&new_token()));
        let c = set_cookie(&t, 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("Secure"));
        assert!(!set_cookie(&t, 60, false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
        assert!(from_headers(&HeaderMap::new()).is_none());
    }
}
