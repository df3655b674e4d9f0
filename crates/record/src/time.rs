//! Times on the meeting's clock and on the wall clock, as the files and the manifest hold them.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Milliseconds since the meeting started: every track's file and the manifest use this one clock,
/// so tracks line up. Milliseconds because the files' TimestampScale is 1 ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MeetingTime(pub u64);

impl MeetingTime {
    /// Truncates to the millisecond, as the file does.
    pub fn from_duration(d: Duration) -> Self {
        // u64 milliseconds last 584 million years; a meeting clock never gets there.
        Self(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn as_duration(self) -> Duration {
        Duration::from_millis(self.0)
    }
}

/// Milliseconds since the Unix epoch, as the server's wall clock said (the crate reads no clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WallTime(pub u64);

/// One moment on both clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub meeting: MeetingTime,
    pub wall: WallTime,
}
