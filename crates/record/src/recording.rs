//! A meeting's recording: its folder, its track writers and its manifest, kept in step. The manifest
//! is saved whenever it changes materially (a track starts or ends, a gap, a size change, the end);
//! frame counts between those saves are what `recover` reads back from the files after a crash.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use convene_proto::{ParticipantId, RoomId, Source, TrackId};

use crate::error::RecordError;
use crate::manifest::{
    Gap, GapReason, Manifest, MeetingId, RecordingState, TrackEntry, TrackState, MANIFEST_FILE,
};
use crate::spec::{Frame, TrackSpec};
use crate::time::Stamp;
use crate::writer::TrackWriter;

/// Who and what a recorded track is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackMeta {
    pub track: TrackId,
    pub participant: ParticipantId,
    pub participant_name: String,
    pub source: Source,
}

/// One meeting's recording in progress.
pub struct MeetingRecording {
    dir: PathBuf,
    manifest: Manifest,
    writers: HashMap<TrackId, TrackWriter>,
}

impl MeetingRecording {
    /// Starts a recording in `dir` (created if missing), refusing a folder that already holds one.
    pub fn start(
        dir: &Path,
        meeting: MeetingId,
        room: RoomId,
        at: Stamp,
    ) -> Result<Self, RecordError> {
        fs::create_dir_all(dir).map_err(RecordError::io(dir))?;
        let existing = dir.join(MANIFEST_FILE);
        if existing.exists() {
            return Err(RecordError::Io {
                path: existing,
                source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            });
        }
        let manifest = Manifest::new(meeting, room, at);
        manifest.save(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            writers: HashMap::new(),
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts a track's file. A track id is recorded once; a republished track comes with a new id.
    pub fn add_track(&mut self, meta: TrackMeta, spec: TrackSpec) -> Result<(), RecordError> {
        if self.manifest.track(&meta.track).is_some() {
            return Err(RecordError::DuplicateTrack(meta.track.to_string()));
        }
        let codec = spec.codec();
        let file = format!(
            "{:03}-{}-{}.{}",
            self.manifest.tracks.len() + 1,
            file_safe(meta.participant.as_str()),
            source_word(meta.source),
            codec.container().extension()
        );
        let writer = TrackWriter::create(&self.dir.join(&file), spec)?;
        self.writers.insert(meta.track.clone(), writer);
        self.manifest.tracks.push(TrackEntry {
            file,
            track: meta.track,
            participant: meta.participant,
            participant_name: meta.participant_name,
            source: meta.source,
            codec,
            state: TrackState::Recording,
            start: None,
            end: None,
            gaps: Vec::new(),
            sizes: Vec::new(),
            frames: 0,
            bytes: 0,
        });
        self.save()
    }

    /// Writes a frame of a track. Errors are the writer's (see `TrackWriter::write_frame`); a refused
    /// frame changes nothing.
    pub fn write(&mut self, track: &TrackId, frame: Frame<'_>) -> Result<(), RecordError> {
        let writer = self
            .writers
            .get_mut(track)
            .ok_or_else(|| RecordError::UnknownTrack(track.to_string()))?;
        let written = writer.write_frame(frame);
        let stats = writer.stats();
        let entry = self
            .manifest
            .track_mut(track)
            .ok_or_else(|| RecordError::UnknownTrack(track.to_string()))?;
        let material = match &written {
            Ok(change) => {
                entry.start = stats.first;
                entry.end = stats.last;
                entry.frames = stats.frames;
                entry.bytes = stats.frame_bytes;
                if change.is_some() {
                    entry.sizes.clone_from(&stats.sizes);
                }
                change.is_some()
            }
            Err(_) => {
                let newly_failed = writer.is_broken() && entry.state != TrackState::Failed;
                if newly_failed {
                    entry.state = TrackState::Failed;
                }
                newly_failed
            }
        };
        if material {
            self.save()?;
        }
        written.map(|_| ())
    }

    /// Marks a time without media on a track (a mute, a pause, frames dropped or lost). After
    /// dropped or lost frames a video track waits for its next keyframe (see `TrackWriter::frames_lost`).
    pub fn gap(&mut self, track: &TrackId, gap: Gap) -> Result<(), RecordError> {
        if matches!(gap.reason, GapReason::Dropped | GapReason::Lost) {
            if let Some(w) = self.writers.get_mut(track) {
                w.frames_lost();
            }
        }
        self.manifest
            .track_mut(track)
            .ok_or_else(|| RecordError::UnknownTrack(track.to_string()))?
            .add_gap(gap);
        self.save()
    }

    /// Finalises a track's file (the track was unpublished or its participant left).
    pub fn end_track(&mut self, track: &TrackId) -> Result<(), RecordError> {
        let mut writer = self
            .writers
            .remove(track)
            .ok_or_else(|| RecordError::UnknownTrack(track.to_string()))?;
        let finished = writer.finish();
        let entry = self
            .manifest
            .track_mut(track)
            .ok_or_else(|| RecordError::UnknownTrack(track.to_string()))?;
        entry.state = match &finished {
            Ok(stats) => {
                entry.frames = stats.frames;
                entry.bytes = stats.frame_bytes;
                TrackState::Ended
            }
            Err(_) => TrackState::Failed,
        };
        self.save()?;
        finished.map(|_| ())
    }

    /// Saves the manifest with the current counts (say, every minute, to narrow what `recover`
    /// has to read back).
    pub fn checkpoint(&mut self) -> Result<(), RecordError> {
        self.save()
    }

    /// Ends every track and completes the recording. A track that fails to finalise is marked
    /// `failed` and the others still end; the first such error is returned after the manifest is saved.
    pub fn finish(mut self, at: Stamp) -> Result<Manifest, RecordError> {
        let tracks: Vec<TrackId> = self.writers.keys().cloned().collect();
        let mut first_error = None;
        for t in tracks {
            if let Err(e) = self.end_track(&t) {
                first_error.get_or_insert(e);
            }
        }
        self.manifest.state = RecordingState::Complete;
        self.manifest.ended_at = Some(at);
        self.save()?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(self.manifest),
        }
    }

    fn save(&self) -> Result<(), RecordError> {
        self.manifest.save(&self.dir)
    }
}

fn source_word(source: Source) -> &'static str {
    match source {
        Source::Microphone => "microphone",
        Source::Camera => "camera",
        Source::Screen => "screen",
        Source::ScreenAudio => "screen_audio",
    }
}

/// Participant ids are the server's, but a file name takes only plain characters.
fn file_safe(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_plain_characters() {
        assert_eq!(file_safe("a/../b c"), "a____b_c");
        assert_eq!(file_safe("p-1_x"), "p-1_x");
        assert_eq!(file_safe(&"x".repeat(100)).len(), 64);
    }
}
