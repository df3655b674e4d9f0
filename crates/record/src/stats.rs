//! What a track writer has written, for the manifest.

use serde::{Deserialize, Serialize};

use crate::spec::FrameSize;
use crate::time::MeetingTime;

/// A picture size that starts at a keyframe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeChange {
    pub at: MeetingTime,
    #[serde(flatten)]
    pub size: FrameSize,
}

/// Counts of one track's file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackStats {
    pub first: Option<MeetingTime>,
    pub last: Option<MeetingTime>,
    pub frames: u64,
    /// Frame bytes as the file stores them (H.264's length prefixes included), as a read-back counts.
    pub frame_bytes: u64,
    /// The file's length.
    pub file_bytes: u64,
    /// The picture size from the first keyframe on, and each change after.
    pub sizes: Vec<SizeChange>,
}

impl TrackStats {
    /// Counts a written frame; returns the size change it brings, if any.
    pub(crate) fn record(
        &mut self,
        at: MeetingTime,
        len: usize,
        size: Option<FrameSize>,
    ) -> Option<SizeChange> {
        self.first.get_or_insert(at);
        self.last = Some(at);
        self.frames += 1;
        self.frame_bytes += len as u64;
        let size = size?;
        if self.sizes.last().is_some_and(|c| c.size == size) {
            return None;
        }
        let change = SizeChange { at, size };
        self.sizes.push(change);
        Some(change)
    }
}
