//! Resume tokens: the bearer credential that brings a participant back as themselves after a dropped
//! connection or a restart of the server.
//!
//! A token names the meeting, the participant's session and id, and a random nonce, signed with
//! HMAC-SHA256 under a key kept in the database (so a new process, or another node on the same
//! database, verifies tokens made before it). A room that holds the participant also checks the nonce:
//! each resume issues a new token and the old one stops working (single use per resume). A room
//! restored after a restart does not know the last nonce, so it takes any token signed for that
//! session, once: the first resume issues a new nonce.

use convene_proto::ParticipantId;
use convene_store::{MeetingId, SessionId};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Where the key is kept in the database's `server_secrets`.
pub const KEY_NAME: &str = "resume_token_hmac_v1";

const VERSION: &str = "v1";
/// Domain separation: a tag made for anything else can never pass as a resume token.
const CONTEXT: &str = "convene resume token";

/// What a verified token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeClaims {
    pub meeting: MeetingId,
    pub session: SessionId,
    pub participant: ParticipantId,
    pub nonce: String,
}

impl ResumeClaims {
    /// Whether `current` (the nonce the room issued last) is this token's, compared in constant time.
    pub fn nonce_is(&self, current: &str) -> bool {
        self.nonce.as_bytes().ct_eq(current.as_bytes()).into()
    }
}

#[derive(Clone)]
pub struct ResumeKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for ResumeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeKey(..)")
    }
}

impl ResumeKey {
    /// `secret` is the stored key (hex or any text; its bytes are the HMAC key).
    pub fn new(secret: &str) -> Self {
        Self {
            key: secret.as_bytes().to_vec(),
        }
    }

    /// A fresh random key, as stored text (256 bits, hex).
    pub fn generate_secret() -> String {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        hex(&bytes)
    }

    /// A new token for this participant's session, with a fresh nonce. Returns the token and its nonce.
    pub fn issue(
        &self,
        meeting: MeetingId,
        session: SessionId,
        participant: &ParticipantId,
    ) -> (String, String) {
        let nonce = super::participant::new_token();
        let body = format!(
            "{VERSION}.{}.{}.{}.{nonce}",
            meeting.0, session.0, participant
        );
        let tag = hex(&self.mac(&body).finalize().into_bytes());
        (format!("{body}.{tag}"), nonce)
    }

    /// The claims of a token this server signed; None for anything else (malformed, other key,
    /// tampered). Never panics on any input.
    pub fn verify(&self, token: &str) -> Option<ResumeClaims> {
        let (body, tag) = token.rsplit_once('.')?;
        let tag = unhex(tag)?;
        // verify_slice compares in constant time.
        self.mac(body).verify_slice(&tag).ok()?;
        let mut parts = body.split('.');
        let (version, meeting, session, participant, nonce) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if version != VERSION || parts.next().is_some() {
            return None;
        }
        Some(ResumeClaims {
            meeting: MeetingId(meeting.parse().ok()?),
            session: SessionId(session.parse().ok()?),
            participant: ParticipantId(participant.to_owned()),
            nonce: nonce.to_owned(),
        })
    }

    /// The key, for other tokens signed under it with their own context (files/token.rs).
    pub(crate) fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    fn mac(&self, body: &str) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(CONTEXT.as_bytes());
        mac.update(b"\0");
        mac.update(body.as_bytes());
        mac
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid() -> ParticipantId {
        ParticipantId("p_abc".into())
    }

    #[test]
    fn a_token_verifies_under_its_key_only() {
        let key = ResumeKey::new("k1");
        let (token, nonce) = key.issue(MeetingId(7), SessionId(9), &pid());
        let claims = key.verify(&token).expect("verifies");
        assert_eq!(claims.meeting, MeetingId(7));
        assert_eq!(claims.session, SessionId(9));
        assert_eq!(claims.participant, pid());
        assert!(claims.nonce_is(&nonce));
        assert!(!claims.nonce_is("other"));
        // The same key in a new process (it comes from the database) verifies it too.
        assert!(ResumeKey::new("k1").verify(&token).is_some());
        assert!(ResumeKey::new("k2").verify(&token).is_none());
    }

    #[test]
    fn tampered_or_malformed_tokens_are_refused() {
        let key = ResumeKey::new("k1");
        let (token, _) = key.issue(MeetingId(7), SessionId(9), &pid());
        let other_meeting = token.replacen("v1.7.", "v1.8.", 1);
        assert!(key.verify(&other_meeting).is_none());
        let other_participant = token.replace("p_abc", "p_abd");
        assert!(key.verify(&other_participant).is_none());
        let mut flipped = token.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        assert!(key.verify(&flipped).is_none());
        for junk in [
            "",
            ".",
            "v1",
            "3f1c",
            "v1.1.2.p.n.zz",
            "v1.x.2.p.n.00",
            "ü.ü.ü",
            &"a".repeat(10_000),
        ] {
            assert!(key.verify(junk).is_none(), "{junk:?}");
        }
        // A validly signed body of the wrong shape is refused as well.
        let body = "v1.1.2.p";
        let tag = hex(&key.mac(body).finalize().into_bytes());
        assert!(key.verify(&format!("{body}.{tag}")).is_none());
    }

    #[test]
    fn each_token_has_its_own_nonce() {
        let key = ResumeKey::new("k");
        let (a, na) = key.issue(MeetingId(1), SessionId(1), &pid());
        let (b, nb) = key.issue(MeetingId(1), SessionId(1), &pid());
        assert_ne!(a, b);
        assert_ne!(na, nb);
        assert_eq!(ResumeKey::generate_secret().len(), 64);
    }
}
