//! Size bounds on the fields of client messages, checked right after a frame is parsed. They keep
//! whatever a client sends small before anything is stored, broadcast or handed to the media plane
//! (a chat's `client_msg_id` is kept in the history and sent to every later joiner).
//!
//! These are raw bounds in bytes of UTF-8 (entries for lists), generous on purpose: the precise rules
//! (a display name's 64 characters, a room name's alphabet, a chat's 4,000 characters) are the
//! server's, checked later with their own error codes. docs/protocol.md lists every bound.

use crate::messages::ClientMessage;

/// `chat_send.client_msg_id`, `sdp_offer.tracks[].mid`, `ice_candidate.sdp_mid`,
/// `set_video_constraint.track`: opaque ids. Browsers' mids are a few bytes and the server's track
/// ids about 20; a UUID is 36.
pub const MAX_ID_BYTES: usize = 64;
/// `join.room` and `join.display_name` before the server's own checks (64 characters, which is
/// up to 256 bytes of UTF-8; whitespace that is collapsed later counts here).
pub const MAX_NAME_BYTES: usize = 1024;
/// `join.access_token` and `join.resume_token`.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// `sdp_offer.sdp` and `sdp_answer.sdp`. A client's SDP holds every m-line of its peer connection,
/// its receive m-lines too, so it grows with the room: Chromium 156 answers the server's offer with
/// about 0.7 KB per audio and 3.2 KB per video m-line, some 390 KB for 99 others with camera and
/// microphone. Its first offer with microphone, 3-layer simulcast camera, screen and screen audio is
/// 10.4 KB. The frame limit applies as well.
pub const MAX_SDP_BYTES: usize = 1024 * 1024;
/// `ice_candidate.candidate`: a browser's candidate line is 100 to 250 bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1024;
/// Entries of `sdp_offer.tracks` (one per sending m-line; a browser sends up to 4).
pub const MAX_TRACKS: usize = 32;

/// A field over its bound. The message names the field and the bound, never the content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TooLong {
    /// The field as the protocol names it, e.g. `tracks[].mid`.
    pub field: &'static str,
    pub len: usize,
    pub limit: usize,
    /// `bytes` or `entries`.
    pub unit: &'static str,
}

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` has {} {}; the limit is {}",
            self.field, self.len, self.unit, self.limit
        )
    }
}

fn check(field: &'static str, value: &str, limit: usize) -> Result<(), TooLong> {
    if value.len() > limit {
        return Err(TooLong {
            field,
            len: value.len(),
            limit,
            unit: "bytes",
        });
    }
    Ok(())
}

fn check_opt(field: &'static str, value: &Option<String>, limit: usize) -> Result<(), TooLong> {
    value.as_deref().map_or(Ok(()), |v| check(field, v, limit))
}

impl ClientMessage {
    /// Checks every string and list of the message against its bound. Exhaustive on purpose: a
    /// new message or field must be given a bound here.
    pub fn check_bounds(&self) -> Result<(), TooLong> {
        match self {
            ClientMessage::Join {
                room,
                display_name,
                version: _,
                access_token,
                password,
                resume_token,
                mic_muted: _,
                camera_muted: _,
            } => {
                check("room", room, MAX_NAME_BYTES)?;
                check("display_name", display_name, MAX_NAME_BYTES)?;
                check_opt("access_token", access_token, MAX_TOKEN_BYTES)?;
                check_opt("password", password, MAX_NAME_BYTES)?;
                check_opt("resume_token", resume_token, MAX_TOKEN_BYTES)
            }
            // `text` is bounded by the server's chat rule (4,000 characters, `chat_too_long`) and
            // by the frame limit; a second, looser bound here would only change the error code.
            ClientMessage::ChatSend {
                text: _,
                client_msg_id,
            } => check_opt("client_msg_id", client_msg_id, MAX_ID_BYTES),
            ClientMessage::SdpOffer { sdp, tracks } => {
                check("sdp", sdp, MAX_SDP_BYTES)?;
                if tracks.len() > MAX_TRACKS {
                    return Err(TooLong {
                        field: "tracks",
                        len: tracks.len(),
                        limit: MAX_TRACKS,
                        unit: "entries",
                    });
                }
                tracks
                    .iter()
                    .try_for_each(|t| check("tracks[].mid", &t.mid, MAX_ID_BYTES))
            }
            ClientMessage::SdpAnswer { sdp } => check("sdp", sdp, MAX_SDP_BYTES),
            ClientMessage::IceCandidate { candidate, sdp_mid } => {
                check("candidate", candidate, MAX_CANDIDATE_BYTES)?;
                check_opt("sdp_mid", sdp_mid, MAX_ID_BYTES)
            }
            ClientMessage::SetVideoConstraint { track, .. } => {
                check("track", track.as_str(), MAX_ID_BYTES)
            }
            // Compared with the server's fixed set (`invalid_reaction`), none of which is over 8
            // bytes, before anything is broadcast: a looser bound here would only change the code.
            ClientMessage::SendReaction { emoji: _ } => Ok(()),
            // Numbers only, with ranges: `check_ranges` (quality.rs).
            ClientMessage::SetConnectionQuality { .. } => Ok(()),
            ClientMessage::MuteParticipant { participant_id, .. }
            | ClientMessage::AllowUnmute { participant_id, .. }
            | ClientMessage::RemoveParticipant { participant_id }
            | ClientMessage::SetRole { participant_id, .. }
            | ClientMessage::TransferHost { participant_id }
            | ClientMessage::LowerHand { participant_id }
            | ClientMessage::Admit { participant_id }
            | ClientMessage::Deny { participant_id } => {
                check("participant_id", participant_id.as_str(), MAX_ID_BYTES)
            }
            ClientMessage::DeleteFile { file_id } => check("file_id", file_id, MAX_ID_BYTES),
            ClientMessage::MuteAll { .. }
            | ClientMessage::AskToUnmute { .. }
            | ClientMessage::EndMeeting
            | ClientMessage::SetLocked { .. }
            | ClientMessage::SetLobby { .. }
            | ClientMessage::AdmitAll
            | ClientMessage::StartRecording
            | ClientMessage::StopRecording
            | ClientMessage::Leave
            | ClientMessage::SetHand { .. }
            | ClientMessage::SetMuted { .. }
            | ClientMessage::Ping { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::parse_client_message;
    use crate::ErrorCode;

    use super::*;

    /// A message whose field `field` is `len` bytes long (`x` repeated), with every other field valid.
    fn with_field(field: &str, len: usize) -> String {
        let x = "x".repeat(len);
        match field {
            "room" => format!(r#"{{"type":"join","room":"{x}","display_name":"Ada"}}"#),
            "display_name" => format!(r#"{{"type":"join","room":"a","display_name":"{x}"}}"#),
            "access_token" => {
                format!(r#"{{"type":"join","room":"a","display_name":"Ada","access_token":"{x}"}}"#)
            }
            "resume_token" => {
                format!(r#"{{"type":"join","room":"a","display_name":"Ada","resume_token":"{x}"}}"#)
            }
            "password" => {
                format!(r#"{{"type":"join","room":"a","display_name":"Ada","password":"{x}"}}"#)
            }
            "client_msg_id" => {
                format!(r#"{{"type":"chat_send","text":"hi","client_msg_id":"{x}"}}"#)
            }
            "sdp_offer.sdp" => format!(r#"{{"type":"sdp_offer","sdp":"{x}"}}"#),
            "sdp_answer.sdp" => format!(r#"{{"type":"sdp_answer","sdp":"{x}"}}"#),
            "tracks[].mid" => format!(
                r#"{{"type":"sdp_offer","sdp":"v=0","tracks":[{{"mid":"{x}","source":"camera"}}]}}"#
            ),
            "candidate" => format!(r#"{{"type":"ice_candidate","candidate":"{x}"}}"#),
            "sdp_mid" => format!(r#"{{"type":"ice_candidate","candidate":"c","sdp_mid":"{x}"}}"#),
            "track" => format!(r#"{{"type":"set_video_constraint","track":"{x}"}}"#),
            "file_id" => format!(r#"{{"type":"delete_file","file_id":"{x}"}}"#),
            other => panic!("no case for {other}"),
        }
    }

    #[test]
    fn every_string_field_is_bounded_at_its_limit() {
        // (case, the field as the error names it, its bound)
        let cases = [
            ("room", "room", MAX_NAME_BYTES),
            ("display_name", "display_name", MAX_NAME_BYTES),
            ("access_token", "access_token", MAX_TOKEN_BYTES),
            ("resume_token", "resume_token", MAX_TOKEN_BYTES),
            ("password", "password", MAX_NAME_BYTES),
            ("client_msg_id", "client_msg_id", MAX_ID_BYTES),
            ("sdp_offer.sdp", "sdp", MAX_SDP_BYTES),
            ("sdp_answer.sdp", "sdp", MAX_SDP_BYTES),
            ("tracks[].mid", "tracks[].mid", MAX_ID_BYTES),
            ("candidate", "candidate", MAX_CANDIDATE_BYTES),
            ("sdp_mid", "sdp_mid", MAX_ID_BYTES),
            ("track", "track", MAX_ID_BYTES),
            ("file_id", "file_id", MAX_ID_BYTES),
        ];
        for (field, name, limit) in cases {
            let at = with_field(field, limit);
            parse_client_message(&at).unwrap_or_else(|e| panic!("{field} at its limit: {e:?}"));
            let over = with_field(field, limit + 1);
            let e = parse_client_message(&over).expect_err(field);
            assert_eq!(e.code, ErrorCode::InvalidMessage, "{field}");
            assert!(
                e.message.contains(&format!("`{name}`")) && e.message.contains(&limit.to_string()),
                "{field}: the error names the field and the limit: {}",
                e.message
            );
            assert!(e.request.is_some(), "{field}: the request type is known");
            assert!(e.message.len() < 200, "{field}: the content is not echoed");
        }
    }

    /// 1048576 -> "1,048,576", as the document writes numbers.
    fn with_commas(n: usize) -> String {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn the_protocol_document_states_every_bound() {
        let doc = include_str!("../../../docs/protocol.md");
        let cases = [
            ("`join.room`", MAX_NAME_BYTES, "bytes"),
            ("`join.display_name`", MAX_NAME_BYTES, "bytes"),
            ("`join.access_token`", MAX_TOKEN_BYTES, "bytes"),
            ("`join.resume_token`", MAX_TOKEN_BYTES, "bytes"),
            ("`join.password`", MAX_NAME_BYTES, "bytes"),
            ("`chat_send.client_msg_id`", MAX_ID_BYTES, "bytes"),
            ("`sdp_offer.tracks[].mid`", MAX_ID_BYTES, "bytes"),
            ("`ice_candidate.sdp_mid`", MAX_ID_BYTES, "bytes"),
            ("`set_video_constraint.track`", MAX_ID_BYTES, "bytes"),
            ("`delete_file.file_id`", MAX_ID_BYTES, "bytes"),
            ("`sdp_offer.sdp`", MAX_SDP_BYTES, "bytes"),
            ("`sdp_answer.sdp`", MAX_SDP_BYTES, "bytes"),
            ("`ice_candidate.candidate`", MAX_CANDIDATE_BYTES, "bytes"),
            ("`sdp_offer.tracks` |", MAX_TRACKS, "entries"),
        ];
        for (field, limit, unit) in cases {
            let row = doc
                .lines()
                .find(|l| l.starts_with('|') && l.contains(field))
                .unwrap_or_else(|| panic!("docs/protocol.md has no bound for {field}"));
            let bound = format!("| {} {unit} |", with_commas(limit));
            assert!(
                row.ends_with(&bound),
                "{field}: `{row}` should end with `{bound}`"
            );
        }
    }

    #[test]
    fn the_track_list_is_bounded() {
        let offer = |n: usize| {
            let tracks: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"mid":"{i}","source":"camera"}}"#))
                .collect();
            format!(
                r#"{{"type":"sdp_offer","sdp":"v=0","tracks":[{}]}}"#,
                tracks.join(",")
            )
        };
        parse_client_message(&offer(MAX_TRACKS)).expect("at the limit");
        let e = parse_client_message(&offer(MAX_TRACKS + 1)).expect_err("over the limit");
        assert_eq!(e.code, ErrorCode::InvalidMessage);
        assert!(e.message.contains("`tracks`"), "{}", e.message);
    }
}
