//! The one place that maps failures to protocol error codes and HTTP statuses.

use axum::http::StatusCode;
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
        MessageTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        RoomNotFound => StatusCode::NOT_FOUND,
        RoomFull => StatusCode::CONFLICT,
        Unauthorized => StatusCode::UNAUTHORIZED,
        ServerDraining | ServerBusy | StorageError => StatusCode::SERVICE_UNAVAILABLE,
        InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
