//! Validation of names that come from the network.

use convene_proto::{ErrorCode, RoomId};

use crate::error::ServerError;

/// Room names are case-insensitive: `Team-Sync` and `team-sync` are one room. Allowed: letters a-z,
/// digits, `-` and `_`, from 1 to `max` characters, starting with a letter or digit.
pub fn room_name(raw: &str, max: usize) -> Result<RoomId, ServerError> {
    let name = raw.trim().to_ascii_lowercase();
    let bad =
        |why: &str| ServerError::client(ErrorCode::InvalidRoomName, format!("room name {why}"));
    if name.is_empty() {
        return Err(bad("is empty"));
    }
    if name.chars().count() > max {
        return Err(bad(&format!("is longer than {max} characters")));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(bad("may contain only letters a-z, digits, '-' and '_'"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(bad("must start with a letter or a digit"));
    }
    Ok(RoomId(name))
}

/// Display names are trimmed, must not be empty, are bounded, and may not contain control characters.
pub fn display_name(raw: &str, max: usize) -> Result<String, ServerError> {
    let name: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let bad = |why: String| {
        ServerError::client(ErrorCode::InvalidDisplayName, format!("display name {why}"))
    };
    if name.is_empty() {
        return Err(bad("is empty".into()));
    }
    if name.chars().count() > max {
        return Err(bad(format!("is longer than {max} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("contains control characters".into()));
    }
    Ok(name)
}

/// Chat text: not blank, at most `max` characters (characters, not bytes, so every script gets the same).
pub fn chat_text(raw: &str, max: usize) -> Result<String, ServerError> {
    if raw.trim().is_empty() {
        return Err(ServerError::client(
            ErrorCode::ChatEmpty,
            "chat message is empty",
        ));
    }
    let len = raw.chars().count();
    if len > max {
        return Err(ServerError::client(
            ErrorCode::ChatTooLong,
            format!("chat message has {len} characters; the limit is {max}"),
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names() {
        assert_eq!(room_name(" Team-Sync ", 64).unwrap().0, "team-sync");
        assert!(room_name("", 64).is_err());
        assert!(room_name("a b", 64).is_err());
        assert!(room_name("-x", 64).is_err());
        assert!(room_name("ünï", 64).is_err());
        assert!(room_name(&"a".repeat(64), 64).is_ok());
        assert!(room_name(&"a".repeat(65), 64).is_err());
    }

    #[test]
    fn display_names() {
        assert_eq!(
            display_name("  Ada   Lovelace ", 64).unwrap(),
            "Ada Lovelace"
        );
        assert!(display_name("   ", 64).is_err());
        assert!(display_name("a\u{7}b", 64).is_err());
        assert!(display_name(&"é".repeat(64), 64).is_ok());
        assert!(display_name(&"é".repeat(65), 64).is_err());
    }

    #[test]
    fn chat() {
        assert!(chat_text(" ", 10).is_err());
        assert!(chat_text(&"ж".repeat(10), 10).is_ok());
        assert_eq!(
            chat_text(&"x".repeat(11), 10).unwrap_err().code(),
            ErrorCode::ChatTooLong
        );
    }
}
