//! Requests between nodes are signed with a key every node reads from the shared database (the
//! `server_secrets` table, like the resume key), so only nodes of this cluster can relay a
//! WebSocket or ask a room for something on another node's behalf. The signature covers the
//! sending node, the time, the path and the request's payload (the relayed identity, or the body),
//! and is valid for [`WINDOW_MS`].

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header that carries `NODE.TIME_MS.SIGNATURE`.
pub const HEADER: &str = "x-convene-cluster";

/// How far a signed request's time may be from ours: covers clock differences and transit.
const WINDOW_MS: i64 = 30_000;

#[derive(Clone)]
pub struct ClusterKey(Vec<u8>);

impl ClusterKey {
    pub fn new(secret: &str) -> Self {
        Self(secret.as_bytes().to_vec())
    }

    /// The shared secret itself, for keys derived from it (seal.rs).
    pub(crate) fn secret(&self) -> &[u8] {
        &self.0
    }

    pub fn generate_secret() -> String {
        let bytes: [u8; 32] = rand::random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn mac(&self, node: &str, ts: i64, path: &str, payload: &[u8]) -> String {
        // Any key length is valid for HMAC.
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        for part in [node.as_bytes(), ts.to_string().as_bytes(), path.as_bytes()] {
            m.update(&(part.len() as u64).to_be_bytes());
            m.update(part);
        }
        m.update(payload);
        let out = m.finalize().into_bytes();
        out.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The header value for a request from `node` to `path` with `payload`, at `now_ms`.
    pub fn sign(&self, node: &str, now_ms: i64, path: &str, payload: &[u8]) -> String {
        format!("{node}.{now_ms}.{}", self.mac(node, now_ms, path, payload))
    }

    /// The sending node, if `header` is a valid signature of `path` and `payload` near `now_ms`.
    pub fn verify(&self, header: &str, now_ms: i64, path: &str, payload: &[u8]) -> Option<String> {
        let (rest, sig) = header.rsplit_once('.')?;
        let (node, ts) = rest.rsplit_once('.')?;
        let ts: i64 = ts.parse().ok()?;
        if (now_ms - ts).abs() > WINDOW_MS {
            return None;
        }
        let want = self.mac(node, ts, path, payload);
        bool::from(want.as_bytes().ct_eq(sig.as_bytes())).then(|| node.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fresh_signature_of_the_same_request_with_the_same_key_passes() {
        let k = ClusterKey::new("secret-one");
        let h = k.sign("node-a", 1_000_000, "/internal/cluster/op", b"{}");
        assert_eq!(
            k.verify(&h, 1_000_500, "/internal/cluster/op", b"{}"),
            Some("node-a".into())
        );
        assert_eq!(k.verify(&h, 1_000_500, "/internal/cluster/ws", b"{}"), None);
        assert_eq!(
            k.verify(&h, 1_000_500, "/internal/cluster/op", b"{ }"),
            None
        );
        assert_eq!(
            k.verify(&h, 1_040_000, "/internal/cluster/op", b"{}"),
            None,
            "too old"
        );
        let other = ClusterKey::new("secret-two");
        assert_eq!(
            other.verify(&h, 1_000_500, "/internal/cluster/op", b"{}"),
            None
        );
        let forged = h.replacen("node-a", "node-b", 1);
        assert_eq!(
            k.verify(&forged, 1_000_500, "/internal/cluster/op", b"{}"),
            None
        );
        assert_eq!(
            k.verify("garbage", 1_000_500, "/internal/cluster/op", b"{}"),
            None
        );
    }
}
