//! Shapes of the lobby and of host powers (docs/protocol.md, *Roles and permissions* and *Lobby*).

use serde::{Deserialize, Serialize};

use crate::ids::ParticipantId;
use crate::model::Source;

/// Someone waiting in the lobby, as hosts and co-hosts see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyEntry {
    /// The id they will have once admitted.
    pub participant_id: ParticipantId,
    pub display_name: String,
    /// Signed in to an account (or holding an access token), rather than a guest.
    pub signed_in: bool,
    /// When they started waiting, ms since the Unix epoch.
    pub since: i64,
}

/// What a host or co-host did to you, in `moderated`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModerationAction {
    /// `source` was muted; you cannot unmute it until allowed.
    Muted,
    /// You may unmute `source` again (you are not unmuted: that stays yours to do).
    UnmuteAllowed,
    HandLowered,
    /// Your role changed (the new one is in `participant_updated` and here in `role`).
    RoleChanged,
}

/// The meeting-wide settings a host changes while it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingSettings {
    /// Nobody new gets in (hosts and co-hosts excepted).
    pub locked: bool,
    /// Newcomers wait in the lobby until a host or co-host admits them.
    pub lobby: bool,
}

/// A moderation target's source: `screen` covers the screen's audio too.
pub fn covers(muted: Source, sent: Source) -> bool {
    muted == sent || (muted == Source::Screen && sent == Source::ScreenAudio)
}
