//! Parsing a client frame into a message, telling apart the ways it can be wrong so that each gets its
//! own stable error code.

use crate::error::ErrorCode;
use crate::messages::ClientMessage;

/// Why a frame could not be read as a client message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub code: ErrorCode,
    pub message: String,
    /// The `type` field, when the frame had a readable one.
    pub request: Option<String>,
}

/// Parses one text frame.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError {
        code: ErrorCode::MalformedJson,
        message: format!("not valid JSON: {e}"),
        request: None,
    })?;
    let Some(obj) = value.as_object() else {
        return Err(ParseError {
            code: ErrorCode::MalformedJson,
            message: "a message must be a JSON object".into(),
            request: None,
        });
    };
    let ty = match obj.get("type") {
        Some(serde_json::Value::String(t)) => t.clone(),
        Some(_) => {
            return Err(ParseError {
                code: ErrorCode::UnknownType,
                message: "the `type` field must be a string".into(),
                request: None,
            })
        }
        None => {
            return Err(ParseError {
                code: ErrorCode::UnknownType,
                message: "the message has no `type` field".into(),
                request: None,
            })
        }
    };
    if !ClientMessage::TYPES.contains(&ty.as_str()) {
        let shown: String = ty.chars().take(40).collect();
        return Err(ParseError {
            code: ErrorCode::UnknownType,
            message: format!("unknown message type `{shown}`"),
            request: None,
        });
    }
    serde_json::from_value(value).map_err(|e| ParseError {
        code: ErrorCode::InvalidMessage,
        message: format!("invalid `{ty}` message: {e}"),
        request: Some(ty),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_apart_the_kinds_of_bad_frame() {
        assert_eq!(
            parse_client_message("{").unwrap_err().code,
            ErrorCode::MalformedJson
        );
        assert_eq!(
            parse_client_message("[1]").unwrap_err().code,
            ErrorCode::MalformedJson
        );
        assert_eq!(
            parse_client_message("{}").unwrap_err().code,
            ErrorCode::UnknownType
        );
        assert_eq!(
            parse_client_message(r#"{"type":"fly"}"#).unwrap_err().code,
            ErrorCode::UnknownType
        );
        let e = parse_client_message(r#"{"type":"chat_send","text":5}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidMessage);
        assert_eq!(e.request.as_deref(), Some("chat_send"));
        let e = parse_client_message(r#"{"type":"set_hand","raised":true,"who":"x"}"#).unwrap_err();
        assert_eq!(
            e.code,
            ErrorCode::InvalidMessage,
            "unknown fields are refused"
        );
    }

    #[test]
    fn every_listed_type_parses() {
        let ok = [
            r#"{"type":"join","room":"a","display_name":"b"}"#,
            r#"{"type":"leave"}"#,
            r#"{"type":"chat_send","text":"hi"}"#,
            r#"{"type":"set_hand","raised":true}"#,
            r#"{"type":"set_muted","mic":true}"#,
            r#"{"type":"ping","ts":1.5}"#,
            r#"{"type":"sdp_offer","sdp":"v=0","tracks":[{"mid":"0","source":"microphone"}]}"#,
            r#"{"type":"sdp_answer","sdp":"v=0"}"#,
            r#"{"type":"ice_candidate","candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}"#,
            r#"{"type":"set_video_constraint","track":"t1","width":320,"height":180}"#,
        ];
        assert_eq!(ok.len(), ClientMessage::TYPES.len());
        for (text, ty) in ok.iter().zip(ClientMessage::TYPES) {
            let m = parse_client_message(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(m.type_name(), *ty);
        }
    }
}
