//! Validation of names that come from the network.

use convene_proto::{ErrorCode, RoomId};
use unicode_normalization::UnicodeNormalization;
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

use crate::error::ServerError;

/// The one spelling of a room name: NFKC, lower case (full Unicode case mapping), NFKC again (a
/// lower-case mapping can leave a string unnormalised). `Café`, `CAFÉ` and `cafe\u{301}` are one room.
pub fn canonical_room_name(raw: &str) -> String {
    let folded: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    folded.nfkc().collect()
}

/// Room names are letters and digits of any script, `-` and `_`, from 1 to `max` characters after
/// [`canonical_room_name`], starting with a letter or digit. Refused, with the reason: spaces,
/// punctuation, symbols, control and invisible characters (UTS #39's identifier profile decides what
/// a letter is, so invisible and deprecated characters are not), and names that mix scripts beyond
/// UTS #39's "highly restrictive" level (Latin with Cyrillic, as in a look-alike `pаypal`; Latin with
/// Han, Kana or Hangul is fine).
pub fn room_name(raw: &str, max: usize) -> Result<RoomId, ServerError> {
    let name = canonical_room_name(raw);
    let bad =
        |why: &str| ServerError::client(ErrorCode::InvalidRoomName, format!("room name {why}"));
    if name.is_empty() {
        return Err(bad("is empty"));
    }
    let len = name.chars().count();
    if len > max {
        return Err(bad(&format!("has {len} characters; the limit is {max}")));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c == '-' || c == '_' || c.identifier_allowed()))
    {
        return Err(bad(&format!(
            "may not contain {}: use letters, digits, '-' and '_'",
            describe(c)
        )));
    }
    if !name.starts_with(char::is_alphanumeric) {
        return Err(bad("must start with a letter or a digit"));
    }
    let letters: String = name.chars().filter(|c| *c != '-' && *c != '_').collect();
    if letters.detect_restriction_level() > RestrictionLevel::HighlyRestrictive {
        return Err(bad(
            "mixes scripts in a way that can imitate another name (e.g. Latin with Cyrillic)",
        ));
    }
    Ok(RoomId(name))
}

/// Display names: invisible formatting is removed (bidirectional overrides and isolates, zero-width
/// spaces, soft hyphens, ...), whitespace is trimmed and collapsed; what is left must hold a visible
/// character, be at most `max` characters, and have no control characters. Zero-width joiners and
/// variation selectors stay between visible characters (emoji sequences and Persian need them).
pub fn display_name(raw: &str, max: usize) -> Result<String, ServerError> {
    let bad = |why: String| {
        ServerError::client(ErrorCode::InvalidDisplayName, format!("display name {why}"))
    };
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        return Err(bad(format!(
            "contains a control character ({})",
            describe(c)
        )));
    }
    let cleaned: String = raw.chars().filter(|&c| !is_invisible_format(c)).collect();
    let name: String = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let name = name.trim_matches(is_joiner).to_owned();
    if name.is_empty() {
        return Err(bad("is empty".into()));
    }
    if name.chars().all(|c| is_joiner(c) || c.is_whitespace()) {
        return Err(bad("has no visible characters".into()));
    }
    let len = name.chars().count();
    if len > max {
        return Err(bad(format!("has {len} characters; the limit is {max}")));
    }
    Ok(name)
}

/// Characters that join or select a form of their neighbours, invisible alone.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Invisible formatting that a display name never needs: Unicode's Default_Ignorable_Code_Point and
/// format (Cf) characters, less the joiners above. Listed here (Unicode 16 DerivedCoreProperties and
/// the Cf category) because the crates in the tree do not expose these properties.
fn is_invisible_format(c: char) -> bool {
    if is_joiner(c) {
        return false;
    }
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}'
        | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
        | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E00FF}' | '\u{E01F0}'..='\u{E0FFF}')
}

/// A character as an error message shows it: itself when visible, always with its code point.
fn describe(c: char) -> String {
    if c.is_control() || c.is_whitespace() || is_invisible_format(c) || is_joiner(c) {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("'{c}' (U+{:04X})", u32::from(c))
    }
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

/// A reaction: exactly one of the protocol's fixed set. The refusal lists the set and does not
/// echo what was sent.
pub fn reaction(raw: String) -> Result<String, ServerError> {
    if convene_proto::is_reaction(&raw) {
        return Ok(raw);
    }
    Err(ServerError::client(
        ErrorCode::InvalidReaction,
        format!(
            "`emoji` must be one of {}",
            convene_proto::REACTIONS.join(" ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(s: &str) -> Result<String, String> {
        room_name(s, 64).map(|r| r.0).map_err(|e| e.to_string())
    }

    #[test]
    fn room_names_in_every_script() {
        assert_eq!(room(" Team-Sync ").unwrap(), "team-sync");
        assert_eq!(room("会议室").unwrap(), "会议室");
        assert_eq!(room("회의실").unwrap(), "회의실");
        assert_ne!(room("会议室").unwrap(), room("회의실").unwrap());
        assert_eq!(room("Café").unwrap(), "café");
        assert_eq!(room("CAFÉ").unwrap(), "café");
        // Decomposed (e + combining acute) and full-width forms are the same room.
        assert_eq!(room("cafe\u{301}").unwrap(), "café");
        assert_eq!(room("ＴＥＡＭ").unwrap(), "team");
        assert_eq!(room("Straße").unwrap(), "straße");
        assert_eq!(room("नमस्ते").unwrap(), "नमस्ते");
        assert_eq!(room("東京-tokyo_2").unwrap(), "東京-tokyo_2");
        assert_eq!(room("ünïcode-room").unwrap(), "ünïcode-room");
    }

    #[test]
    fn bad_room_names_say_why() {
        let e = room("Ünïcode room!!").unwrap_err();
        assert!(e.contains("U+0020"), "{e}");
        assert!(room("a!").unwrap_err().contains("'!'"));
        assert!(room("").is_err());
        assert!(room("-x").unwrap_err().contains("start with"));
        assert!(
            room("a\u{200B}b").unwrap_err().contains("U+200B"),
            "zero-width space"
        );
        assert!(room("a\u{202E}b").is_err(), "bidi override");
        assert!(room("a\u{7}b").is_err(), "control");
        // Latin with a Cyrillic 'а' (U+0430): a look-alike of "paypal".
        let e = room("p\u{430}ypal").unwrap_err();
        assert!(e.contains("mixes scripts"), "{e}");
        assert!(room(&"a".repeat(64)).is_ok());
        assert!(room(&"a".repeat(65)).unwrap_err().contains("limit is 64"));
        assert!(room(&"会".repeat(64)).is_ok(), "the bound is in characters");
        assert!(room(&"会".repeat(65)).is_err());
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
    fn display_names_lose_invisible_formatting() {
        // A right-to-left override that would show "Ada" as "adA" (or hide a file name's extension).
        assert_eq!(display_name("\u{202E}Ada", 64).unwrap(), "Ada");
        assert_eq!(display_name("A\u{200B}da\u{2066}", 64).unwrap(), "Ada");
        for invisible in [
            "\u{200B}\u{200B}",
            "\u{200D}",
            "\u{FEFF} \u{2060}",
            "\u{3164}",
        ] {
            assert!(display_name(invisible, 64).is_err(), "{invisible:?}");
        }
        // Joiners between visible characters stay: an emoji sequence, a Persian name.
        assert_eq!(
            display_name("👩\u{200D}💻 Dev", 64).unwrap(),
            "👩\u{200D}💻 Dev"
        );
        assert_eq!(
            display_name("می\u{200C}خواهم", 64).unwrap(),
            "می\u{200C}خواهم"
        );
        assert_eq!(display_name("王小明", 64).unwrap(), "王小明");
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
