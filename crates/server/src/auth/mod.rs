//! Accounts in the server: passwords (Argon2id), browser sign-in sessions, and the sign-in,
//! sign-up, sign-out and password routes of the REST API.

pub mod apikeys;
pub mod caller;
mod keys_api;
pub mod limits;
pub mod origin;
pub mod password;
mod routes;
pub mod token;
pub mod tokens;

use std::sync::Arc;

use axum::http::HeaderMap;
use convene_store::UserRecord;

pub use caller::{caller, Caller};
pub use routes::routes as account_routes;

/// The routes of accounts and of API keys.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<std::sync::Arc<crate::state::AppState>> {
    account_routes().merge(keys_api::routes())
}

use crate::clock::now_ms;
use crate::error::ServerError;
use crate::state::AppState;

/// The account signed in on this request's browser session, if any.
pub async fn signed_in(
    state: &Arc<AppState>,
    headers: &HeaderMap,
) -> Result<Option<UserRecord>, ServerError> {
    let Some(token) = token::from_headers(headers) else {
        return Ok(None);
    };
    let found = state
        .store
        .auth_session(&token::token_hash(&token), now_ms())
        .await?;
    Ok(found.map(|(_, user)| user))
}

/// A JSON request body of the REST API; a malformed one is `invalid_message` (serde's text names
/// the field and position and never echoes the input).
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ServerError> {
    serde_json::from_slice(body).map_err(|e| {
        ServerError::client(
            convene_proto::ErrorCode::InvalidMessage,
            format!("invalid request body: {e}"),
        )
    })
}

/// Emails are compared without regard to case or surrounding space. A light check of the shape only:
/// whether an address receives mail is not ours to know.
pub fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let ok = email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.ORG ").as_deref(),
            Some("ada@example.org")
        );
        for bad in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "ada@example",
            "a b@example.org",
            "a@b@c.org",
        ] {
            assert!(normalize_email(bad).is_none(), "{bad}");
        }
        assert!(normalize_email(&format!("{}@example.org", "a".repeat(65))).is_none());
    }
}
