//! Who makes a REST request: a signed-in browser (its session cookie) or a program (an API key in
//! `Authorization: Basic`). A bad key is refused outright rather than treated as no key.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use convene_proto::ErrorCode;
use convene_store::UserRecord;

use super::{apikeys, signed_in};
use crate::error::ServerError;
use crate::state::AppState;

#[derive(Clone, Debug)]
pub enum Caller {
    User(UserRecord),
    /// The key's public id.
    ApiKey(String),
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::User(u) if u.is_admin)
    }

    pub fn user(&self) -> Option<&UserRecord> {
        match self {
            Caller::User(u) => Some(u),
            Caller::ApiKey(_) => None,
        }
    }
}

/// The caller of a request; `unauthorized` if there is none or its key is bad.
pub async fn caller(state: &Arc<AppState>, headers: &HeaderMap) -> Result<Caller, ServerError> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let (id, secret) = auth
            .to_str()
            .ok()
            .and_then(apikeys::parse_basic)
            .ok_or_else(|| {
                ServerError::client(
                    ErrorCode::Unauthorized,
                    "Authorization takes an API key as HTTP Basic `id:secret`",
                )
            })?;
        let id = state
            .api_keys
            .verify(state.store.as_ref(), &id, &secret)
            .await?;
        return Ok(Caller::ApiKey(id));
    }
    match signed_in(state, headers).await? {
        Some(user) => Ok(Caller::User(user)),
        None => Err(ServerError::client(
            ErrorCode::Unauthorized,
            "sign in, or give an API key (HTTP Basic id:secret)",
        )),
    }
}
