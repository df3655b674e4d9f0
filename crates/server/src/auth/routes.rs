//! `/api/v1/auth/*`: sign up, sign in, sign out, change password, who am I.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use convene_proto::ErrorCode;
use convene_store::{NewAuthSession, NewUser, UserRecord};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{json_body, normalize_email, origin, password, signed_in, token};
use crate::api::models::{Refusals, UserReply};
use crate::clock::now_ms;
use crate::config::Signup;
use crate::error::ServerError;
use crate::net::ConnInfo;
use crate::state::AppState;

/// Bodies here are a few short strings.
const MAX_BODY: usize = 16 * 1024;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(signin))
        .routes(routes!(signout))
        .routes(routes!(change_password))
        .routes(routes!(me))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignUp {
    email: String,
    password: String,
    display_name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignIn {
    email: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: String,
    new_password: String,
}

type Answer = Result<Response, ServerError>;

/// Makes an account and signs it in (the answer sets the session cookie).
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "accounts", request_body = SignUp,
    responses((status = 201, body = UserReply), (status = 409, body = crate::api::models::ErrorBody, description = "`email_taken`"), Refusals))]
async fn signup(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    guard_origin(&state, &headers, &conn)?;
    if state.config.auth.signup == Signup::Closed {
        return Err(ServerError::client(
            ErrorCode::SignupClosed,
            "accounts on this server are made by an administrator",
        ));
    }
    let req: SignUp = json_body(&body)?;
    let email = normalize_email(&req.email).ok_or_else(|| {
        ServerError::client(
            ErrorCode::InvalidEmail,
            "that does not look like an email address",
        )
    })?;
    let limits = &state.config.limits;
    let display_name =
        crate::validate::display_name(&req.display_name, limits.display_name_max_chars as usize)?;
    password::check_policy(&req.password, state.config.auth.min_password_chars as usize)?;
    let hash = password::hash_off_runtime(req.password).await?;
    let new = NewUser {
        email,
        display_name,
        password_hash: hash,
        // Admins are made on the command line only (`convene user add --admin`).
        is_admin: false,
        created_at: now_ms(),
    };
    let id = match state.store.create_user(&new).await {
        Ok(id) => id,
        Err(convene_store::StoreError::Conflict(_)) => {
            // Without email verification a sign-up cannot hide which addresses have accounts.
            return Err(ServerError::client(
                ErrorCode::EmailTaken,
                "an account with this email exists; sign in instead",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let user = state
        .store
        .user(id)
        .await?
        .ok_or_else(|| ServerError::Internal("the new account vanished".into()))?;
    tracing::info!(user = id.0, "account created");
    signed_in_response(&state, StatusCode::CREATED, &user).await
}

/// Signs in: the answer sets the session cookie. The same refusal for an unknown email and a
/// wrong password.
#[utoipa::path(post, path = "/api/v1/auth/signin", tag = "accounts", request_body = SignIn,
    responses((status = 200, body = UserReply), Refusals))]
async fn signin(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    guard_origin(&state, &headers, &conn)?;
    let req: SignIn = json_body(&body)?;
    let ip = ConnInfo::peer_ip(conn.as_ref().map(|Extension(c)| c));
    // An address that cannot be an account still counts against the address and takes the time of
    // a real check, so the answer says nothing about which emails exist.
    let email =
        normalize_email(&req.email).unwrap_or_else(|| req.email.chars().take(254).collect());
    if let Some(wait) = state.signin_limiter.check(&email, ip, Instant::now()).await {
        return Ok(too_many(wait));
    }
    let user = state.store.user_by_email(&email).await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = password::verify_off_runtime(req.password, stored).await?;
    let Some(user) = user.filter(|_| matches) else {
        state
            .signin_limiter
            .failed(&email, ip, Instant::now())
            .await;
        return Err(ServerError::client(
            ErrorCode::InvalidCredentials,
            "the email or the password is wrong",
        ));
    };
    state.signin_limiter.succeeded(&email).await;
    if user.disabled {
        return Err(ServerError::client(
            ErrorCode::Forbidden,
            "this account is disabled",
        ));
    }
    signed_in_response(&state, StatusCode::OK, &user).await
}

/// Ends this browser's session.
#[utoipa::path(post, path = "/api/v1/auth/signout", tag = "accounts",
    responses((status = 204, description = "signed out; the cookie is cleared"), Refusals))]
async fn signout(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
) -> Answer {
    guard_origin(&state, &headers, &conn)?;
    if let Some(t) = token::from_headers(&headers) {
        state
            .store
            .revoke_auth_session(&token::token_hash(&t), now_ms())
            .await?;
    }
    let cookie = token::clear_cookie(tls_on(&state));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Changes the password; every other session of the account is signed out.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "accounts", request_body = ChangePassword,
    security(("session" = [])), responses((status = 200, body = UserReply), Refusals))]
async fn change_password(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    guard_origin(&state, &headers, &conn)?;
    let user = signed_in(&state, &headers)
        .await?
        .ok_or_else(sign_in_first)?;
    let req: ChangePassword = json_body(&body)?;
    let ip = ConnInfo::peer_ip(conn.as_ref().map(|Extension(c)| c));
    if let Some(wait) = state
        .signin_limiter
        .check(&user.email, ip, Instant::now())
        .await
    {
        return Ok(too_many(wait));
    }
    let ok = password::verify_off_runtime(req.current_password, user.password_hash.clone()).await?;
    if !ok {
        state
            .signin_limiter
            .failed(&user.email, ip, Instant::now())
            .await;
        return Err(ServerError::client(
            ErrorCode::InvalidCredentials,
            "the current password is wrong",
        ));
    }
    password::check_policy(
        &req.new_password,
        state.config.auth.min_password_chars as usize,
    )?;
    let hash = password::hash_off_runtime(req.new_password).await?;
    // Every browser signed in to the account is signed out, this one gets a new session.
    state
        .store
        .set_user_password(user.id, &hash, now_ms())
        .await?;
    tracing::info!(user = user.id.0, "password changed; sessions revoked");
    signed_in_response(&state, StatusCode::OK, &user).await
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "accounts", security(("session" = [])),
    responses((status = 200, body = UserReply), Refusals))]
async fn me(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Answer {
    let user = signed_in(&state, &headers)
        .await?
        .ok_or_else(sign_in_first)?;
    Ok(Json(UserReply {
        user: (&user).into(),
    })
    .into_response())
}

/// Opens a session for `user` and answers with its cookie.
async fn signed_in_response(
    state: &Arc<AppState>,
    status: StatusCode,
    user: &UserRecord,
) -> Answer {
    let ttl_secs = state.config.auth.session_ttl_hours.saturating_mul(3600);
    let now = now_ms();
    let token = token::new_token();
    state
        .store
        .create_auth_session(&NewAuthSession {
            user: user.id,
            token_hash: token::token_hash(&token),
            created_at: now,
            expires_at: now
                .saturating_add(i64::try_from(ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX)),
        })
        .await?;
    let cookie = token::set_cookie(&token, ttl_secs, tls_on(state));
    let body = Json(UserReply { user: user.into() });
    Ok((status, [(header::SET_COOKIE, cookie)], body).into_response())
}

fn guard_origin(
    state: &AppState,
    headers: &HeaderMap,
    conn: &Option<Extension<ConnInfo>>,
) -> Result<(), ServerError> {
    origin::guard(state, headers, conn.as_ref().map(|Extension(c)| c))
}

fn sign_in_first() -> ServerError {
    ServerError::client(ErrorCode::Unauthorized, "sign in first")
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let e = ServerError::client(
        ErrorCode::RateLimited,
        format!("too many failed sign-ins; try again in {secs} s"),
    );
    let mut r = e.into_response();
    if let Ok(v) = secs.to_string().parse() {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn tls_on(state: &AppState) -> bool {
    let tls = &state.config.tls;
    tls.self_signed || !tls.cert.is_empty()
}
