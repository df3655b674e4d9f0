//! Signing a delivery, as Stripe's and Svix's receivers know it: `Convene-Signature: t=TIME,v1=HEX`,
//! where HEX is HMAC-SHA256 with the endpoint's secret over `TIME.BODY` (TIME in Unix seconds). The
//! receiver recomputes it, compares in constant time, and refuses a TIME too far from its clock, so
//! a captured delivery cannot be replayed later (docs/webhooks.md has a verification example).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const HEADER: &str = "convene-signature";

fn mac(secret: &str, ts: u64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(ts.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The header's value for `body` sent at `ts`.
pub fn signature(secret: &str, ts: u64, body: &[u8]) -> String {
    let tag = mac(secret, ts, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={ts},v1={hex}")
}

/// Whether `header` signs `body` with `secret`, at a time within `tolerance_secs` of `now`: what a
/// receiver does (and what the tests do).
pub fn verify(secret: &str, header: &str, body: &[u8], now: u64, tolerance_secs: u64) -> bool {
    let mut ts = None;
    let mut tag = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => ts = v.parse::<u64>().ok(),
            Some(("v1", v)) => tag = decode_hex(v),
            _ => {}
        }
    }
    let (Some(ts), Some(tag)) = (ts, tag) else {
        return false;
    };
    if ts.abs_diff(now) > tolerance_secs {
        return false;
    }
    // `verify_slice` compares in constant time.
    mac(secret, ts, body).verify_slice(&tag).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_nothing_else_does() {
        let body = br#"{"id":"ev_1"}"#;
        let h = signature("whsec_0123456789abcdef", 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="));
        assert!(verify(
            "whsec_0123456789abcdef",
            &h,
            body,
            1_700_000_100,
            300
        ));
        assert!(!verify("another secret!!!!", &h, body, 1_700_000_100, 300));
        assert!(!verify(
            "whsec_0123456789abcdef",
            &h,
            b"{}",
            1_700_000_100,
            300
        ));
        assert!(
            !verify("whsec_0123456789abcdef", &h, body, 1_700_001_000, 300),
            "too old: a replay"
        );
        assert!(!verify("whsec_0123456789abcdef", "t=1,v1=zz", body, 1, 300));
        assert!(!verify("whsec_0123456789abcdef", "garbage", body, 1, 300));
    }
}
