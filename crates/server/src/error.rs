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

pub fn http_status(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        MalformedJson | UnknownType | InvalidMessage | InvalidRoomName | InvalidDisplayName
        | ChatTooLong | ChatEmpty | MediaError | UnsupportedVersion | NotJoined | AlreadyJoined => {
            StatusCode::BAD_REQUEST
        }
        InvalidEmail | WeakPassword => StatusCode::BAD_REQUEST,
        MessageTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        InvalidCredentials | SignInRequired | PasswordRequired | WrongPassword => {
            StatusCode::UNAUTHORIZED
        }
        Forbidden | SignupClosed | NotInvited => StatusCode::FORBIDDEN,
        NotFound => StatusCode::NOT_FOUND,
        EmailTaken | RoomNameTaken => StatusCode::CONFLICT,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        RoomNotFound => StatusCode::NOT_FOUND,
        RoomFull => StatusCode::CONFLICT,
        Unauthorized => StatusCode::UNAUTHORIZED,
        ServerDraining | ServerBusy | StorageError => StatusCode::SERVICE_UNAVAILABLE,
        InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// REST answers: `{"error": {"code", "message"}}` with the status of the code. Storage and internal
/// details go to the log only.
impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        match &self {
            ServerError::Storage(e) => tracing::warn!(error = %e, "request failed: storage"),
            ServerError::Internal(e) => tracing::error!(error = %e, "request failed"),
            ServerError::Client { .. } => {}
        }
        let body = serde_json::json!({
            "error": { "code": self.code().as_str(), "message": self.public_message() }
        });
        (self.http_status(), axum::Json(body)).into_response()
    }
}
