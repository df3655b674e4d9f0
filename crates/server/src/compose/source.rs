//! Which recording of a meeting a composition is made from: a folder under the recordings
//! directory, `<dir>/<meeting public id>/` holding `manifest.json`, or one folder per recording
//! inside it (a meeting recorded, stopped and recorded again). The newest finished one is composed.

use std::path::{Path, PathBuf};

use convene_record::{Manifest, RecordingState, MANIFEST_FILE};

/// A recording found on disk.
#[derive(Debug)]
pub struct Found {
    /// Its folder, relative to the recordings directory (stored with the composition).
    pub name: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// No folder of this meeting holds a readable manifest.
    None,
    /// The only recordings are still being written.
    InProgress,
}

/// The newest finished (complete or interrupted) recording of a meeting.
pub fn newest_finished(root: &Path, meeting_public_id: &str) -> Result<Found, Lookup> {
    // Public ids are ours (letters and digits); anything else names no folder.
    if meeting_public_id.is_empty() || !meeting_public_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(Lookup::None);
    }
    let top = root.join(meeting_public_id);
    let mut candidates: Vec<(String, PathBuf)> = vec![(meeting_public_id.to_owned(), top.clone())];
    if let Ok(entries) = std::fs::read_dir(&top) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let sub = e.file_name().to_string_lossy().into_owned();
                candidates.push((format!("{meeting_public_id}/{sub}"), e.path()));
            }
        }
    }
    let mut in_progress = false;
    let mut best: Option<Found> = None;
    for (name, dir) in candidates {
        if !dir.join(MANIFEST_FILE).is_file() {
            continue;
        }
        let Ok(manifest) = Manifest::load(&dir) else {
            continue;
        };
        if manifest.state == RecordingState::Recording {
            in_progress = true;
            continue;
        }
        let newer = best
            .as_ref()
            .is_none_or(|b| manifest.started_at.wall > b.manifest.started_at.wall);
        if newer {
            best = Some(Found {
                name,
                dir,
                manifest,
            });
        }
    }
    match best {
        Some(found) => Ok(found),
        None if in_progress => Err(Lookup::InProgress),
        None => Err(Lookup::None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::fixture::{manifest, stamp};

    #[test]
    fn the_newest_finished_recording_is_found_and_others_are_told_apart() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(
            newest_finished(root.path(), "m1").unwrap_err(),
            Lookup::None
        );
        assert_eq!(
            newest_finished(root.path(), "../etc").unwrap_err(),
            Lookup::None
        );
        let first = root.path().join("m1").join("r1");
        std::fs::create_dir_all(&first).unwrap();
        let mut live = manifest(0, None, Vec::new());
        live.state = RecordingState::Recording;
        live.save(&first).unwrap();
        assert_eq!(
            newest_finished(root.path(), "m1").unwrap_err(),
            Lookup::InProgress
        );

        manifest(0, Some(5_000), Vec::new()).save(&first).unwrap();
        let second = root.path().join("m1").join("r2");
        std::fs::create_dir_all(&second).unwrap();
        let mut later = manifest(9_000, Some(12_000), Vec::new());
        later.started_at = stamp(9_000);
        later.save(&second).unwrap();
        let found = newest_finished(root.path(), "m1").unwrap();
        assert_eq!(found.name, "m1/r2");
        assert_eq!(found.dir, second);
    }
}
