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
    let invalid = |message: String| ParseError {
        code: ErrorCode::InvalidMessage,
        message: format!("invalid `{ty}` message: {message}"),
        request: Some(ty.clone()),
    };
    // serde ignores unknown keys beside the tag of a unit variant (`{"type":"leave","from":..}`);
    // such a message takes no field at all.
    if let Some(extra) = obj.keys().find(|k| *k != "type") {
        if is_unit_type(&ty) {
            return Err(invalid(format!(
                "unknown field `{}`; this message has no fields",
                shorten(extra)
            )));
        }
    }
    let msg: ClientMessage =
        serde_json::from_value(value).map_err(|e| invalid(shorten(&e.to_string())))?;
    msg.check_bounds().map_err(|e| invalid(e.to_string()))?;
    msg.check_ranges().map_err(|e| invalid(e.to_string()))?;
    Ok(msg)
}

/// Whether a message type carries nothing but its `type`. Exhaustive, so that a new unit message
/// is listed when it is added.
fn is_unit_type(ty: &str) -> bool {
    let unit = |m: &ClientMessage| match m {
        ClientMessage::Leave
        | ClientMessage::EndMeeting
        | ClientMessage::AdmitAll
        | ClientMessage::StartRecording
        | ClientMessage::StopRecording => true,
        ClientMessage::MuteParticipant { .. }
        | ClientMessage::MuteAll { .. }
        | ClientMessage::AllowUnmute { .. }
        | ClientMessage::AskToUnmute { .. }
        | ClientMessage::RemoveParticipant { .. }
        | ClientMessage::SetRole { .. }
        | ClientMessage::TransferHost { .. }
        | ClientMessage::LowerHand { .. }
        | ClientMessage::SetLocked { .. }
        | ClientMessage::SetLobby { .. }
        | ClientMessage::Admit { .. }
        | ClientMessage::Deny { .. }
        | ClientMessage::DeleteFile { .. }
        | ClientMessage::Join { .. }
        | ClientMessage::ChatSend { .. }
        | ClientMessage::SetHand { .. }
        | ClientMessage::SetMuted { .. }
        | ClientMessage::Ping { .. }
        | ClientMessage::SdpOffer { .. }
        | ClientMessage::SdpAnswer { .. }
        | ClientMessage::IceCandidate { .. }
        | ClientMessage::SetVideoConstraint { .. }
        | ClientMessage::SendReaction { .. }
        | ClientMessage::SetConnectionQuality { .. } => false,
    };
    // A unit message parses from its bare tag; no other message does (each has a required field
    // or is not unit-shaped in Rust).
    serde_json::from_value::<ClientMessage>(serde_json::json!({ "type": ty }))
        .is_ok_and(|m| unit(&m))
}

/// Library messages may quote what the client sent (an unknown field's name, a mistyped value):
/// keep them short so that a huge input is never sent back.
fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 160;
    if text.chars().count() <= MAX_CHARS {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(MAX_CHARS).collect();
    s.push_str("...");
    s
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

    /// A valid message of type `ty` with every optional field and nested object present.
    fn full_sample(ty: &str) -> serde_json::Value {
        use serde_json::json;
        match ty {
            "join" => json!({"type": "join", "room": "a", "display_name": "Ada", "version": 1,
                "access_token": "t", "password": "p", "resume_token": "r", "mic_muted": false, "camera_muted": true}),
            "leave" => json!({"type": "leave"}),
            "chat_send" => json!({"type": "chat_send", "text": "hi", "client_msg_id": "c-1"}),
            "set_hand" => json!({"type": "set_hand", "raised": true}),
            "set_muted" => json!({"type": "set_muted", "mic": true, "camera": false}),
            "ping" => json!({"type": "ping", "ts": 1.5}),
            "sdp_offer" => json!({"type": "sdp_offer", "sdp": "v=0",
                "tracks": [{"mid": "0", "source": "microphone"}, {"mid": "1", "source": "camera"}]}),
            "sdp_answer" => json!({"type": "sdp_answer", "sdp": "v=0"}),
            "ice_candidate" => json!({"type": "ice_candidate",
                "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdp_mid": "0"}),
            "set_video_constraint" => json!({"type": "set_video_constraint", "track": "t1",
                "width": 320, "height": 180}),
            "send_reaction" => json!({"type": "send_reaction", "emoji": "\u{1F44D}"}),
            "set_connection_quality" => json!({"type": "set_connection_quality", "level": "poor",
                "loss_pct": 3.5, "rtt_ms": 180}),
            "mute_participant" => json!({"type": "mute_participant", "participant_id": "p_a",
                "source": "microphone"}),
            "mute_all" => json!({"type": "mute_all", "source": "camera"}),
            "allow_unmute" => json!({"type": "allow_unmute", "participant_id": "p_a",
                "source": "microphone"}),
            "ask_to_unmute" => json!({"type": "ask_to_unmute", "source": "microphone"}),
            "remove_participant" => json!({"type": "remove_participant", "participant_id": "p_a"}),
            "end_meeting" => json!({"type": "end_meeting"}),
            "set_role" => json!({"type": "set_role", "participant_id": "p_a", "role": "co_host"}),
            "transfer_host" => json!({"type": "transfer_host", "participant_id": "p_a"}),
            "lower_hand" => json!({"type": "lower_hand", "participant_id": "p_a"}),
            "set_locked" => json!({"type": "set_locked", "locked": true}),
            "set_lobby" => json!({"type": "set_lobby", "enabled": false}),
            "admit" => json!({"type": "admit", "participant_id": "p_a"}),
            "deny" => json!({"type": "deny", "participant_id": "p_a"}),
            "admit_all" => json!({"type": "admit_all"}),
            "start_recording" => json!({"type": "start_recording"}),
            "stop_recording" => json!({"type": "stop_recording"}),
            "delete_file" => json!({"type": "delete_file", "file_id": "f_a"}),
            other => panic!("no sample for client message type `{other}`: add one"),
        }
    }

    /// Paths (as lists of object keys and array indexes) to every object inside `v`, `v` included.
    fn object_paths(v: &serde_json::Value, at: Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            serde_json::Value::Object(m) => {
                out.push(at.clone());
                for (k, child) in m {
                    let mut p = at.clone();
                    p.push(k.clone());
                    object_paths(child, p, out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    let mut p = at.clone();
                    p.push(i.to_string());
                    object_paths(child, p, out);
                }
            }
            _ => {}
        }
    }

    fn object_at<'a>(v: &'a mut serde_json::Value, path: &[String]) -> &'a mut serde_json::Value {
        path.iter().fold(v, |v, step| match v {
            serde_json::Value::Array(items) => &mut items[step.parse::<usize>().unwrap()],
            other => &mut other[step.as_str()],
        })
    }

    #[test]
    fn unknown_fields_are_refused_at_every_depth_of_every_message() {
        for ty in ClientMessage::TYPES {
            let sample = full_sample(ty);
            let m = parse_client_message(&sample.to_string())
                .unwrap_or_else(|e| panic!("the `{ty}` sample parses: {e:?}"));
            assert_eq!(m.type_name(), *ty);
            let mut paths = Vec::new();
            object_paths(&sample, Vec::new(), &mut paths);
            for path in paths {
                // `from` too: identity comes from the connection, never from a message.
                for key in ["from", "unexpected"] {
                    let mut v = sample.clone();
                    object_at(&mut v, &path)[key] = serde_json::json!("p_other");
                    let e = parse_client_message(&v.to_string()).expect_err(&v.to_string());
                    assert_eq!(e.code, ErrorCode::InvalidMessage, "{v}");
                    assert_eq!(e.request.as_deref(), Some(*ty), "{v}");
                    assert!(e.message.contains(key), "{v}: {}", e.message);
                }
            }
        }
    }

    #[test]
    fn library_messages_never_echo_a_huge_input() {
        let huge = "x".repeat(100_000);
        for text in [
            format!(r#"{{"type":"set_hand","raised":"{huge}"}}"#),
            format!(r#"{{"type":"set_hand","raised":true,"{huge}":1}}"#),
            format!(r#"{{"type":"leave","{huge}":1}}"#),
        ] {
            let e = parse_client_message(&text).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidMessage);
            assert!(e.message.len() < 300, "{} bytes", e.message.len());
        }
    }

    /// From the signaling fuzz target: a number of many digits is read exactly, so a message
    /// written back (a ping's `ts` in its pong) reads as the same message.
    #[test]
    fn a_long_number_survives_a_round_trip() {
        let text = format!(r#"{{"type":"ping","ts":1{}.5}}"#, "0".repeat(88));
        let msg = parse_client_message(&text).expect("parses");
        let again = serde_json::to_string(&msg).expect("serializes");
        assert_eq!(parse_client_message(&again), Ok(msg));
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
            r#"{"type":"send_reaction","emoji":"🎉"}"#,
            r#"{"type":"set_connection_quality","level":"good","loss_pct":0,"rtt_ms":20}"#,
            r#"{"type":"mute_participant","participant_id":"p_a","source":"camera"}"#,
            r#"{"type":"mute_all","source":"microphone"}"#,
            r#"{"type":"allow_unmute","participant_id":"p_a","source":"microphone"}"#,
            r#"{"type":"ask_to_unmute","source":"microphone"}"#,
            r#"{"type":"remove_participant","participant_id":"p_a"}"#,
            r#"{"type":"end_meeting"}"#,
            r#"{"type":"set_role","participant_id":"p_a","role":"viewer"}"#,
            r#"{"type":"transfer_host","participant_id":"p_a"}"#,
            r#"{"type":"lower_hand","participant_id":"p_a"}"#,
            r#"{"type":"set_locked","locked":true}"#,
            r#"{"type":"set_lobby","enabled":true}"#,
            r#"{"type":"admit","participant_id":"p_a"}"#,
            r#"{"type":"deny","participant_id":"p_a"}"#,
            r#"{"type":"admit_all"}"#,
            r#"{"type":"delete_file","file_id":"f_a"}"#,
            r#"{"type":"start_recording"}"#,
            r#"{"type":"stop_recording"}"#,
        ];
        assert_eq!(ok.len(), ClientMessage::TYPES.len());
        for (text, ty) in ok.iter().zip(ClientMessage::TYPES) {
            let m = parse_client_message(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(m.type_name(), *ty);
        }
    }
}
