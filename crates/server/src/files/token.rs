//! File tokens: how the server knows that an HTTP request comes from a participant of a meeting. The
//! room hands each participant one in `joined` (`file_access.token`); it names the meeting and the
//! participant and when it expires, signed with HMAC-SHA256 under the resume-token key with its own
//! context (so neither token passes as the other). An upload presents it as `Authorization: Bearer`
//! (and the room then checks that the participant is in the meeting now, with a role that may
//! share); a download as `?token=` (an `<img>` or a link cannot send a header). Nothing in a request
//! body ever names the participant.

use convene_proto::ParticipantId;
use convene_store::MeetingId;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::rooms::resume::ResumeKey;

type HmacSha256 = Hmac<Sha256>;

const VERSION: &str = "f1";
const CONTEXT: &str = "convene file token";
/// How long a token works: a day, renewed by every `joined`. Downloads of a meeting's files after
/// it are for accounts that attended it, its owner, administrators and API keys.
pub const TTL_SECS: u64 = 24 * 3600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileClaims {
    pub meeting: MeetingId,
    pub participant: ParticipantId,
}

pub fn issue(
    key: &ResumeKey,
    meeting: MeetingId,
    participant: &ParticipantId,
    now_secs: u64,
) -> String {
    let body = format!(
        "{VERSION}.{}.{}.{}",
        meeting.0,
        participant,
        now_secs.saturating_add(TTL_SECS)
    );
    let tag = hex(&mac(key, &body).finalize().into_bytes());
    format!("{body}.{tag}")
}

/// The claims of a token this server signed that has not expired at `now_secs`; None for anything
/// else. Never panics on any input.
pub fn verify(key: &ResumeKey, token: &str, now_secs: u64) -> Option<FileClaims> {
    let (body, tag) = token.rsplit_once('.')?;
    if tag.len() != 64 || !tag.is_ascii() {
        return None;
    }
    let tag: Vec<u8> = (0..tag.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&tag[i..i + 2], 16).ok())
        .collect::<Option<_>>()?;
    // verify_slice compares in constant time.
    mac(key, body).verify_slice(&tag).ok()?;
    let mut parts = body.split('.');
    let (version, meeting, participant, expires) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != VERSION || parts.next().is_some() || expires.parse::<u64>().ok()? < now_secs {
        return None;
    }
    Some(FileClaims {
        meeting: MeetingId(meeting.parse().ok()?),
        participant: ParticipantId(participant.to_owned()),
    })
}

fn mac(key: &ResumeKey, body: &str) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key.key_bytes()).expect("HMAC accepts any key length");
    mac.update(CONTEXT.as_bytes());
    mac.update(b"\0");
    mac.update(body.as_bytes());
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_token_is_bound_to_its_meeting_participant_and_time() {
        let key = ResumeKey::new("k");
        let p = ParticipantId("p_abc".into());
        let t = issue(&key, MeetingId(7), &p, 1_000);
        let claims = verify(&key, &t, 1_000).expect("valid");
        assert_eq!(
            claims,
            FileClaims {
                meeting: MeetingId(7),
                participant: p.clone()
            }
        );
        assert!(
            verify(&key, &t, 1_000 + TTL_SECS).is_some(),
            "until it expires"
        );
        assert!(verify(&key, &t, 1_001 + TTL_SECS).is_none(), "expired");
        assert!(verify(&ResumeKey::new("other"), &t, 1_000).is_none());
        assert!(verify(&key, &t.replacen("f1.7.", "f1.8.", 1), 1_000).is_none());
        assert!(verify(&key, &t.replace("p_abc", "p_abd"), 1_000).is_none());
        // A resume token under the same key is no file token.
        let (resume, _) = key.issue(MeetingId(7), convene_store::SessionId(1), &p);
        assert!(verify(&key, &resume, 1_000).is_none());
        for junk in ["", ".", "f1.1.p.9", "f1.x.p.9.00", &"a".repeat(5000), "ü.ü"] {
            assert!(verify(&key, junk, 0).is_none(), "{junk:?}");
        }
    }
}
