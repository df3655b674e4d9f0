//! Access tokens (JWT) as `join` presents them (auth/tokens.rs `verify`), and the server's other
//! tokens (resume tokens, file tokens). An input is either a token as sent, or a header and claims
//! that the target signs with one of the server's keys (or with a key it does not have), so that
//! the fuzzer reaches the claims' parsing and checks behind the signature.
#![no_main]

use base64::Engine;
use convene_fuzz::bytes::Bytes;
use convene_server::auth::tokens;
use convene_server::config::AuthConfig;
use convene_server::rooms::resume::ResumeKey;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const OTHER_SECRET: &str = "fedcba9876543210fedcba9876543210";
const DEFAULT_HEADER: &[u8] = br#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#;

fn config() -> AuthConfig {
    AuthConfig {
        token_keys: vec![format!("k1:{SECRET}"), format!("k2:{SECRET}-two")],
        ..AuthConfig::default()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.claims.signature`, HS256 with `secret`.
fn signed(header: &[u8], claims: &[u8], secret: &str) -> String {
    let body = format!("{}.{}", b64(header), b64(claims));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body.as_bytes());
    format!("{body}.{}", b64(&mac.finalize().into_bytes()))
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let mode = b.u8() % 4;
    // The join's room, canonical as the session makes it before it checks the token.
    let room_raw = String::from_utf8_lossy(b.until(0)).into_owned();
    let room = convene_server::validate::canonical_room_name(&room_raw);
    let config = config();
    let (token, forged) = match mode {
        0 => (String::from_utf8_lossy(b.rest()).into_owned(), false),
        1 => (signed(DEFAULT_HEADER, b.rest(), SECRET), false),
        2 => {
            let header = b.until(0);
            (signed(header, b.rest(), SECRET), false)
        }
        _ => (signed(DEFAULT_HEADER, b.rest(), OTHER_SECRET), true),
    };
    match tokens::verify(&config, &token, &room) {
        Ok(claims) => {
            assert!(!forged, "a token signed with a key the server lacks verified");
            assert_eq!(convene_server::validate::canonical_room_name(&claims.room), room);
            assert!(!claims.sub.is_empty() && claims.sub.len() <= 128);
            assert!(claims.grants.join);
        }
        Err(e) => {
            // A refusal is a client error with its code, never an internal one.
            assert!(
                !matches!(e, convene_server::error::ServerError::Internal(_)),
                "internal error for a bad token: {e}"
            );
        }
    }
    if mode == 0 {
        let key = ResumeKey::new(SECRET);
        let _ = key.verify(&token);
        let _ = convene_server::files::token::verify(&key, &token, 1_800_000_000);
    }
});
