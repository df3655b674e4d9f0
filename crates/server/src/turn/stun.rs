//! The STUN message codec (RFC 8489) with the TURN attributes (RFC 8656) the relay needs.
//!
//! Why our own codec: str0m's (the `is` crate) parses only the attributes its ICE agent uses and
//! drops the rest, so a server on it could neither read REQUESTED-TRANSPORT nor answer an unknown
//! comprehension-required attribute (EVEN-PORT, DONT-FRAGMENT, ...) with 420 as RFC 8489 asks;
//! webrtc-rs's `stun` crate would bring its own runtime stack (webrtc-util, ring) for ~300 lines.
//! Every length is checked before it is used: the input comes from anyone on the network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub const MAGIC: u32 = 0x2112_A442;
pub const HEADER: usize = 20;

pub mod method {
    pub const BINDING: u16 = 0x001;
    pub const ALLOCATE: u16 = 0x003;
    pub const REFRESH: u16 = 0x004;
    pub const SEND: u16 = 0x006;
    pub const DATA: u16 = 0x007;
    pub const CREATE_PERMISSION: u16 = 0x008;
    pub const CHANNEL_BIND: u16 = 0x009;
}

pub mod attr {
    pub const USERNAME: u16 = 0x0006;
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    pub const ERROR_CODE: u16 = 0x0009;
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    pub const LIFETIME: u16 = 0x000D;
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    pub const DATA: u16 = 0x0013;
    pub const REALM: u16 = 0x0014;
    pub const NONCE: u16 = 0x0015;
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    pub const SOFTWARE: u16 = 0x8022;
    pub const FINGERPRINT: u16 = 0x8028;
}

/// The comprehension-required attributes (below 0x8000) this server understands; any other in a
/// request is answered with 420 Unknown Attribute.
const KNOWN: &[u16] = &[
    attr::USERNAME,
    attr::MESSAGE_INTEGRITY,
    attr::ERROR_CODE,
    attr::UNKNOWN_ATTRIBUTES,
    attr::CHANNEL_NUMBER,
    attr::LIFETIME,
    attr::XOR_PEER_ADDRESS,
    attr::DATA,
    attr::REALM,
    attr::NONCE,
    attr::XOR_RELAYED_ADDRESS,
    attr::REQUESTED_ADDRESS_FAMILY,
    attr::REQUESTED_TRANSPORT,
    attr::XOR_MAPPED_ADDRESS,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Request,
    Indication,
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not a STUN message")]
    NotStun,
    #[error("bad attribute")]
    BadAttribute,
    #[error("FINGERPRINT does not match")]
    BadFingerprint,
}

#[derive(Debug)]
pub struct Message<'a> {
    pub method: u16,
    pub class: Class,
    pub tid: [u8; 12],
    attrs: Vec<(u16, &'a [u8])>,
    raw: &'a [u8],
    /// Offset in `raw` of the MESSAGE-INTEGRITY attribute's header.
    integrity_at: Option<usize>,
}

/// Whether a datagram's first bytes look like STUN (top two bits 0, RFC 7983) with the magic cookie.
pub fn is_stun(buf: &[u8]) -> bool {
    buf.len() >= HEADER && buf[0] & 0xC0 == 0 && buf[4..8] == MAGIC.to_be_bytes()
}

impl<'a> Message<'a> {
    pub fn parse(raw: &'a [u8]) -> Result<Message<'a>, ParseError> {
        if !is_stun(raw) {
            return Err(ParseError::NotStun);
        }
        let typ = u16::from_be_bytes([raw[0], raw[1]]);
        let len = usize::from(u16::from_be_bytes([raw[2], raw[3]]));
        if len % 4 != 0 || HEADER + len != raw.len() {
            return Err(ParseError::NotStun);
        }
        let class = match ((typ >> 7) & 0b10) | ((typ >> 4) & 0b1) {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::Success,
            _ => Class::Error,
        };
        let method = (typ & 0x000F) | ((typ >> 1) & 0x0070) | ((typ >> 2) & 0x0F80);
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&raw[8..20]);
        let mut attrs = Vec::new();
        let mut integrity_at = None;
        let mut at = HEADER;
        while at < raw.len() {
            let head = raw.get(at..at + 4).ok_or(ParseError::BadAttribute)?;
            let t = u16::from_be_bytes([head[0], head[1]]);
            let l = usize::from(u16::from_be_bytes([head[2], head[3]]));
            let value = raw
                .get(at + 4..at + 4 + l)
                .ok_or(ParseError::BadAttribute)?;
            if t == attr::FINGERPRINT {
                // Last attribute, over everything before it (with the length as sent).
                if l != 4 || at + 8 != raw.len() {
                    return Err(ParseError::BadAttribute);
                }
                let want = crc32fast::hash(&raw[..at]) ^ 0x5354_554E;
                if value != want.to_be_bytes() {
                    return Err(ParseError::BadFingerprint);
                }
            } else if integrity_at.is_none() {
                // Attributes after MESSAGE-INTEGRITY (but FINGERPRINT) are ignored (RFC 8489 14.5).
                if t == attr::MESSAGE_INTEGRITY {
                    if l != 20 {
                        return Err(ParseError::BadAttribute);
                    }
                    integrity_at = Some(at);
                }
                attrs.push((t, value));
            }
            at += 4 + l.div_ceil(4) * 4;
        }
        Ok(Message {
            method,
            class,
            tid,
            attrs,
            raw,
            integrity_at,
        })
    }

    /// Every attribute read, in order (those after MESSAGE-INTEGRITY but FINGERPRINT are not).
    pub fn attributes(&self) -> impl Iterator<Item = (u16, &'a [u8])> + '_ {
        self.attrs.iter().copied()
    }

    pub fn get(&self, t: u16) -> Option<&'a [u8]> {
        self.attrs.iter().find(|(a, _)| *a == t).map(|(_, v)| *v)
    }

    pub fn all(&self, t: u16) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.attrs
            .iter()
            .filter(move |(a, _)| *a == t)
            .map(|(_, v)| *v)
    }

    pub fn has(&self, t: u16) -> bool {
        self.get(t).is_some()
    }

    pub fn text(&self, t: u16) -> Option<&'a str> {
        std::str::from_utf8(self.get(t)?).ok()
    }

    pub fn u32(&self, t: u16) -> Option<u32> {
        let v: [u8; 4] = self.get(t)?.try_into().ok()?;
        Some(u32::from_be_bytes(v))
    }

    pub fn xor_address(&self, value: &[u8]) -> Option<SocketAddr> {
        decode_xor(value, &self.tid)
    }

    /// Comprehension-required attributes this server does not know.
    pub fn unknown_required(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self
            .attrs
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| *t < 0x8000 && !KNOWN.contains(t))
            .collect();
        v.dedup();
        v
    }

    /// Checks MESSAGE-INTEGRITY (HMAC-SHA1) with `key`, in constant time.
    pub fn verify(&self, key: &[u8]) -> bool {
        let (Some(at), Some(mac)) = (self.integrity_at, self.get(attr::MESSAGE_INTEGRITY)) else {
            return false;
        };
        let want = integrity(key, &self.raw[..at]);
        want.ct_eq(mac).into()
    }

    pub fn has_integrity(&self) -> bool {
        self.integrity_at.is_some()
    }
}

/// HMAC-SHA1 over `head` (header and attributes before MESSAGE-INTEGRITY) with the header's length
/// counting up to the end of MESSAGE-INTEGRITY, as RFC 8489 14.5 defines it.
fn integrity(key: &[u8], head: &[u8]) -> [u8; 20] {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    let len = (head.len() - HEADER + 24) as u16;
    mac.update(&head[..2]);
    mac.update(&len.to_be_bytes());
    mac.update(&head[4..]);
    mac.finalize().into_bytes().into()
}

fn decode_xor(v: &[u8], tid: &[u8; 12]) -> Option<SocketAddr> {
    let port = u16::from_be_bytes([*v.get(2)?, *v.get(3)?]) ^ (MAGIC >> 16) as u16;
    let ip = match (v.get(1)?, v.len()) {
        (0x01, 8) => {
            let x = u32::from_be_bytes([v[4], v[5], v[6], v[7]]) ^ MAGIC;
            IpAddr::V4(Ipv4Addr::from(x))
        }
        (0x02, 20) => {
            let mut o = [0u8; 16];
            let mut pad = [0u8; 16];
            pad[..4].copy_from_slice(&MAGIC.to_be_bytes());
            pad[4..].copy_from_slice(tid);
            for i in 0..16 {
                o[i] = v[4 + i] ^ pad[i];
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Builds a message: attributes in order, then MESSAGE-INTEGRITY and FINGERPRINT in `finish`.
pub struct Builder {
    buf: Vec<u8>,
    tid: [u8; 12],
}

impl Builder {
    pub fn new(method: u16, class: Class, tid: [u8; 12]) -> Builder {
        let c = match class {
            Class::Request => 0x0000,
            Class::Indication => 0x0010,
            Class::Success => 0x0100,
            Class::Error => 0x0110,
        };
        let typ = (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | c;
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&typ.to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC.to_be_bytes());
        buf.extend_from_slice(&tid);
        Builder { buf, tid }
    }

    pub fn attr(mut self, t: u16, value: &[u8]) -> Builder {
        self.buf.extend_from_slice(&t.to_be_bytes());
        // Callers pass values that fit in a datagram; a longer one would be cut, never sent wrong.
        let l = value.len().min(usize::from(u16::MAX) - 3);
        self.buf.extend_from_slice(&(l as u16).to_be_bytes());
        self.buf.extend_from_slice(&value[..l]);
        self.buf.resize(self.buf.len() + (4 - l % 4) % 4, 0);
        self
    }

    pub fn u32(self, t: u16, v: u32) -> Builder {
        self.attr(t, &v.to_be_bytes())
    }

    pub fn xor_address(self, t: u16, a: SocketAddr) -> Builder {
        let port = a.port() ^ (MAGIC >> 16) as u16;
        let mut v = vec![0u8];
        match a.ip() {
            IpAddr::V4(ip) => {
                v.push(0x01);
                v.extend_from_slice(&port.to_be_bytes());
                v.extend_from_slice(&(u32::from(ip) ^ MAGIC).to_be_bytes());
            }
            IpAddr::V6(ip) => {
                v.push(0x02);
                v.extend_from_slice(&port.to_be_bytes());
                let mut pad = [0u8; 16];
                pad[..4].copy_from_slice(&MAGIC.to_be_bytes());
                pad[4..].copy_from_slice(&self.tid);
                v.extend(ip.octets().iter().zip(pad).map(|(a, b)| a ^ b));
            }
        }
        self.attr(t, &v)
    }

    pub fn error(self, code: u16, reason: &str) -> Builder {
        let mut v = vec![0, 0, (code / 100) as u8, (code % 100) as u8];
        v.extend_from_slice(reason.as_bytes());
        self.attr(attr::ERROR_CODE, &v)
    }

    /// The finished message, with MESSAGE-INTEGRITY under `key` if given, and FINGERPRINT.
    pub fn finish(mut self, key: Option<&[u8]>) -> Vec<u8> {
        if let Some(key) = key {
            let mac = integrity(key, &self.buf);
            self = self.attr(attr::MESSAGE_INTEGRITY, &mac);
        }
        let len = (self.buf.len() - HEADER + 8) as u16;
        self.buf[2..4].copy_from_slice(&len.to_be_bytes());
        let fp = crc32fast::hash(&self.buf) ^ 0x5354_554E;
        self.attr(attr::FINGERPRINT, &fp.to_be_bytes()).buf
    }
}

/// A ChannelData message (RFC 8656 12.4): channel 0x4000-0x4FFF, then the length and the data.
pub fn parse_channel_data(buf: &[u8]) -> Option<(u16, &[u8])> {
    let channel = u16::from_be_bytes([*buf.first()?, *buf.get(1)?]);
    if !(0x4000..=0x4FFF).contains(&channel) {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]));
    Some((channel, buf.get(4..4 + len)?))
}

pub fn channel_data(channel: u16, data: &[u8], pad: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + data.len() + 3);
    v.extend_from_slice(&channel.to_be_bytes());
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    if pad {
        v.resize(v.len() + (4 - data.len() % 4) % 4, 0);
    }
    v
}

#[cfg(test)]
#[path = "stun_tests.rs"]
mod tests;
