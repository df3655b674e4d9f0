//! Signing a fuzzed STUN message as a participant's client would, so that the fuzzer reaches past
//! the MESSAGE-INTEGRITY check into the ICE agent (RFC 8489 §14.5 and §14.7).

use hmac::{Hmac, Mac};
use sha1::Sha1;

const USERNAME: u16 = 0x0006;
const MESSAGE_INTEGRITY: u16 = 0x0008;
const FINGERPRINT: u16 = 0x8028;
const COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// `msg` with its USERNAME set to `username` (added first if it had none), its attributes cut at
/// any MESSAGE-INTEGRITY or FINGERPRINT, then a MESSAGE-INTEGRITY keyed with `password` and a
/// FINGERPRINT appended. Attributes that do not fit are dropped.
pub fn sign(msg: &[u8], username: &str, password: &str) -> Vec<u8> {
    let mut header = [0u8; 20];
    let n = msg.len().min(20);
    header[..n].copy_from_slice(&msg[..n]);
    header[0] &= 0x3f;
    header[4..8].copy_from_slice(&COOKIE);
    let mut attrs = Vec::new();
    let mut named = false;
    let mut at = 20;
    while at + 4 <= msg.len() {
        let ty = u16::from_be_bytes([msg[at], msg[at + 1]]);
        let len = u16::from_be_bytes([msg[at + 2], msg[at + 3]]) as usize;
        let Some(value) = msg.get(at + 4..at + 4 + len) else {
            break;
        };
        if ty == MESSAGE_INTEGRITY || ty == FINGERPRINT {
            break;
        }
        if ty == USERNAME {
            named = true;
            push_attr(&mut attrs, USERNAME, username.as_bytes());
        } else {
            push_attr(&mut attrs, ty, value);
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    if !named {
        let mut first = Vec::new();
        push_attr(&mut first, USERNAME, username.as_bytes());
        first.extend_from_slice(&attrs);
        attrs = first;
    }
    let mut out = header.to_vec();
    out.extend_from_slice(&attrs);
    // MESSAGE-INTEGRITY: the length field counts up to and including it.
    set_length(&mut out, attrs.len() + 24);
    let mut mac = Hmac::<Sha1>::new_from_slice(password.as_bytes()).expect("HMAC takes any key");
    mac.update(&out);
    let tag = mac.finalize().into_bytes();
    push_attr(&mut out, MESSAGE_INTEGRITY, &tag);
    set_length(&mut out, attrs.len() + 24 + 8);
    let crc = crc32fast::hash(&out) ^ 0x5354_554e;
    push_attr(&mut out, FINGERPRINT, &crc.to_be_bytes());
    out
}

fn push_attr(out: &mut Vec<u8>, ty: u16, value: &[u8]) {
    let value = &value[..value.len().min(u16::MAX as usize - 3)];
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

fn set_length(msg: &mut [u8], len: usize) {
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    msg[2..4].copy_from_slice(&len.to_be_bytes());
}
