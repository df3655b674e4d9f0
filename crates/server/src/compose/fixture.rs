//! Manifests for the tests of the layout and the ffmpeg arguments.

use convene_proto::{ParticipantId, RoomId, Source, TrackId};
use convene_record::{
    Codec, Gap, GapReason, Manifest, MeetingId, MeetingTime, RecordingState, Stamp, TrackEntry,
    TrackState, WallTime,
};

pub fn stamp(ms: u64) -> Stamp {
    Stamp {
        meeting: MeetingTime(ms),
        wall: WallTime(1_700_000_000_000 + ms),
    }
}

/// A completed recording from `start` to `end` on the meeting clock.
pub fn manifest(start: u64, end: Option<u64>, tracks: Vec<TrackEntry>) -> Manifest {
    let mut m = Manifest::new(MeetingId(7), RoomId::new("team"), stamp(start));
    m.state = if end.is_some() {
        RecordingState::Complete
    } else {
        RecordingState::Interrupted
    };
    m.ended_at = end.map(stamp);
    m.tracks = tracks;
    m
}

/// A track from `start` to `end` (ms, meeting clock) with gaps.
pub fn track(who: &str, source: Source, start: u64, end: u64, gaps: &[(u64, u64)]) -> TrackEntry {
    let codec = match source {
        Source::Microphone | Source::ScreenAudio => Codec::Opus,
        Source::Camera | Source::Screen => Codec::Vp8,
    };
    TrackEntry {
        file: format!("{who}-{source:?}.webm").to_lowercase(),
        track: TrackId::new(format!("{who}-{source:?}")),
        participant: ParticipantId::new(who),
        participant_name: who.into(),
        source,
        codec,
        state: TrackState::Ended,
        start: Some(MeetingTime(start)),
        end: Some(MeetingTime(end)),
        gaps: gaps
            .iter()
            .map(|&(a, b)| Gap {
                start: MeetingTime(a),
                end: MeetingTime(b),
                reason: GapReason::Paused,
            })
            .collect(),
        sizes: Vec::new(),
        frames: 1,
        bytes: 1,
    }
}
