//! AES-GCM for the lean path: AWS-LC's AEAD (the library str0m's default crypto provider wraps),
//! called directly so that the shard can prefetch each session's key.
//!
//! Through str0m's provider a key sits behind three pointers (the boxed cipher, aws-lc-rs's
//! key, AWS-LC's context). With hundreds of sessions those were all out of the cache, and each
//! packet waited on them in turn: the context's first load, the copy of its GHASH table and
//! the AES round keys were ~9 % of the tool's CPU at 400 subscribers. Here the context's
//! address is ours, so [`Aead::prefetch`] can bring all of it in, a few datagrams ahead.

use std::ptr::NonNull;

use aws_lc_sys::{
    EVP_AEAD_CTX_free, EVP_AEAD_CTX_new, EVP_AEAD_CTX_open, EVP_AEAD_CTX_seal,
    EVP_aead_aes_128_gcm, EVP_aead_aes_256_gcm, EVP_AEAD_CTX,
};

use crate::prefetch::prefetch;

/// The authentication tag that follows every AES-GCM ciphertext.
pub(crate) const TAG_LEN: usize = 16;
/// RFC 7714's IV.
pub(crate) const NONCE_LEN: usize = 12;

/// An AES-128-GCM or AES-256-GCM key (by its length), for sealing or opening.
pub(crate) struct Aead {
    /// Owned: made by `EVP_AEAD_CTX_new`, freed in `drop`, never shared.
    ctx: NonNull<EVP_AEAD_CTX>,
}

// SAFETY: the context is owned by this value alone, and AWS-LC keeps no thread-local state in
// it: it may be used from whichever thread owns the value.
unsafe impl Send for Aead {}

impl Aead {
    /// None for a key that is neither 16 nor 32 octets (or if AWS-LC refuses it).
    pub fn new(key: &[u8]) -> Option<Aead> {
        // SAFETY: the algorithm getters return pointers to static tables; `key` is valid for
        // `key.len()` octets during the call, and AWS-LC copies what it needs from it.
        let ctx = unsafe {
            let aead = match key.len() {
                16 => EVP_aead_aes_128_gcm(),
                32 => EVP_aead_aes_256_gcm(),
                _ => return None,
            };
            EVP_AEAD_CTX_new(aead, key.as_ptr(), key.len(), TAG_LEN)
        };
        NonNull::new(ctx).map(|ctx| Aead { ctx })
    }

    /// Brings the whole context (algorithm, AES round keys, GHASH table) towards the cache.
    #[inline]
    pub fn prefetch(&self) {
        let p = self.ctx.as_ptr().cast::<u8>().cast_const();
        // The context's state may start up to 15 octets in, to align it.
        let mut at = 0;
        while at < size_of::<EVP_AEAD_CTX>() + 16 {
            prefetch(p.wrapping_add(at));
            at += 64;
        }
    }

    /// Decrypts `sealed` (ciphertext, then the tag) into `out`; the plaintext's length, or None
    /// if it does not authenticate or `out` is too small.
    pub fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
        out: &mut [u8],
    ) -> Option<usize> {
        let plain = sealed.len().checked_sub(TAG_LEN)?;
        if out.len() < plain {
            return None;
        }
        self.call(EVP_AEAD_CTX_open, nonce, aad, sealed, out)
    }

    /// Encrypts `plain` into `out` (ciphertext, then the tag: `plain.len() + TAG_LEN` octets);
    /// false if `out` is too small.
    pub fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plain: &[u8], out: &mut [u8]) -> bool {
        if out.len() < plain.len() + TAG_LEN {
            return false;
        }
        self.call(EVP_AEAD_CTX_seal, nonce, aad, plain, out) == Some(plain.len() + TAG_LEN)
    }

    /// `EVP_AEAD_CTX_open` or `EVP_AEAD_CTX_seal` (one signature): the length written to `out`.
    fn call(
        &self,
        f: AeadFn,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        out: &mut [u8],
    ) -> Option<usize> {
        let mut n = 0;
        // SAFETY: the context is alive and ours; every pointer is valid for the length passed
        // with it during the call; AWS-LC writes at most `out.len()` octets to `out`.
        let ok = unsafe {
            f(
                self.ctx.as_ptr(),
                out.as_mut_ptr(),
                &mut n,
                out.len(),
                nonce.as_ptr(),
                NONCE_LEN,
                input.as_ptr(),
                input.len(),
                aad.as_ptr(),
                aad.len(),
            )
        };
        (ok == 1).then_some(n)
    }
}

/// The signature `EVP_AEAD_CTX_open` and `EVP_AEAD_CTX_seal` share: context, output, its
/// length written and room, nonce, input, additional data.
type AeadFn = unsafe extern "C" fn(
    *const EVP_AEAD_CTX,
    *mut u8,
    *mut usize,
    usize,
    *const u8,
    usize,
    *const u8,
    usize,
    *const u8,
    usize,
) -> std::os::raw::c_int;

impl Drop for Aead {
    fn drop(&mut self) {
        // SAFETY: made by EVP_AEAD_CTX_new, freed once, here.
        unsafe { EVP_AEAD_CTX_free(self.ctx.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lean::hex;

    /// NIST's GCM test case 16 (AES-256, 60-octet plaintext, 20 octets of AAD), with its
    /// 96-bit IV: the known ciphertext and tag.
    #[test]
    fn matches_a_known_answer_and_refuses_damage() {
        let key = hex("feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308");
        let nonce: [u8; 12] = hex("cafebabefacedbaddecaf888").try_into().expect("12");
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let plain = hex(
            "d9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72
             1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b39",
        );
        let want = hex(
            "522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa
             8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662
             76fc6ece0f4e1768cddf8853bb2d551b",
        );
        let k = Aead::new(&key).expect("256-bit key");
        let mut sealed = vec![0; plain.len() + TAG_LEN];
        assert!(k.seal(&nonce, &aad, &plain, &mut sealed));
        assert_eq!(sealed, want);
        let mut out = vec![0; plain.len()];
        assert_eq!(k.open(&nonce, &aad, &sealed, &mut out), Some(plain.len()));
        assert_eq!(out, plain);
        let mut bad = sealed.clone();
        bad[3] ^= 1;
        assert_eq!(k.open(&nonce, &aad, &bad, &mut out), None);
        assert_eq!(k.open(&nonce, &aad[1..], &sealed, &mut out), None);
        // Too small an output, too short an input, a key of another size: refused, no panic.
        assert_eq!(k.open(&nonce, &aad, &sealed, &mut out[..10]), None);
        assert_eq!(k.open(&nonce, &aad, &sealed[..15], &mut out), None);
        assert!(!k.seal(&nonce, &aad, &plain, &mut sealed[..20]));
        assert!(Aead::new(&key[..24]).is_none());
    }
}
