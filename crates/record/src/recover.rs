//! Start-up recovery: a recording whose manifest still says `recording` was cut by a crash or a
//! kill. It becomes `interrupted`, never lost, and each unfinished track is read back so that the
//! manifest says what its file really holds.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::RecordError;
use crate::manifest::{Manifest, RecordingState, TrackState, MANIFEST_FILE};
use crate::readback;

/// What `recover` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// The recording had already ended (complete, or interrupted and recovered before).
    Untouched(RecordingState),
    /// It was cut: now `interrupted`, with this many track files read back.
    MarkedInterrupted { tracks_read: usize },
}

impl Manifest {
    /// Recovers the recording in `dir` (see the module's comment).
    pub fn recover(dir: &Path) -> Result<Recovery, RecordError> {
        let mut manifest = Manifest::load(dir)?;
        if manifest.state != RecordingState::Recording {
            return Ok(Recovery::Untouched(manifest.state));
        }
        let mut tracks_read = 0;
        for entry in &mut manifest.tracks {
            if entry.state != TrackState::Recording {
                continue;
            }
            // A file cut inside its header (or missing) holds no frame.
            let summary = readback::summarize(&dir.join(&entry.file)).unwrap_or_default();
            entry.start = summary.first;
            entry.end = summary.last;
            entry.frames = summary.frames;
            entry.bytes = summary.bytes;
            entry.state = TrackState::Cut;
            tracks_read += 1;
        }
        manifest.state = RecordingState::Interrupted;
        manifest.save(dir)?;
        Ok(Recovery::MarkedInterrupted { tracks_read })
    }
}

/// One folder's outcome in `recover_all`.
#[derive(Debug)]
pub struct Recovered {
    pub dir: PathBuf,
    pub outcome: Result<Recovery, RecordError>,
}

/// Recovers every recording folder (a folder holding a manifest) directly under `root`, in name
/// order. One that fails to recover is reported and does not stop the others.
pub fn recover_all(root: &Path) -> Result<Vec<Recovered>, RecordError> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
        .map_err(RecordError::io(root))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(MANIFEST_FILE).is_file())
        .collect();
    dirs.sort();
    Ok(dirs
        .into_iter()
        .map(|dir| {
            let outcome = Manifest::recover(&dir);
            Recovered { dir, outcome }
        })
        .collect())
}
