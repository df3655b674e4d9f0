//! The one place that maps failures to protocol error codes and HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use convene_proto::{ErrorCode, ServerMessage};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The client asked for something it may not have or sent something wrong.
    #[error("{message}")]
    Client { code: ErrorCode, message: String },
    /// The meeting record could not be written; nothing was acknowledged.
    #[error("meeting record unavailable: {0}")]
    Storage(#[from] convene_store::StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServerError {
    pub fn client(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerError::Client {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ServerError::Client { code, .. } => *code,
            ServerError::Storage(_) => ErrorCode::StorageError,
            ServerError::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The message sent to the client. Storage and internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            ServerError::Client { message, .. } => message.clone(),
            ServerError::Storage(_) => "the meeting record could not be written; try again".into(),
            ServerError::Internal(_) => "internal server error".into(),
        }
    }

    pub fn to_message(&self, request: Option<&str>) -> ServerMessage {
        ServerMessage::Error {
            code: self.code(),
            message: self.public_message(),
            request: request.map(str::to_owned),
        }
    }

    pub fn http_status(&self) -> StatusCode {
        http_status(self.code())
    }
}

/// What a client is told when the media plane refuses one of its requests: short sentences of our
/// own. The library's text (an SDP parser's internals, even heap addresses) is only logged.
pub fn media_failure(e: &convene_media::MediaError) -> ServerError {
    use convene_media::MediaError as E;
    let message = match e {
        E::UnknownParticipant(_) => "no media session is open for you on this server",
        E::BadSdp(_) => "the SDP could not be parsed",
        E::NoPendingOffer(_) => {
            "no server offer is waiting for an answer (it was replaced, e.g. after crossing offers); answer the next sdp_offer"
        }
        E::BadCandidate(_) => {
            "the ICE candidate could not be parsed; send the `candidate:` line as RTCIceCandidate.candidate gives it"
        }
        E::Rtc(_) => "the SDP could not be applied to your media session",
        // Built by the media core from the client's own mid and fixed words.
        E::BadTrackDeclaration { .. } => {
            return ServerError::client(ErrorCode::MediaError, e.to_string())
        }
        E::DuplicateParticipant(_) | E::DtlsCertificate => {
            return ServerError::Internal(e.to_string())
        }
    };
    ServerError::client(ErrorCode::MediaError, message)
}

pub fn http_status(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        MalformedJson | UnknownType | InvalidMessage | InvalidRoomName | InvalidDisplayName
        | ChatTooLong | ChatEmpty | InvalidReaction | MediaError | UnsupportedVersion
        | NotJoined | AlreadyJoined => StatusCode::BAD_REQUEST,
        InvalidEmail | WeakPassword => StatusCode::BAD_REQUEST,
        MessageTooLarge | FileTooLarge | FileQuotaExceeded | ImageTooLarge => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        InvalidCredentials | SignInRequired | PasswordRequired | WrongPassword | InvalidToken
        | TokenExpired | TokenNotYetValid => StatusCode::UNAUTHORIZED,
        Forbidden | SignupClosed | NotInvited | TokenWrongRoom | Denied | Removed | MutedByHost
        | InLobby => StatusCode::FORBIDDEN,
        MeetingLocked => StatusCode::CONFLICT,
        NotFound => StatusCode::NOT_FOUND,
        EmailTaken | RoomNameTaken => StatusCode::CONFLICT,
        RateLimited | TooManyFromAddress => StatusCode::TOO_MANY_REQUESTS,
        RoomNotFound => StatusCode::NOT_FOUND,
        RoomFull => StatusCode::CONFLICT,
        Unauthorized => StatusCode::UNAUTHORIZED,
        ServerDraining | ServerBusy | StorageError => StatusCode::SERVICE_UNAVAILABLE,
        InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// REST answers of handlers that fail with a [`ServerError`]: the shape of [`ApiError`].
impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        ApiError::Server(self).into_response()
    }
}

/// Errors of the HTTP API. Every one is answered with the same JSON shape:
/// `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug)]
pub enum ApiError {
    /// No such route or record.
    NotFound(String),
    /// A path segment, query parameter or header that cannot be used.
    BadRequest(String),
    /// Refused on purpose (e.g. a WebSocket from a page of another site).
    Forbidden(String),
    MethodNotAllowed,
    Server(ServerError),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Server(e) => e.code().as_str(),
        }
    }

    pub fn http_status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Server(e) => e.http_status(),
        }
    }

    pub fn public_message(&self) -> String {
        match self {
            ApiError::NotFound(m) | ApiError::BadRequest(m) | ApiError::Forbidden(m) => m.clone(),
            ApiError::MethodNotAllowed => "this path does not take that method".into(),
            ApiError::Server(e) => e.public_message(),
        }
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        ApiError::Server(e)
    }
}

impl From<convene_store::StoreError> for ApiError {
    fn from(e: convene_store::StoreError) -> Self {
        ApiError::Server(ServerError::Storage(e))
    }
}

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        // A refusal is the client's business; storage and internal failures are ours to log (their
        // details stay in the log).
        if let ApiError::Server(e @ (ServerError::Storage(_) | ServerError::Internal(_))) = &self {
            tracing::warn!(error = %e, "HTTP request failed");
        }
        let body = serde_json::json!({
            "error": { "code": self.code(), "message": self.public_message() }
        });
        (self.http_status(), axum::Json(body)).into_response()
    }
}
