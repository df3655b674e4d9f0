//! Which recording a composition is made from: one of the meeting's rows in `recordings` (the one
//! asked for, or the newest finished one), whose folder under `recording.dir` holds the track files
//! and their manifest.

use std::path::{Path, PathBuf};

use convene_store::{MeetingId, RecordingRecord, RecordingRowState, Store, StoreError};

/// A recording to compose.
#[derive(Debug)]
pub struct Found {
    /// Its public id (stored with the composition).
    pub public_id: String,
    pub dir: PathBuf,
    /// Its row: in a cluster, which node holds the files.
    pub row: RecordingRecord,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The meeting has no such recording (or none at all).
    None,
    /// The recording is still being made.
    InProgress,
    /// It failed: its files cannot be trusted to hold anything.
    Failed,
}

fn finished(r: &RecordingRecord) -> bool {
    matches!(
        r.state,
        RecordingRowState::Complete | RecordingRowState::Interrupted
    )
}

/// Picks the recording: `wanted` by its public id, else the newest finished one.
pub fn pick(rows: &[RecordingRecord], wanted: Option<&str>) -> Result<RecordingRecord, Lookup> {
    let chosen = match wanted {
        Some(id) => rows.iter().find(|r| r.public_id == id),
        None => rows
            .iter()
            .filter(|r| finished(r))
            .max_by_key(|r| (r.started_at, r.id))
            .or_else(|| {
                rows.iter()
                    .find(|r| r.state == RecordingRowState::Recording)
            }),
    };
    match chosen {
        Some(r) if finished(r) => Ok(r.clone()),
        Some(r) if r.state == RecordingRowState::Recording => Err(Lookup::InProgress),
        Some(_) => Err(Lookup::Failed),
        None => Err(Lookup::None),
    }
}

/// The recording of `meeting` to compose, and its folder under `root`.
pub async fn find(
    store: &dyn Store,
    root: &Path,
    meeting: MeetingId,
    wanted: Option<&str>,
) -> Result<Result<Found, Lookup>, StoreError> {
    let rows = store.recordings(meeting).await?;
    Ok(pick(&rows, wanted).and_then(|r| {
        let dir = crate::recording::retention::folder(root, &r.dir).ok_or(Lookup::None)?;
        Ok(Found {
            public_id: r.public_id.clone(),
            dir,
            row: r,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, state: RecordingRowState, started_at: i64) -> RecordingRecord {
        RecordingRecord {
            id,
            public_id: format!("r{id}"),
            meeting: MeetingId(1),
            state,
            started_at,
            ended_at: None,
            dir: format!("d{id}"),
            bytes: 0,
            duration_ms: None,
            started_by: None,
            node_id: None,
        }
    }

    #[test]
    fn the_newest_finished_recording_is_picked_unless_one_is_named() {
        use RecordingRowState::*;
        assert_eq!(pick(&[], None).unwrap_err(), Lookup::None);
        let live = [row(1, Recording, 10)];
        assert_eq!(pick(&live, None).unwrap_err(), Lookup::InProgress);
        let rows = [
            row(1, Complete, 10),
            row(2, Interrupted, 20),
            row(3, Failed, 30),
            row(4, Recording, 40),
        ];
        assert_eq!(pick(&rows, None).map(|r| r.id), Ok(2));
        assert_eq!(pick(&rows, Some("r1")).map(|r| r.id), Ok(1));
        assert_eq!(pick(&rows, Some("r3")).unwrap_err(), Lookup::Failed);
        assert_eq!(pick(&rows, Some("r4")).unwrap_err(), Lookup::InProgress);
        assert_eq!(pick(&rows, Some("r9")).unwrap_err(), Lookup::None);
    }
}
