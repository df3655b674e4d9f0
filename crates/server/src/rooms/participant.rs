//! A participant as the room holds it.

use std::time::Instant;

use convene_proto::ParticipantInfo;
use convene_store::SessionId;

use super::conn::ConnHandle;
use crate::config::LimitsConfig;
use crate::ratelimit::TokenBucket;

/// Whether a participant has a live connection. An away participant keeps its place (and its id) until
/// its window passes; the others are not told about the gap.
#[derive(Debug)]
pub enum Presence {
    Connected(ConnHandle),
    Away { until: Instant },
}

/// Which resume tokens bring this participant back.
#[derive(Debug)]
pub enum Resumable {
    /// The token carrying this nonce, the last one issued (each resume issues a new one).
    Issued { nonce: String },
    /// Restored from the record after a restart and not back yet: the last nonce died with the old
    /// process, so any token signed for its session, once.
    Restored,
}

#[derive(Debug)]
pub struct Participant {
    /// What everyone sees.
    pub info: ParticipantInfo,
    /// Its session in the meeting record. For a participant restored after a restart who is not back
    /// yet: its session before the restart (closed), which its resume token names.
    pub session: SessionId,
    pub resumable: Resumable,
    pub presence: Presence,
    /// Its account, for the record and for a removal's ban.
    pub user: Option<convene_store::UserId>,
    /// Its access token's identity (`sub`), likewise.
    pub identity: Option<String>,
    /// Its access token's grants; None for an account or a guest.
    pub grants: Option<crate::auth::tokens::Grants>,
    /// For a guest whose seats per address are limited: the address it joined from.
    pub guest_addr: Option<std::net::IpAddr>,
    /// Its reactions' rate limit: kept with the participant, so a reconnect does not refill it.
    pub reactions: TokenBucket,
    /// When its connection quality was last broadcast, and a newer report the throttle holds back.
    pub quality: QualityThrottle,
}

/// A participant's connection-quality reports on their way to the others (see rooms/quality.rs).
#[derive(Debug, Default)]
pub struct QualityThrottle {
    pub shown_at: Option<Instant>,
    pub pending: Option<convene_proto::ConnectionQuality>,
}

impl Participant {
    pub fn conn(&self) -> Option<&ConnHandle> {
        match &self.presence {
            Presence::Connected(c) => Some(c),
            Presence::Away { .. } => None,
        }
    }

    /// In nobody's participant list (an access token's `hidden`).
    pub fn hidden(&self) -> bool {
        self.grants.as_ref().is_some_and(|g| g.hidden)
    }

    /// Whether its session row is open: false only for a restored participant not back yet.
    pub fn in_record(&self) -> bool {
        matches!(self.resumable, Resumable::Issued { .. })
    }
}

/// A full reaction bucket, as the configuration says.
pub fn reaction_bucket(limits: &LimitsConfig, now: Instant) -> TokenBucket {
    TokenBucket::new(limits.reactions_per_sec, limits.reactions_burst, now)
}

/// A fresh unguessable token (128 bits, hex).
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A participant id: short, random, prefixed so logs read well.
pub fn new_participant_id() -> convene_proto::ParticipantId {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let s: String = (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    convene_proto::ParticipantId(format!("p_{s}"))
}
