//! Reactions: a fixed set of emoji, so that every client can show each one and nobody can broadcast
//! arbitrary text through them. The server refuses anything else with `invalid_reaction`.

/// Every reaction a participant may send, in the order a client shows them. Exact strings: `❤️`
/// is U+2764 followed by U+FE0F (emoji presentation), as emoji pickers write it.
pub const REACTIONS: &[&str] = &[
    "\u{1F44D}",        // thumbs up
    "\u{1F44F}",        // clapping hands
    "\u{1F602}",        // face with tears of joy
    "\u{1F62E}",        // face with open mouth
    "\u{2764}\u{FE0F}", // red heart
    "\u{1F389}",        // party popper
];

/// Whether `emoji` is one of [`REACTIONS`], exactly.
pub fn is_reaction(emoji: &str) -> bool {
    REACTIONS.contains(&emoji)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_client_message, ClientMessage, ErrorCode};

    #[test]
    fn the_set_is_small_distinct_and_short() {
        assert_eq!(REACTIONS.len(), 6);
        for (i, r) in REACTIONS.iter().enumerate() {
            assert!(!REACTIONS[..i].contains(r), "{r} twice");
            // limits.rs leaves `emoji` to this set because none is longer than this.
            assert!(r.len() <= 8, "{r} has {} bytes", r.len());
        }
    }

    #[test]
    fn every_reaction_parses_and_is_allowed() {
        for r in REACTIONS {
            let text = serde_json::json!({"type": "send_reaction", "emoji": r}).to_string();
            let m = parse_client_message(&text).unwrap_or_else(|e| panic!("{r}: {e:?}"));
            assert_eq!(
                m,
                ClientMessage::SendReaction {
                    emoji: (*r).to_owned()
                }
            );
            assert!(is_reaction(r));
        }
    }

    #[test]
    fn anything_else_is_not_a_reaction() {
        // The heart without its variation selector, text, an empty string, two reactions at once.
        for other in [
            "\u{2764}",
            "+1",
            "",
            "\u{1F44D}\u{1F44D}",
            " \u{1F44D}",
            "\u{1F4A9}",
        ] {
            assert!(!is_reaction(other), "{other:?}");
        }
    }

    #[test]
    fn a_malformed_send_reaction_is_invalid_message() {
        for text in [
            r#"{"type":"send_reaction"}"#,
            r#"{"type":"send_reaction","emoji":1}"#,
            r#"{"type":"send_reaction","emoji":null}"#,
            r#"{"type":"send_reaction","emoji":"🎉","to":"p_x"}"#,
        ] {
            let e = parse_client_message(text).expect_err(text);
            assert_eq!(e.code, ErrorCode::InvalidMessage, "{text}");
            assert_eq!(e.request.as_deref(), Some("send_reaction"), "{text}");
        }
    }

    #[test]
    fn the_browser_sdk_lists_the_same_set_in_order() {
        let sdk = include_str!("../../../web/sdk/reactions.js");
        let listed: Vec<String> = REACTIONS.iter().map(|r| format!("'{r}'")).collect();
        let want = format!("Object.freeze([{}])", listed.join(", "));
        assert!(
            sdk.lines()
                .any(|l| l.starts_with("export const REACTIONS") && l.contains(&want)),
            "web/sdk/reactions.js should define REACTIONS as {want}"
        );
    }

    #[test]
    fn the_protocol_document_lists_the_set_in_order() {
        let doc = include_str!("../../../docs/protocol.md");
        let listed: Vec<String> = REACTIONS.iter().map(|r| format!("`{r}`")).collect();
        let want = format!("Reactions: {}", listed.join(" "));
        assert!(
            doc.lines().any(|l| l.starts_with(&want)),
            "docs/protocol.md should have a line starting with `{want}`"
        );
    }
}
