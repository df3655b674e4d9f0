//! The meeting's manifest: what each track file holds, on the meeting clock, with its gaps. JSON
//! beside the files, replaced atomically (temporary file, fsync, rename, fsync of the folder) so a
//! crash leaves the last good version.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use convene_proto::{ParticipantId, RoomId, Source, TrackId};
use serde::{Deserialize, Serialize};

use crate::codec::Codec;
use crate::error::RecordError;
use crate::stats::SizeChange;
use crate::time::{MeetingTime, Stamp};

pub const MANIFEST_FILE: &str = "manifest.json";
const TEMP_FILE: &str = ".manifest.json.tmp";
/// The manifest format's version, bumped on any change a reader must know about.
pub const MANIFEST_VERSION: u32 = 1;

/// A meeting, as the store numbers it (the server converts its own id type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MeetingId(pub i64);

/// Where a recording stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    Recording,
    Complete,
    /// The process stopped (a crash, a kill) before the recording finished; found at start-up.
    Interrupted,
}

/// Where one track's file stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackState {
    Recording,
    /// Finalised: the file has its Cues and Duration.
    Ended,
    /// A write failed; the file holds what came before.
    Failed,
    /// Cut by an interruption; `start`, `end`, `frames` and `bytes` are what the file was read to hold.
    Cut,
}

/// Why a track has no media for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapReason {
    Muted,
    Paused,
    /// Frames the recorder could not keep up with (also counted in /metrics).
    Dropped,
    /// Packets lost on the way in (not retransmitted in time) or unreadable; for a video, the
    /// frames up to its next keyframe went with them.
    Lost,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub start: MeetingTime,
    pub end: MeetingTime,
    pub reason: GapReason,
}

/// One track's file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackEntry {
    /// The file's name in the recording's folder.
    pub file: String,
    pub track: TrackId,
    pub participant: ParticipantId,
    pub participant_name: String,
    pub source: Source,
    pub codec: Codec,
    pub state: TrackState,
    /// The first and last frame's time, once there is a frame.
    pub start: Option<MeetingTime>,
    pub end: Option<MeetingTime>,
    pub gaps: Vec<Gap>,
    /// Video: the picture size from the first keyframe, and each change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sizes: Vec<SizeChange>,
    pub frames: u64,
    /// Frame bytes as the file stores them.
    pub bytes: u64,
}

impl TrackEntry {
    /// Adds a gap, merged into the last one when it continues it for the same reason (a run of
    /// dropped frames is one gap).
    pub fn add_gap(&mut self, gap: Gap) {
        if let Some(last) = self.gaps.last_mut() {
            if last.reason == gap.reason && gap.start <= last.end && gap.end >= last.start {
                last.start = last.start.min(gap.start);
                last.end = last.end.max(gap.end);
                return;
            }
        }
        self.gaps.push(gap);
    }
}

/// A meeting's recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub meeting: MeetingId,
    pub room: RoomId,
    pub state: RecordingState,
    pub started_at: Stamp,
    /// Set when the recording completes; an interrupted one has none (its tracks say where each
    /// file ends).
    pub ended_at: Option<Stamp>,
    pub tracks: Vec<TrackEntry>,
}

impl Manifest {
    pub fn new(meeting: MeetingId, room: RoomId, started_at: Stamp) -> Self {
        Self {
            version: MANIFEST_VERSION,
            meeting,
            room,
            state: RecordingState::Recording,
            started_at,
            ended_at: None,
            tracks: Vec::new(),
        }
    }

    pub fn track(&self, id: &TrackId) -> Option<&TrackEntry> {
        self.tracks.iter().find(|t| &t.track == id)
    }

    pub(crate) fn track_mut(&mut self, id: &TrackId) -> Option<&mut TrackEntry> {
        self.tracks.iter_mut().find(|t| &t.track == id)
    }

    pub fn load(dir: &Path) -> Result<Self, RecordError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = fs::read(&path).map_err(RecordError::io(&path))?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Replaces `dir/manifest.json` atomically and durably.
    pub fn save(&self, dir: &Path) -> Result<(), RecordError> {
        let json = serde_json::to_vec_pretty(self)?;
        let temp = dir.join(TEMP_FILE);
        let mut f = File::create(&temp).map_err(RecordError::io(&temp))?;
        f.write_all(&json).map_err(RecordError::io(&temp))?;
        f.sync_all().map_err(RecordError::io(&temp))?;
        drop(f);
        let path = dir.join(MANIFEST_FILE);
        fs::rename(&temp, &path).map_err(RecordError::io(&path))?;
        // The rename is durable only once the folder's entry is.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(RecordError::io(dir))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(start: u64, end: u64, reason: GapReason) -> Gap {
        Gap {
            start: MeetingTime(start),
            end: MeetingTime(end),
            reason,
        }
    }

    #[test]
    fn touching_gaps_of_one_reason_merge_and_others_do_not() {
        let mut t = TrackEntry {
            file: "f".into(),
            track: TrackId::new("t"),
            participant: ParticipantId::new("p"),
            participant_name: "P".into(),
            source: Source::Camera,
            codec: Codec::Vp8,
            state: TrackState::Recording,
            start: None,
            end: None,
            gaps: Vec::new(),
            sizes: Vec::new(),
            frames: 0,
            bytes: 0,
        };
        t.add_gap(gap(100, 200, GapReason::Dropped));
        t.add_gap(gap(200, 260, GapReason::Dropped));
        t.add_gap(gap(300, 400, GapReason::Dropped));
        t.add_gap(gap(400, 900, GapReason::Muted));
        assert_eq!(
            t.gaps,
            vec![
                gap(100, 260, GapReason::Dropped),
                gap(300, 400, GapReason::Dropped),
                gap(400, 900, GapReason::Muted)
            ]
        );
    }
}
