//! Passwords: Argon2id (the RustCrypto `argon2` crate, OWASP's minimum parameters: 19 MiB, 2 passes),
//! stored as PHC strings, so that parameters can be raised later without breaking old hashes.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use convene_proto::ErrorCode;

use crate::error::ServerError;

/// Longer input only costs the hash time; no one types more.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Refuses passwords too short to be worth hashing, or absurdly long.
pub fn check_policy(password: &str, min_chars: usize) -> Result<(), ServerError> {
    let n = password.chars().count();
    if n < min_chars {
        return Err(ServerError::client(
            ErrorCode::WeakPassword,
            format!("the password has {n} characters; use at least {min_chars}"),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(ServerError::client(
            ErrorCode::WeakPassword,
            format!("the password has {n} characters; the limit is {MAX_PASSWORD_CHARS}"),
        ));
    }
    Ok(())
}

/// A PHC string of `password` with a fresh random salt. Slow on purpose: call off the async runtime.
pub fn hash(password: &str) -> Result<String, ServerError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the stored PHC string (the comparison is constant-time inside
/// `argon2`). A malformed stored hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Spends the time of one verification for a sign-in whose email has no account, so that the answer
/// takes as long as a wrong password's and does not tell which emails exist.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("convene-no-such-account").unwrap_or_default());
    let _ = verify(password, stored);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterz", &a));
        assert!(!verify("anything", "not a phc string"));
        verify_nothing("x");
    }

    #[test]
    fn the_policy_bounds_length_in_characters() {
        assert!(check_policy("short", 10).is_err());
        assert!(check_policy("ten chars!", 10).is_ok());
        assert!(check_policy("密码密码密码密码密码", 10).is_ok());
        assert!(check_policy(&"x".repeat(257), 10).is_err());
    }
}
