//! Stable error codes. Clients switch on the code; the message is for people and may change.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not valid JSON (or not a JSON object).
    MalformedJson,
    /// The `type` field is missing or names no message.
    UnknownType,
    /// A known message with missing, extra or wrongly typed fields.
    InvalidMessage,
    /// A frame over the size limit; the server closes with WebSocket code 1009.
    MessageTooLarge,
    /// Too many messages too fast; persisting closes the connection (code 1008).
    RateLimited,
    UnsupportedVersion,
    /// A room message before `join`.
    NotJoined,
    /// A second `join` on the same connection.
    AlreadyJoined,
    InvalidRoomName,
    InvalidDisplayName,
    /// The room does not exist and rooms are not created by link.
    RoomNotFound,
    RoomFull,
    /// The access token is missing, invalid or does not grant this room.
    Unauthorized,
    ChatTooLong,
    ChatEmpty,
    /// A reaction that is not one of the fixed set (`REACTIONS`).
    InvalidReaction,
    /// Media negotiation failed (bad SDP, unknown track ...).
    MediaError,
    /// The server is shutting down and accepts no joins.
    ServerDraining,
    /// Every media worker that could take the participant is saturated; try again later (or
    /// another node).
    ServerBusy,
    /// The meeting record could not be written; nothing was acknowledged.
    StorageError,
    InternalError,
    /// Sign-in failed: the email or the password is wrong (which one is not said).
    InvalidCredentials,
    /// Signed in (or none needed), but not allowed to do this.
    Forbidden,
    /// No such thing (or not one this caller may know of).
    NotFound,
    /// An account with this email exists already.
    EmailTaken,
    InvalidEmail,
    /// The password is too short or too long.
    WeakPassword,
    /// Accounts are made by an admin on this server.
    SignupClosed,
    /// This room is for signed-in users (or invited ones): sign in first.
    SignInRequired,
    /// This room is for invited people, and this account is not one of them.
    NotInvited,
    /// This room has a password: send it in `join.password`.
    PasswordRequired,
    WrongPassword,
    /// Someone planned a room of this name already.
    RoomNameTaken,
    /// The access token is malformed, not signed by a key of this server, or signed otherwise
    /// than its key requires.
    InvalidToken,
    TokenExpired,
    /// The access token's `nbf` is still in the future.
    TokenNotYetValid,
    /// The access token is for another room.
    TokenWrongRoom,
    /// This address has as many guests in the room as it may.
    TooManyFromAddress,
    /// A host or co-host turned you away from the lobby.
    Denied,
    /// You were removed from this meeting and cannot come back to it.
    Removed,
    /// The meeting is locked: nobody new gets in.
    MeetingLocked,
    /// A host muted this source: ask to unmute (`ask_to_unmute`) and wait until allowed.
    MutedByHost,
    /// You are waiting in the lobby: nothing but `leave` until you are admitted.
    InLobby,
    /// A file over the server's limit per file (`files.max_file_bytes`).
    FileTooLarge,
    /// The meeting's files would hold more than its quota (`files.max_meeting_bytes`).
    FileQuotaExceeded,
    /// An image larger in pixels than the server decodes (`files.image_max_pixels`): refused as a
    /// possible decompression bomb.
    ImageTooLarge,
}

impl ErrorCode {
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::MalformedJson,
        ErrorCode::UnknownType,
        ErrorCode::InvalidMessage,
        ErrorCode::MessageTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::UnsupportedVersion,
        ErrorCode::NotJoined,
        ErrorCode::AlreadyJoined,
        ErrorCode::InvalidRoomName,
        ErrorCode::InvalidDisplayName,
        ErrorCode::RoomNotFound,
        ErrorCode::RoomFull,
        ErrorCode::Unauthorized,
        ErrorCode::ChatTooLong,
        ErrorCode::ChatEmpty,
        ErrorCode::InvalidReaction,
        ErrorCode::MediaError,
        ErrorCode::ServerDraining,
        ErrorCode::ServerBusy,
        ErrorCode::StorageError,
        ErrorCode::InternalError,
        ErrorCode::InvalidCredentials,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::EmailTaken,
        ErrorCode::InvalidEmail,
        ErrorCode::WeakPassword,
        ErrorCode::SignupClosed,
        ErrorCode::SignInRequired,
        ErrorCode::NotInvited,
        ErrorCode::PasswordRequired,
        ErrorCode::WrongPassword,
        ErrorCode::RoomNameTaken,
        ErrorCode::InvalidToken,
        ErrorCode::TokenExpired,
        ErrorCode::TokenNotYetValid,
        ErrorCode::TokenWrongRoom,
        ErrorCode::TooManyFromAddress,
        ErrorCode::Denied,
        ErrorCode::Removed,
        ErrorCode::MeetingLocked,
        ErrorCode::MutedByHost,
        ErrorCode::InLobby,
        ErrorCode::FileTooLarge,
        ErrorCode::FileQuotaExceeded,
        ErrorCode::ImageTooLarge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::MessageTooLarge => "message_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::InvalidRoomName => "invalid_room_name",
            ErrorCode::InvalidDisplayName => "invalid_display_name",
            ErrorCode::RoomNotFound => "room_not_found",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::ChatTooLong => "chat_too_long",
            ErrorCode::ChatEmpty => "chat_empty",
            ErrorCode::InvalidReaction => "invalid_reaction",
            ErrorCode::MediaError => "media_error",
            ErrorCode::ServerDraining => "server_draining",
            ErrorCode::ServerBusy => "server_busy",
            ErrorCode::StorageError => "storage_error",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::InvalidEmail => "invalid_email",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::SignupClosed => "signup_closed",
            ErrorCode::SignInRequired => "sign_in_required",
            ErrorCode::NotInvited => "not_invited",
            ErrorCode::PasswordRequired => "password_required",
            ErrorCode::WrongPassword => "wrong_password",
            ErrorCode::RoomNameTaken => "room_name_taken",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenNotYetValid => "token_not_yet_valid",
            ErrorCode::TokenWrongRoom => "token_wrong_room",
            ErrorCode::TooManyFromAddress => "too_many_from_address",
            ErrorCode::Denied => "denied",
            ErrorCode::Removed => "removed",
            ErrorCode::MeetingLocked => "meeting_locked",
            ErrorCode::MutedByHost => "muted_by_host",
            ErrorCode::InLobby => "in_lobby",
            ErrorCode::FileTooLarge => "file_too_large",
            ErrorCode::FileQuotaExceeded => "file_quota_exceeded",
            ErrorCode::ImageTooLarge => "image_too_large",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
