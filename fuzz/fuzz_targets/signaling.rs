//! Signaling: a WebSocket text frame as the session reads it (convene_proto's parser), then the
//! session's own checks of what a parsed message carries (room and display names, chat text,
//! reactions). A message that parses must survive a round trip; a refusal must be short.
#![no_main]

use convene_proto::{parse_client_message, ClientMessage};
use convene_server::validate;
use libfuzzer_sys::fuzz_target;

/// The defaults of `limits.*` (crates/server/src/config).
const ROOM_NAME_MAX: usize = 64;
const DISPLAY_NAME_MAX: usize = 64;
const CHAT_MAX: usize = 4000;

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8 by the WebSocket protocol: tungstenite refuses any other.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let msg = match parse_client_message(text) {
        Ok(m) => m,
        Err(e) => {
            // Refusals quote at most a short piece of the input.
            assert!(e.message.len() < 1024, "refusal of {} bytes", e.message.len());
            return;
        }
    };
    assert!(ClientMessage::TYPES.contains(&msg.type_name()));
    let again = serde_json::to_string(&msg).expect("a parsed message serializes");
    assert_eq!(
        parse_client_message(&again).as_ref(),
        Ok(&msg),
        "round trip of {again}"
    );
    match msg {
        ClientMessage::Join {
            room, display_name, ..
        } => {
            if let Ok(id) = validate::room_name(&room, ROOM_NAME_MAX) {
                // Canonical: validating the canonical name gives it back.
                let again = validate::room_name(id.as_str(), ROOM_NAME_MAX).expect("canonical");
                assert_eq!(again, id);
            }
            if let Ok(name) = validate::display_name(&display_name, DISPLAY_NAME_MAX) {
                assert!(!name.is_empty() && name.chars().count() <= DISPLAY_NAME_MAX);
            }
        }
        ClientMessage::ChatSend { text, .. } => {
            if let Ok(t) = validate::chat_text(&text, CHAT_MAX) {
                assert!(t.chars().count() <= CHAT_MAX);
            }
        }
        ClientMessage::SendReaction { emoji } => {
            let _ = validate::reaction(emoji);
        }
        _ => {}
    }
});
