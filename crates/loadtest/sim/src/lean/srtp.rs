//! SRTP and SRTCP with AES-GCM (RFC 7714): decrypting the server's RTP and RTCP, encrypting our
//! RTCP. The AEAD is AWS-LC's (`aead.rs`).

use str0m::crypto::dtls::SrtpProfile;

use super::aead::{Aead, TAG_LEN};
use super::keys::{SessionKey, SALT_LEN};

/// SRTCP's E flag and index, after the tag.
const TRAILER_LEN: usize = 4;
/// The RTCP header and sender SSRC, sent in the clear.
const RTCP_HEADER_LEN: usize = 8;
/// An SRTCP packet is at least its clear header, a tag and the trailer.
pub(crate) const SRTCP_MIN_LEN: usize = RTCP_HEADER_LEN + TAG_LEN + TRAILER_LEN;
const E_FLAG: u32 = 1 << 31;

/// One direction of SRTP or SRTCP: a key and its session salt.
pub(crate) struct Context {
    aead: Aead,
    salt: [u8; SALT_LEN],
}

impl Context {
    /// None if the profile is not AES-GCM or the key does not fit it.
    pub fn new(profile: SrtpProfile, k: &SessionKey) -> Option<Context> {
        let len = match profile {
            SrtpProfile::AEAD_AES_128_GCM => 16,
            SrtpProfile::AEAD_AES_256_GCM => 32,
            _ => return None,
        };
        if k.key.len() != len {
            return None;
        }
        Some(Context {
            aead: Aead::new(&k.key)?,
            salt: k.salt,
        })
    }

    /// Brings the key towards the cache (see `prefetch.rs`).
    #[inline]
    pub fn prefetch(&self) {
        self.aead.prefetch();
    }

    /// RFC 7714 8.1: `00 00 || SSRC || ROC || SEQ`, XOR the salt.
    fn rtp_iv(&self, ssrc: u32, roc: u32, seq: u16) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[6..10].copy_from_slice(&roc.to_be_bytes());
        iv[10..12].copy_from_slice(&seq.to_be_bytes());
        xor(&mut iv, &self.salt);
        iv
    }

    /// RFC 7714 9.1: `00 00 || SSRC || 00 00 || 0 || SRTCP index`, XOR the salt.
    fn rtcp_iv(&self, ssrc: u32, index: u32) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[8..12].copy_from_slice(&(index & !E_FLAG).to_be_bytes());
        xor(&mut iv, &self.salt);
        iv
    }

    fn open(&self, iv: &[u8; 12], aad: &[u8], input: &[u8], out: &mut [u8]) -> Option<usize> {
        self.aead.open(iv, aad, input, out)
    }

    fn seal(&self, iv: &[u8; 12], aad: &[u8], input: &[u8], out: &mut [u8]) -> bool {
        self.aead.seal(iv, aad, input, out)
    }

    /// Decrypts an SRTP packet whose header (the AAD) is `header_len` long into `out`, which
    /// then holds the payload (with any RTP padding); returns its length. None if it does not
    /// authenticate (wrong key, index or damage).
    pub fn unprotect_rtp(
        &self,
        packet: &[u8],
        header_len: usize,
        ssrc: u32,
        index: u64,
        out: &mut [u8],
    ) -> Option<usize> {
        let (header, body) = packet.split_at_checked(header_len)?;
        let iv = self.rtp_iv(ssrc, (index >> 16) as u32, index as u16);
        self.open(&iv, header, body, out)
    }

    /// Encrypts an SRTP packet (for tests: the server's side).
    #[cfg(test)]
    pub fn protect_rtp(&self, packet: &[u8], header_len: usize, index: u64) -> Vec<u8> {
        let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
        let iv = self.rtp_iv(ssrc, (index >> 16) as u32, index as u16);
        let mut out = packet[..header_len].to_vec();
        let mut sealed = vec![0u8; packet.len() - header_len + TAG_LEN];
        assert!(self.seal(
            &iv,
            &packet[..header_len],
            &packet[header_len..],
            &mut sealed
        ));
        out.extend_from_slice(&sealed);
        out
    }

    /// Encrypts one RTCP compound packet as SRTCP with `index` (31 bits); appends it to `out`.
    pub fn protect_rtcp(&self, plain: &[u8], index: u32, out: &mut Vec<u8>) -> bool {
        let Some((header, body)) = plain.split_at_checked(RTCP_HEADER_LEN) else {
            return false;
        };
        let ssrc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let trailer = (E_FLAG | (index & !E_FLAG)).to_be_bytes();
        let mut aad = [0u8; RTCP_HEADER_LEN + TRAILER_LEN];
        aad[..RTCP_HEADER_LEN].copy_from_slice(header);
        aad[RTCP_HEADER_LEN..].copy_from_slice(&trailer);
        let iv = self.rtcp_iv(ssrc, index);
        let start = out.len();
        out.extend_from_slice(header);
        out.resize(start + plain.len() + TAG_LEN, 0);
        if !self.seal(&iv, &aad, body, &mut out[start + RTCP_HEADER_LEN..]) {
            out.truncate(start);
            return false;
        }
        out.extend_from_slice(&trailer);
        true
    }

    /// Decrypts an SRTCP packet into `out` (clear header, then the rest of the compound).
    /// None if it does not authenticate or is not encrypted (E = 0, which str0m never sends).
    pub fn unprotect_rtcp(&self, packet: &[u8], out: &mut Vec<u8>) -> Option<()> {
        if packet.len() < SRTCP_MIN_LEN {
            return None;
        }
        let (sealed, trailer) = packet.split_at(packet.len() - TRAILER_LEN);
        let index = u32::from_be_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        if index & E_FLAG == 0 {
            return None;
        }
        let (header, body) = sealed.split_at(RTCP_HEADER_LEN);
        let ssrc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let mut aad = [0u8; RTCP_HEADER_LEN + TRAILER_LEN];
        aad[..RTCP_HEADER_LEN].copy_from_slice(header);
        aad[RTCP_HEADER_LEN..].copy_from_slice(trailer);
        let iv = self.rtcp_iv(ssrc, index);
        out.clear();
        out.extend_from_slice(header);
        out.resize(RTCP_HEADER_LEN + body.len() - TAG_LEN, 0);
        let n = self.open(&iv, &aad, body, &mut out[RTCP_HEADER_LEN..])?;
        out.truncate(RTCP_HEADER_LEN + n);
        Some(())
    }
}

fn xor(a: &mut [u8; 12], b: &[u8; 12]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lean::hex;

    /// The session key and salt of RFC 7714's test vectors (section 16).
    fn key(len: usize) -> SessionKey {
        SessionKey {
            key: (0..len as u8).collect(),
            salt: hex("517569642070726f2071756f").try_into().expect("12"),
        }
    }

    fn pair(profile: SrtpProfile, len: usize) -> (Context, Context) {
        (
            Context::new(profile, &key(len)).expect("sender"),
            Context::new(profile, &key(len)).expect("receiver"),
        )
    }

    /// RFC 7714 16.1: "Gallia est omnis divisa in partes tres", sequence number 0xf17b.
    const RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973
                       20646976 69736120 696e2070 61727465 73207472 6573";

    #[test]
    fn rtp_round_trips_and_damage_is_refused() {
        for (profile, len) in [
            (SrtpProfile::AEAD_AES_128_GCM, 16),
            (SrtpProfile::AEAD_AES_256_GCM, 32),
        ] {
            let (tx, rx) = pair(profile, len);
            let plain = hex(RTP);
            let sealed = tx.protect_rtp(&plain, 12, 0xf17b);
            assert_eq!(sealed.len(), plain.len() + TAG_LEN);
            assert_ne!(&sealed[12..plain.len()], &plain[12..], "encrypted");
            let mut out = [0u8; 1500];
            let n = rx
                .unprotect_rtp(&sealed, 12, 0x5501a0b2, 0xf17b, &mut out)
                .expect("opens");
            assert_eq!(&out[..n], &plain[12..]);
            // Another index (ROC), another header, a flipped bit, a truncated tag: refused.
            assert!(rx
                .unprotect_rtp(&sealed, 12, 0x5501a0b2, 0x1_f17b, &mut out)
                .is_none());
            let mut bad = sealed.clone();
            bad[1] ^= 0x80;
            assert!(rx
                .unprotect_rtp(&bad, 12, 0x5501a0b2, 0xf17b, &mut out)
                .is_none());
            let mut bad = sealed.clone();
            bad[20] ^= 1;
            assert!(rx
                .unprotect_rtp(&bad, 12, 0x5501a0b2, 0xf17b, &mut out)
                .is_none());
            assert!(rx
                .unprotect_rtp(&sealed[..20], 12, 0x5501a0b2, 0xf17b, &mut out)
                .is_none());
            assert!(rx
                .unprotect_rtp(&sealed[..5], 12, 0x5501a0b2, 0xf17b, &mut out)
                .is_none());
        }
    }

    /// RFC 7714 17.1's RTCP packet (an SR from SSRC "Mars"), index 0x5d4.
    #[test]
    fn rtcp_round_trips_with_its_trailer() {
        let plain = hex(
            "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930
             4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef",
        );
        let (tx, rx) = pair(SrtpProfile::AEAD_AES_128_GCM, 16);
        let mut sealed = Vec::new();
        assert!(tx.protect_rtcp(&plain, 0x5d4, &mut sealed));
        assert_eq!(sealed.len(), plain.len() + TAG_LEN + 4);
        assert_eq!(&sealed[..8], &plain[..8], "header in the clear");
        assert_eq!(&sealed[sealed.len() - 4..], &[0x80, 0, 0x05, 0xd4]);
        let mut out = Vec::new();
        rx.unprotect_rtcp(&sealed, &mut out).expect("opens");
        assert_eq!(out, plain);
        // The index is authenticated, and an unencrypted packet (E = 0) is not taken.
        let mut bad = sealed.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(rx.unprotect_rtcp(&bad, &mut out).is_none());
        let mut clear = sealed.clone();
        clear[n - 4] &= 0x7f;
        assert!(rx.unprotect_rtcp(&clear, &mut out).is_none());
        assert!(rx.unprotect_rtcp(&sealed[..20], &mut out).is_none());
        let mut none = Vec::new();
        assert!(!tx.protect_rtcp(&plain[..4], 1, &mut none) && none.is_empty());
    }
}
