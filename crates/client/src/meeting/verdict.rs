//! What to do when the connection ends or a join is refused: come back, or stop for good
//! (docs/protocol.md, *Life of a connection*, *Restarts and crashes*, *WebSocket close codes*).

use convene_proto::{close, ErrorCode};

use super::types::EndReason;
use crate::media::MediaError;
use crate::signaling::ClientError;

/// After the media session (and with it the connection) ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Reconnect with the resume token; the reason is for [`super::types::MeetingEvent::Reconnecting`].
    Retry(String),
    Final(EndReason),
}

/// `error` ended the session; `closing` is the reason of the last `closing` message, if one came.
pub(crate) fn after_error(error: &MediaError, closing: Option<&str>) -> Verdict {
    let code = match error {
        MediaError::Signaling(ClientError::Closed(c)) => c.code,
        _ => None,
    };
    match (closing, code) {
        (_, Some(close::REPLACED)) => Verdict::Final(EndReason::Replaced),
        (Some("denied"), _) => Verdict::Final(EndReason::Denied),
        // A 4003 is final even when its `closing` was not read.
        (Some("removed"), _) | (_, Some(close::REMOVED)) => Verdict::Final(EndReason::Removed),
        (Some("meeting_ended"), _) => Verdict::Final(EndReason::MeetingEnded),
        (Some("left"), _) => Verdict::Final(EndReason::Left),
        (Some("server_shutdown"), _) => Verdict::Retry("server_restarting".into()),
        _ => Verdict::Retry(format!("connection_lost: {error}")),
    }
}

/// Whether a join refused with `code` is worth another attempt while reconnecting: the passing
/// states of a restart (the old process draining, everyone returning at once) are; verdicts on
/// who may enter are not.
pub(crate) fn retryable(code: ErrorCode) -> bool {
    use ErrorCode::*;
    match code {
        ServerDraining | ServerBusy | StorageError | InternalError | RateLimited => true,
        RoomFull | RoomNotFound | Unauthorized | InvalidRoomName | InvalidDisplayName
        | UnsupportedVersion | Forbidden | SignInRequired | NotInvited | PasswordRequired
        | WrongPassword | InvalidToken | TokenExpired | TokenNotYetValid | TokenWrongRoom
        | TooManyFromAddress | Denied | Removed | MeetingLocked => false,
        // Codes no join answers with: a server that sends one is confused, not final.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signaling::Closed;

    fn closed(code: Option<u16>) -> MediaError {
        MediaError::Signaling(ClientError::Closed(Closed {
            code,
            reason: String::new(),
        }))
    }

    #[test]
    fn terminal_closes_are_final() {
        assert_eq!(
            after_error(&closed(Some(close::REPLACED)), None),
            Verdict::Final(EndReason::Replaced)
        );
        assert_eq!(
            after_error(&closed(Some(close::REMOVED)), None),
            Verdict::Final(EndReason::Removed)
        );
        assert_eq!(
            after_error(&closed(Some(close::REMOVED)), Some("denied")),
            Verdict::Final(EndReason::Denied)
        );
        assert_eq!(
            after_error(&closed(Some(close::NORMAL)), Some("meeting_ended")),
            Verdict::Final(EndReason::MeetingEnded)
        );
        assert_eq!(
            after_error(&closed(Some(close::NORMAL)), Some("left")),
            Verdict::Final(EndReason::Left)
        );
    }

    #[test]
    fn losses_and_restarts_are_retried() {
        let shutdown = after_error(&closed(Some(close::GOING_AWAY)), Some("server_shutdown"));
        assert_eq!(shutdown, Verdict::Retry("server_restarting".into()));
        for e in [
            closed(None),
            closed(Some(close::GOING_AWAY)),
            closed(Some(close::POLICY)),
            MediaError::Signaling(ClientError::Timeout),
            MediaError::Io(std::io::ErrorKind::ConnectionReset.into()),
        ] {
            assert!(
                matches!(after_error(&e, None), Verdict::Retry(_)),
                "{e} is retried"
            );
        }
    }

    #[test]
    fn only_passing_refusals_are_retried() {
        assert!(retryable(ErrorCode::ServerDraining));
        assert!(retryable(ErrorCode::ServerBusy));
        for code in [
            ErrorCode::Removed,
            ErrorCode::Denied,
            ErrorCode::MeetingLocked,
            ErrorCode::RoomFull,
            ErrorCode::TokenExpired,
            ErrorCode::WrongPassword,
        ] {
            assert!(!retryable(code), "{code} is final");
        }
    }
}
