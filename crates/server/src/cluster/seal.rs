//! Sealing what one node sends another over the media link of a room spanning nodes (the plan in
//! docs/architecture.md; not wired yet): each datagram is encrypted and authenticated with
//! ChaCha20-Poly1305 (aws-lc-rs, which str0m and rustls already build), under a key derived with
//! HKDF-SHA256 from the cluster's shared secret, the direction (from, to) and the sender's epoch.
//! So a datagram is never plain on the wire, one forged or sent by anyone without the secret is
//! refused, one replayed or reflected back to its sender is refused.
//!
//! The epoch is a random 64-bit number the sender picks for each link it opens and announces over
//! the signed internal HTTP (which carries a time window against replay): a node that restarts
//! picks a new one, so its counter starting again at 0 never reuses a nonce under the same key.
//!
//! A datagram: version (1 byte), epoch (8), counter (8, the nonce's last 8 bytes), ciphertext
//! with its 16-byte tag. The 17 header bytes are the AEAD's associated data.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use aws_lc_rs::hkdf;

const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 1 + 8 + 8;
pub const TAG_LEN: usize = 16;
/// Datagrams this far behind the newest one seen may still arrive (reordered), once each.
const WINDOW: u64 = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("too short for a sealed datagram")]
    Short,
    #[error("unknown link version {0}")]
    Version(u8),
    #[error("not this link's epoch")]
    Epoch,
    #[error("replayed")]
    Replayed,
    #[error("older than the replay window")]
    TooOld,
    #[error("forged or damaged")]
    Forged,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// 2^64 datagrams under one key: the link must be opened again with a new epoch.
    #[error("the link's counter is exhausted")]
    Exhausted,
}

/// The key of one direction of one link epoch.
fn derive(secret: &[u8], epoch: u64, from: &str, to: &str) -> LessSafeKey {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &epoch.to_be_bytes()).extract(secret);
    let info: [&[u8]; 5] = [
        b"convene media link v1",
        &[0],
        from.as_bytes(),
        &[0],
        to.as_bytes(),
    ];
    // A 32-byte key is well within what HKDF-SHA256 can expand to (255 * 32 bytes), and the
    // length asked is the algorithm's own: neither call can fail.
    let okm = prk
        .expand(&info, &CHACHA20_POLY1305)
        .expect("a ChaCha20-Poly1305 key is a valid HKDF output length");
    LessSafeKey::new(UnboundKey::from(okm))
}

fn nonce(counter: u64) -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    n[NONCE_LEN - 8..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

/// The sending end of one direction of a link.
pub struct Sealer {
    key: LessSafeKey,
    epoch: u64,
    next: u64,
}

impl Sealer {
    /// A new epoch (random) for the link `from` → `to`; announce `epoch()` to the receiver.
    pub fn new(secret: &[u8], from: &str, to: &str) -> Self {
        let epoch = rand::random::<u64>();
        Self {
            key: derive(secret, epoch, from, to),
            epoch,
            next: 0,
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Appends `payload`, sealed, to `out` (cleared first).
    pub fn seal(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        let counter = self.next;
        self.next = counter.checked_add(1).ok_or(SealError::Exhausted)?;
        out.clear();
        out.reserve(HEADER_LEN + payload.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&counter.to_be_bytes());
        let mut body = payload.to_vec();
        let header: [u8; HEADER_LEN] = header_of(out);
        self.key
            .seal_in_place_append_tag(nonce(counter), Aad::from(header), &mut body)
            // Fails only for a payload past ChaCha20's 256 GiB limit; a datagram is far smaller.
            .expect("a datagram is within ChaCha20-Poly1305's message limit");
        out.extend_from_slice(&body);
        Ok(())
    }
}

/// The first HEADER_LEN bytes of `b` (the caller has checked its length).
fn header_of(b: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h.copy_from_slice(&b[..HEADER_LEN]);
    h
}

/// The receiving end of one direction of a link, for the epoch its sender announced.
pub struct Opener {
    key: LessSafeKey,
    epoch: u64,
    /// The highest counter opened so far, and which of the WINDOW before it were seen (bit i:
    /// `highest - i`).
    highest: Option<u64>,
    seen: u128,
}

impl Opener {
    pub fn new(secret: &[u8], from: &str, to: &str, epoch: u64) -> Self {
        Self {
            key: derive(secret, epoch, from, to),
            epoch,
            highest: None,
            seen: 0,
        }
    }

    /// Opens a sealed datagram in place; returns its payload.
    pub fn open<'a>(&mut self, datagram: &'a mut [u8]) -> Result<&'a [u8], OpenError> {
        if datagram.len() < HEADER_LEN + TAG_LEN {
            return Err(OpenError::Short);
        }
        if datagram[0] != VERSION {
            return Err(OpenError::Version(datagram[0]));
        }
        let header = header_of(datagram);
        let field = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&header[at..at + 8]);
            u64::from_be_bytes(b)
        };
        let (epoch, counter) = (field(1), field(9));
        if epoch != self.epoch {
            return Err(OpenError::Epoch);
        }
        // Checked before the (costlier) decryption, recorded only after it succeeds: a forged
        // datagram must not move the window.
        self.check(counter)?;
        let (_, body) = datagram.split_at_mut(HEADER_LEN);
        let plain = self
            .key
            .open_in_place(nonce(counter), Aad::from(header), body)
            .map_err(|_| OpenError::Forged)?;
        self.record(counter);
        Ok(plain)
    }

    fn check(&self, counter: u64) -> Result<(), OpenError> {
        let Some(highest) = self.highest else {
            return Ok(());
        };
        if counter > highest {
            return Ok(());
        }
        let behind = highest - counter;
        if behind >= WINDOW {
            return Err(OpenError::TooOld);
        }
        if self.seen & (1u128 << behind) != 0 {
            return Err(OpenError::Replayed);
        }
        Ok(())
    }

    fn record(&mut self, counter: u64) {
        match self.highest {
            Some(highest) if counter <= highest => self.seen |= 1u128 << (highest - counter),
            Some(highest) => {
                let ahead = counter - highest;
                self.seen = if ahead >= WINDOW {
                    0
                } else {
                    self.seen << ahead
                } | 1;
                self.highest = Some(counter);
            }
            None => {
                self.seen = 1;
                self.highest = Some(counter);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"the cluster's shared secret, 32+ bytes long";

    fn pair() -> (Sealer, Opener) {
        let s = Sealer::new(SECRET, "node-a", "node-b");
        let o = Opener::new(SECRET, "node-a", "node-b", s.epoch());
        (s, o)
    }

    fn sealed(s: &mut Sealer, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        s.seal(payload, &mut out).unwrap();
        out
    }

    #[test]
    fn a_sealed_datagram_opens_and_is_not_plain_on_the_wire() {
        let (mut s, mut o) = pair();
        let payload = b"an RTP packet's bytes, relayed to another node";
        let mut d = sealed(&mut s, payload);
        assert_eq!(d.len(), HEADER_LEN + payload.len() + TAG_LEN);
        assert!(
            !d.windows(8).any(|w| w == &payload[..8]),
            "the payload is encrypted"
        );
        assert_eq!(o.open(&mut d).unwrap(), payload);
        // The same payload again seals differently (a new nonce).
        let (a, b) = (sealed(&mut s, payload), sealed(&mut s, payload));
        assert_ne!(a[HEADER_LEN..], b[HEADER_LEN..]);
    }

    #[test]
    fn forged_damaged_or_misdirected_datagrams_are_refused() {
        let (mut s, mut o) = pair();
        let good = sealed(&mut s, b"media");
        for at in [0, 5, 12, HEADER_LEN, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            let err = o.open(&mut bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    OpenError::Forged | OpenError::Version(_) | OpenError::Epoch
                ),
                "byte {at}: {err:?}"
            );
        }
        // Another secret, or the other direction (a datagram reflected to its sender).
        let mut stranger = Sealer::new(b"some other cluster's secret......", "node-a", "node-b");
        let mut theirs = Opener::new(SECRET, "node-a", "node-b", stranger.epoch());
        assert_eq!(
            theirs.open(&mut sealed(&mut stranger, b"x")),
            Err(OpenError::Forged)
        );
        let mut back = Opener::new(SECRET, "node-b", "node-a", s.epoch());
        assert_eq!(back.open(&mut good.clone()), Err(OpenError::Forged));
        assert_eq!(
            o.open(&mut [1u8; HEADER_LEN + TAG_LEN - 1]),
            Err(OpenError::Short)
        );
        // None of that moved the window: the good datagram still opens, once.
        assert_eq!(o.open(&mut good.clone()).unwrap(), b"media");
    }

    #[test]
    fn a_replay_is_refused_and_reordering_within_the_window_is_not() {
        let (mut s, mut o) = pair();
        let all: Vec<Vec<u8>> = (0..300u32)
            .map(|i| sealed(&mut s, &i.to_be_bytes()))
            .collect();
        // 0, 2, 1: the late one opens once.
        for i in [0, 2, 1] {
            assert!(o.open(&mut all[i].clone()).is_ok(), "{i}");
        }
        assert_eq!(o.open(&mut all[1].clone()), Err(OpenError::Replayed));
        assert_eq!(o.open(&mut all[2].clone()), Err(OpenError::Replayed));
        // Far ahead: what fell out of the window is refused, what is within it opens.
        assert!(o.open(&mut all[200].clone()).is_ok());
        assert_eq!(o.open(&mut all[3].clone()), Err(OpenError::TooOld));
        assert!(o.open(&mut all[200 - 127].clone()).is_ok());
        assert_eq!(o.open(&mut all[200 - 128].clone()), Err(OpenError::TooOld));
        assert!(o.open(&mut all[299].clone()).is_ok());
        assert_eq!(o.open(&mut all[200].clone()), Err(OpenError::Replayed));
    }

    #[test]
    fn a_restarted_sender_has_a_new_epoch_and_its_old_datagrams_are_refused() {
        let (mut before, mut o) = pair();
        let old = sealed(&mut before, b"before the restart");
        let mut after = Sealer::new(SECRET, "node-a", "node-b");
        assert_ne!(after.epoch(), before.epoch());
        let mut o2 = Opener::new(SECRET, "node-a", "node-b", after.epoch());
        assert_eq!(o2.open(&mut old.clone()), Err(OpenError::Epoch));
        assert!(o2.open(&mut sealed(&mut after, b"after")).is_ok());
        assert!(
            o.open(&mut old.clone()).is_ok(),
            "the old epoch's own opener"
        );
    }
}
