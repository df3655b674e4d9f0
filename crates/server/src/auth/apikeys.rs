//! API keys for programs: `Authorization: Basic base64(id:secret)`, as Twilio's API takes them. The
//! secret (256 random bits) is shown once and kept as an Argon2id hash. Checking Argon2id on every
//! request would cost each call ~20 ms of CPU, so a key checked once is remembered for a minute by a
//! SHA-256 of its secret (revoking it on this node forgets it at once).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use convene_proto::ErrorCode;
use convene_store::{ApiKeyRecord, Store};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::password;
use crate::error::ServerError;

const REMEMBER: Duration = Duration::from_secs(60);
/// Most keys remembered at once (each is a few dozen octets).
const MAX_REMEMBERED: usize = 10_000;

/// A new key: its public id and its secret, to be shown once.
pub struct NewKey {
    pub record: ApiKeyRecord,
    pub secret: String,
}

/// Makes a key named `name` (the caller stores `record`).
pub fn generate(name: &str, now: i64) -> Result<NewKey, ServerError> {
    use rand::{Rng, RngCore};
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let id: String = (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Ok(NewKey {
        record: ApiKeyRecord {
            id: format!("ck_{id}"),
            secret_hash: password::hash(&secret)?,
            name: name.to_owned(),
            created_at: now,
            revoked_at: None,
        },
        secret,
    })
}

/// The `(id, secret)` of an `Authorization: Basic ...` header value; None if it is not one.
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let encoded = value.strip_prefix("Basic ")?.trim();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    (!id.is_empty() && id.len() <= 64 && secret.len() <= 128)
        .then(|| (id.to_owned(), secret.to_owned()))
}

#[derive(Default)]
pub struct KeyCache {
    known: Mutex<HashMap<String, ([u8; 32], Instant)>>,
}

impl KeyCache {
    /// The key's id when `secret` is its secret and the key is live; `unauthorized` otherwise.
    pub async fn verify(
        &self,
        store: &dyn Store,
        id: &str,
        secret: &str,
    ) -> Result<String, ServerError> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if self.remembered(id, &digest) {
            return Ok(id.to_owned());
        }
        let refused = || ServerError::client(ErrorCode::Unauthorized, "unknown or revoked API key");
        let key = store.api_key(id).await?;
        let stored = key
            .as_ref()
            .filter(|k| k.revoked_at.is_none())
            .map(|k| k.secret_hash.clone());
        let right = password::verify_off_runtime(secret.to_owned(), stored).await?;
        if !right {
            return Err(refused());
        }
        self.remember(id, digest);
        Ok(id.to_owned())
    }

    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    fn remembered(&self, id: &str, digest: &[u8; 32]) -> bool {
        let known = self.lock();
        known
            .get(id)
            .is_some_and(|(d, at)| at.elapsed() < REMEMBER && bool::from(d.ct_eq(digest)))
    }

    fn remember(&self, id: &str, digest: [u8; 32]) {
        let mut known = self.lock();
        if known.len() >= MAX_REMEMBERED {
            known.retain(|_, (_, at)| at.elapsed() < REMEMBER);
            if known.len() >= MAX_REMEMBERED {
                known.clear();
            }
        }
        known.insert(id.to_owned(), (digest, Instant::now()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ([u8; 32], Instant)>> {
        // A plain map updated in short sections: a panic elsewhere leaves it usable.
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_headers_are_read_and_junk_is_not() {
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("ck_abc:s3cret:with:colons")
        );
        assert_eq!(
            parse_basic(&v),
            Some(("ck_abc".into(), "s3cret:with:colons".into()))
        );
        for junk in ["Bearer x", "Basic !!!", "Basic", "Basic Og=="] {
            assert!(parse_basic(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn a_new_key_has_a_public_id_and_a_hashed_secret() {
        let k = generate("ci", 1).unwrap();
        assert!(k.record.id.starts_with("ck_") && k.record.id.len() == 19);
        assert_eq!(k.secret.len(), 43);
        assert!(password::verify(&k.secret, &k.record.secret_hash));
        assert!(!k.record.secret_hash.contains(&k.secret));
    }
}
