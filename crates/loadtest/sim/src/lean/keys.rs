//! The SRTP keys of a session whose DTLS handshake str0m ran.
//!
//! str0m keeps its SRTP keys to itself, but it takes a crypto provider per peer connection. The
//! provider built here is str0m's own with one change: each DTLS instance it makes reports the
//! DTLS-SRTP keying material (RFC 5764 4.2) to a [`KeySlot`] of the session it was made for. The
//! session keys are then derived as RFC 3711 4.3 says (AES-CM PRF, no key derivation rate), with
//! RFC 7714's 96-bit salts for the AES-GCM profiles.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use str0m::crypto::dtls::{
    DtlsCert, DtlsImplError, DtlsInstance, DtlsOutput, DtlsProvider, DtlsVersion, ProtocolVersion,
    SrtpProfile,
};
use str0m::crypto::{CryptoError, CryptoProvider, SrtpProvider};
use str0m::{Rtc, RtcConfig};

thread_local! {
    /// The slot the next DTLS instance made on this thread reports to (see [`build_capturing`]).
    static NEXT_SLOT: RefCell<Option<Arc<KeySlot>>> = const { RefCell::new(None) };
}

/// What the DTLS handshake of one session exported.
#[derive(Clone)]
pub(crate) struct Captured {
    pub material: Vec<u8>,
    pub profile: SrtpProfile,
    /// We were the DTLS client: our keys are the client's half of the material.
    pub active: bool,
}

impl std::fmt::Debug for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material itself.
        f.debug_struct("Captured")
            .field("profile", &self.profile)
            .field("active", &self.active)
            .finish()
    }
}

/// Where one session's DTLS instance leaves its keying material.
#[derive(Debug, Default)]
pub(crate) struct KeySlot(Mutex<Option<Captured>>);

impl KeySlot {
    pub fn take(&self) -> Option<Captured> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn put(&self, c: Captured) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(c);
    }
}

/// Builds `config` into an `Rtc` whose DTLS instance reports its keys to the returned slot.
pub(crate) fn build_capturing(config: RtcConfig, now: Instant) -> (Rtc, Arc<KeySlot>) {
    let slot = Arc::new(KeySlot::default());
    NEXT_SLOT.with(|n| *n.borrow_mut() = Some(slot.clone()));
    let rtc = config.set_crypto_provider(capturing_provider()).build(now);
    // str0m makes the DTLS instance while building; nothing else may pick up this slot.
    NEXT_SLOT.with(|n| n.borrow_mut().take());
    (rtc, slot)
}

/// str0m's default provider (the crate's crypto feature), which ours delegates to.
pub(crate) fn base() -> &'static CryptoProvider {
    static BASE: OnceLock<CryptoProvider> = OnceLock::new();
    BASE.get_or_init(str0m::crypto::from_feature_flags)
}

fn capturing_provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            Arc::new(CryptoProvider {
                dtls_provider: &CAPTURING,
                ..base().clone()
            })
        })
        .clone()
}

#[derive(Debug)]
struct CapturingDtls;

static CAPTURING: CapturingDtls = CapturingDtls;

impl DtlsProvider for CapturingDtls {
    fn generate_certificate(&self) -> Option<DtlsCert> {
        base().dtls_provider.generate_certificate()
    }

    fn new_dtls(
        &self,
        cert: &DtlsCert,
        now: Instant,
        dtls_version: DtlsVersion,
        mtu: Option<usize>,
    ) -> Result<Box<dyn DtlsInstance>, CryptoError> {
        let inner = base()
            .dtls_provider
            .new_dtls(cert, now, dtls_version, mtu)?;
        Ok(match NEXT_SLOT.with(|n| n.borrow_mut().take()) {
            Some(slot) => Box::new(Capturing { inner, slot }),
            None => inner,
        })
    }

    fn is_test(&self) -> bool {
        base().dtls_provider.is_test()
    }
}

/// A DTLS instance that hands a copy of its keying material to its session's slot.
#[derive(Debug)]
struct Capturing {
    inner: Box<dyn DtlsInstance>,
    slot: Arc<KeySlot>,
}

impl DtlsInstance for Capturing {
    fn set_active(&mut self, active: bool) {
        self.inner.set_active(active)
    }

    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), DtlsImplError> {
        self.inner.handle_packet(packet)
    }

    fn poll_output<'a>(&mut self, buf: &'a mut [u8]) -> DtlsOutput<'a> {
        let out = self.inner.poll_output(buf);
        if let DtlsOutput::KeyingMaterial(material, profile) = &out {
            self.slot.put(Captured {
                material: material.to_vec(),
                profile: *profile,
                active: self.inner.is_active(),
            });
        }
        out
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsImplError> {
        self.inner.handle_timeout(now)
    }

    fn send_application_data(&mut self, data: &[u8]) -> Result<usize, DtlsImplError> {
        self.inner.send_application_data(data)
    }

    fn is_active(&self) -> bool {
        self.inner.is_active()
    }

    fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.inner.protocol_version()
    }

    fn is_closing(&self) -> bool {
        self.inner.is_closing()
    }

    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn close(&mut self) -> Result<(), DtlsImplError> {
        self.inner.close()
    }
}

/// Salt length of the AES-GCM profiles (RFC 7714 12).
pub(crate) const SALT_LEN: usize = 12;

/// A session key and salt for one direction of SRTP or SRTCP.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionKey {
    pub key: Vec<u8>,
    pub salt: [u8; SALT_LEN],
}

/// The keys a receive-only session needs: the peer's SRTP and SRTCP (to decrypt) and our SRTCP
/// (for feedback).
pub(crate) struct SessionKeys {
    pub profile: SrtpProfile,
    pub rtp_in: SessionKey,
    pub rtcp_in: SessionKey,
    pub rtcp_out: SessionKey,
}

/// RFC 3711 4.3.1 labels.
const LABEL_RTP_KEY: u8 = 0;
const LABEL_RTP_SALT: u8 = 2;
const LABEL_RTCP_KEY: u8 = 3;
const LABEL_RTCP_SALT: u8 = 5;

impl SessionKeys {
    /// Derives the session keys; None for a profile other than AES-GCM (RFC 7714) or material
    /// of the wrong length.
    pub fn derive(c: &Captured, provider: &dyn SrtpProvider) -> Option<SessionKeys> {
        let key_len = match c.profile {
            SrtpProfile::AEAD_AES_128_GCM => 16,
            SrtpProfile::AEAD_AES_256_GCM => 32,
            _ => return None,
        };
        // client key | server key | client salt | server salt
        if c.material.len() != 2 * (key_len + SALT_LEN) {
            return None;
        }
        let (keys, salts) = c.material.split_at(2 * key_len);
        let (client_key, server_key) = keys.split_at(key_len);
        let (client_salt, server_salt) = salts.split_at(SALT_LEN);
        let (ours, theirs) = if c.active {
            ((client_key, client_salt), (server_key, server_salt))
        } else {
            ((server_key, server_salt), (client_key, client_salt))
        };
        let session = |(master_key, master_salt): (&[u8], &[u8]), key_label, salt_label| {
            let mut key = vec![0u8; key_len];
            derive(provider, master_key, master_salt, key_label, &mut key);
            let mut salt = [0u8; SALT_LEN];
            derive(provider, master_key, master_salt, salt_label, &mut salt);
            SessionKey { key, salt }
        };
        Some(SessionKeys {
            profile: c.profile,
            rtp_in: session(theirs, LABEL_RTP_KEY, LABEL_RTP_SALT),
            rtcp_in: session(theirs, LABEL_RTCP_KEY, LABEL_RTCP_SALT),
            rtcp_out: session(ours, LABEL_RTCP_KEY, LABEL_RTCP_SALT),
        })
    }
}

/// The AES-CM PRF of RFC 3711 4.3.3 with a key derivation rate of 0: the keystream of AES in
/// counter mode under the master key, from the block `x || 0x0000` where x is the master salt
/// (as 112 bits: RFC 7714's 96-bit salt followed by two zero octets) with the label XORed into
/// its eighth octet (`key_id = label || 0^48`, aligned to the salt's low end).
pub(crate) fn derive(
    provider: &dyn SrtpProvider,
    master_key: &[u8],
    master_salt: &[u8],
    label: u8,
    out: &mut [u8],
) {
    let mut x = [0u8; 16];
    let n = master_salt.len().min(14);
    x[..n].copy_from_slice(&master_salt[..n]);
    x[7] ^= label;
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        x[14..16].copy_from_slice(&(i as u16).to_be_bytes());
        let mut block = [0u8; 16];
        if master_key.len() == 32 {
            provider.srtp_aes_256_ecb_round(master_key, &x, &mut block);
        } else {
            provider.srtp_aes_128_ecb_round(master_key, &x, &mut block);
        }
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lean::hex;

    /// RFC 3711 Appendix B.3: the key derivation test vectors (AES-128, 112-bit salt).
    #[test]
    fn rfc3711_key_derivation_vectors() {
        let provider = base().srtp_provider;
        let master_key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let master_salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        let mut key = [0u8; 16];
        derive(provider, &master_key, &master_salt, 0, &mut key);
        assert_eq!(key.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut salt = [0u8; 14];
        derive(provider, &master_key, &master_salt, 2, &mut salt);
        assert_eq!(salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        // The authentication key is longer than a block: the counter runs on.
        let mut auth = [0u8; 94];
        derive(provider, &master_key, &master_salt, 1, &mut auth);
        assert_eq!(
            auth[..32].to_vec(),
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE")
        );
    }

    #[test]
    fn each_side_decrypts_with_the_other_sides_write_keys() {
        let provider = base().srtp_provider;
        let material: Vec<u8> = (0..88u8).collect();
        let client = Captured {
            material: material.clone(),
            profile: SrtpProfile::AEAD_AES_256_GCM,
            active: true,
        };
        let server = Captured {
            active: false,
            ..client.clone()
        };
        let c = SessionKeys::derive(&client, provider).expect("gcm");
        let s = SessionKeys::derive(&server, provider).expect("gcm");
        // What one side sends, the other reads; the two directions differ.
        assert!(c.rtcp_out == s.rtcp_in && s.rtcp_out == c.rtcp_in);
        assert!(c.rtp_in != s.rtp_in && c.rtcp_in != c.rtcp_out);
        assert!(c.rtp_in != c.rtcp_in, "SRTP and SRTCP keys differ by label");
        assert_eq!(c.rtp_in.key.len(), 32);

        let short = Captured {
            material: material[..87].to_vec(),
            ..client.clone()
        };
        assert!(SessionKeys::derive(&short, provider).is_none());
        let cm = Captured {
            profile: SrtpProfile::AES128_CM_SHA1_80,
            ..client
        };
        assert!(
            SessionKeys::derive(&cm, provider).is_none(),
            "not an AEAD profile"
        );
    }
}
