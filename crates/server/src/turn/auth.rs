//! Long-term credentials (RFC 8489 9.2) made the coturn REST way: the username is
//! `<expiry unix seconds>:<participant>` and the password base64(HMAC-SHA1(secret, username)), so
//! the server needs no table of users: it recomputes the password from the username. Nonces are
//! stateless too: an expiry and a MAC of it under a key made at start.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use super::stun::{attr, Message};
use crate::media::ice_servers::turn_password;

/// How long a nonce is good for; a request with an older one gets 438 Stale Nonce and retries.
const NONCE_SECS: u64 = 600;

pub struct Credentials {
    secret: String,
    pub realm: String,
    nonce_key: [u8; 32],
}

/// Who a request was authenticated as.
#[derive(Debug, Clone)]
pub struct Authed {
    /// The participant the credential was made for: allocations are counted per participant.
    pub user: String,
    pub username: String,
    /// MD5(username:realm:password): signs our responses to this user.
    pub key: [u8; 16],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No MESSAGE-INTEGRITY yet: answer 401 with a realm and nonce (the first round trip).
    Challenge,
    /// 401: forged, expired or malformed credentials.
    Unauthorized(&'static str),
    /// 438: a valid credential with an old nonce.
    StaleNonce,
    /// 400: MESSAGE-INTEGRITY without USERNAME, REALM or NONCE.
    BadRequest,
}

impl Credentials {
    pub fn new(secret: String, realm: String) -> Credentials {
        use rand::RngCore;
        let mut nonce_key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut nonce_key);
        Credentials {
            secret,
            realm,
            nonce_key,
        }
    }

    /// A username and password for `participant`, valid until `expiry` (unix seconds).
    pub fn issue(&self, participant: &str, expiry: u64) -> (String, String) {
        let username = format!("{expiry}:{participant}");
        let password = turn_password(&self.secret, &username);
        (username, password)
    }

    pub fn nonce(&self, now: u64) -> String {
        let until = now + NONCE_SECS;
        format!("{until:x}-{}", self.nonce_mac(until))
    }

    fn nonce_mac(&self, until: u64) -> String {
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha1>::new_from_slice(&self.nonce_key).expect("any key length");
        mac.update(&until.to_be_bytes());
        mac.finalize().into_bytes()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Checks a request's long-term credential: nonce, username's expiry, MESSAGE-INTEGRITY.
    pub fn check(&self, msg: &Message<'_>, now: u64) -> Result<Authed, AuthError> {
        if !msg.has_integrity() {
            return Err(AuthError::Challenge);
        }
        let (Some(username), Some(realm), Some(nonce)) = (
            msg.text(attr::USERNAME),
            msg.text(attr::REALM),
            msg.text(attr::NONCE),
        ) else {
            return Err(AuthError::BadRequest);
        };
        let (expiry, user) = username.split_once(':').ok_or(AuthError::Unauthorized(
            "username is not expiry:participant",
        ))?;
        let expiry: u64 = expiry
            .parse()
            .map_err(|_| AuthError::Unauthorized("username is not expiry:participant"))?;
        if user.is_empty() || username.len() > 512 {
            return Err(AuthError::Unauthorized(
                "username is not expiry:participant",
            ));
        }
        if realm != self.realm {
            return Err(AuthError::Unauthorized("wrong realm"));
        }
        let password = turn_password(&self.secret, username);
        let key = long_term_key(username, realm, &password);
        if !msg.verify(&key) {
            return Err(AuthError::Unauthorized("wrong credentials"));
        }
        // After the MAC: an expired or stale answer tells nothing to one without the password.
        if expiry <= now {
            return Err(AuthError::Unauthorized("credentials expired"));
        }
        if !self.nonce_valid(nonce, now) {
            return Err(AuthError::StaleNonce);
        }
        Ok(Authed {
            user: user.to_owned(),
            username: username.to_owned(),
            key,
        })
    }

    fn nonce_valid(&self, nonce: &str, now: u64) -> bool {
        let Some((until, mac)) = nonce.split_once('-') else {
            return false;
        };
        let Ok(until) = u64::from_str_radix(until, 16) else {
            return false;
        };
        let ok: bool = self
            .nonce_mac(until)
            .as_bytes()
            .ct_eq(mac.as_bytes())
            .into();
        ok && until > now
    }
}

pub fn long_term_key(username: &str, realm: &str, password: &str) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(format!("{username}:{realm}:{password}").as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::stun::{method, Builder, Class};

    fn request(c: &Credentials, username: &str, password: &str, nonce: &str) -> Vec<u8> {
        let key = long_term_key(username, &c.realm, password);
        Builder::new(method::ALLOCATE, Class::Request, [3; 12])
            .attr(attr::USERNAME, username.as_bytes())
            .attr(attr::REALM, c.realm.as_bytes())
            .attr(attr::NONCE, nonce.as_bytes())
            .finish(Some(&key))
    }

    #[test]
    fn accepts_its_own_credentials_and_refuses_the_rest() {
        let c = Credentials::new("s3cret".into(), "convene".into());
        let now = 1_700_000_000;
        let nonce = c.nonce(now);
        let (user, pass) = c.issue("p_1", now + 3600);
        let ok = request(&c, &user, &pass, &nonce);
        let a = c
            .check(&Message::parse(&ok).expect("parse"), now)
            .expect("authed");
        assert_eq!(a.user, "p_1");

        let forged = request(&c, &user, "not-the-password", &nonce);
        let e = c.check(&Message::parse(&forged).expect("parse"), now);
        assert_eq!(e.err(), Some(AuthError::Unauthorized("wrong credentials")));

        // Another participant's name with this one's password.
        let (_, other) = c.issue("p_2", now + 3600);
        let swapped = request(&c, &user, &other, &nonce);
        assert!(c
            .check(&Message::parse(&swapped).expect("parse"), now)
            .is_err());

        let (old_user, old_pass) = c.issue("p_1", now - 1);
        let expired = request(&c, &old_user, &old_pass, &nonce);
        let e = c.check(&Message::parse(&expired).expect("parse"), now);
        assert_eq!(
            e.err(),
            Some(AuthError::Unauthorized("credentials expired"))
        );

        let e = c.check(&Message::parse(&ok).expect("parse"), now + NONCE_SECS);
        assert_eq!(e.err(), Some(AuthError::StaleNonce));
        let bad_nonce = request(&c, &user, &pass, "ffffffffffff-00");
        let e = c.check(&Message::parse(&bad_nonce).expect("parse"), now);
        assert_eq!(e.err(), Some(AuthError::StaleNonce));

        let other_server = Credentials::new("other".into(), "convene".into());
        let e = other_server.check(&Message::parse(&ok).expect("parse"), now);
        assert_eq!(e.err(), Some(AuthError::Unauthorized("wrong credentials")));

        let bare = Builder::new(method::ALLOCATE, Class::Request, [3; 12]).finish(None);
        let e = c.check(&Message::parse(&bare).expect("parse"), now);
        assert_eq!(e.err(), Some(AuthError::Challenge));
    }

    #[test]
    fn long_term_key_is_md5_of_user_realm_password() {
        // Computed independently with Python: hashlib.md5(b"user:realm:pass").hexdigest()
        let k = long_term_key("user", "realm", "pass");
        let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "8493fbc53ba582fb4c044c456bdc40eb");
    }
}
