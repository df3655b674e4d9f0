//! Recordings over time: at start-up, those a crash or a kill cut become `interrupted` (files and
//! rows, never lost); a sweep deletes recordings past `recording.retention_days`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use convene_record::{Manifest, RecordingState};
use convene_store::{RecordingEnd, RecordingRecord, RecordingRowState, Store};

use crate::state::AppState;

/// The folder of a recording under `root`; None for a name that is not one the server makes
/// (a row cannot lead the server out of its directory).
pub fn folder(root: &Path, dir: &str) -> Option<PathBuf> {
    let plain = !dir.is_empty()
        && dir
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    plain.then(|| root.join(dir))
}

/// Marks the recordings a previous process left unfinished as `interrupted`: their manifests
/// (with what each cut file holds, read back) and then their rows. Rows whose folder is not on
/// this node (another node's recording, on a shared database) are left alone.
pub async fn recover(store: &dyn Store, root: &Path) {
    let root_owned = root.to_path_buf();
    let recovered =
        tokio::task::spawn_blocking(move || convene_record::recover_all(&root_owned)).await;
    match recovered {
        Ok(Ok(list)) => {
            for r in list {
                match r.outcome {
                    Ok(convene_record::Recovery::MarkedInterrupted { tracks_read }) => {
                        tracing::warn!(dir = %r.dir.display(), tracks_read, "a recording was cut by a stop of the server: marked interrupted");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(dir = %r.dir.display(), error = %e, "cannot recover a recording")
                    }
                }
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot look for cut recordings"),
        Err(e) => tracing::error!(error = %e, "recording recovery panicked"),
    }
    let open = match store
        .recordings_in_state(RecordingRowState::Recording)
        .await
    {
        Ok(open) => open,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the recordings left open");
            return;
        }
    };
    for row in open {
        if let Some(end) = interrupted_end(root, &row) {
            if let Err(e) = store.end_recording(&row.public_id, &end).await {
                tracing::error!(error = %e, recording = %row.public_id, "cannot mark a recording interrupted");
            }
        }
    }
}

/// How a cut recording ended, from its manifest; None when its folder is not here.
fn interrupted_end(root: &Path, row: &RecordingRecord) -> Option<RecordingEnd> {
    let dir = folder(root, &row.dir)?;
    let m = Manifest::load(&dir).ok()?;
    if m.state == RecordingState::Recording {
        // Recovery above failed for it; it is still not running.
        tracing::warn!(recording = %row.public_id, "a cut recording's manifest could not be recovered");
    }
    let bytes: u64 = super::files_of(&dir, &m).iter().map(|(_, s)| s).sum();
    let last = m.tracks.iter().filter_map(|t| t.end).max();
    let duration = last.map(|l| l.0.saturating_sub(m.started_at.meeting.0));
    Some(RecordingEnd {
        state: RecordingRowState::Interrupted,
        ended_at: duration.map(|d| row.started_at.saturating_add(d as i64)),
        bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
        duration_ms: duration.map(|d| d as i64),
    })
}

/// Deletes a recording's folder (its rows are the caller's).
pub async fn delete_folder(root: &Path, dir: &str) {
    let Some(path) = folder(root, dir) else {
        return;
    };
    match tokio::fs::remove_dir_all(&path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot delete a recording"),
    }
}

/// Hourly (and at start): recordings older than `recording.retention_days` go, files and rows.
/// In a cluster each node deletes those on its own disk (and their rows).
pub async fn sweep_loop(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let days = state.config.recording.retention_days;
    let Some(recorder) = state.recorder.clone() else {
        return;
    };
    if days == 0 {
        return;
    }
    let holder = holder(&state);
    loop {
        let age = i64::try_from(days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
        let cut = crate::clock::now_ms().saturating_sub(age);
        match sweep(
            state.store.as_ref(),
            recorder.root(),
            cut,
            holder.as_deref(),
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                recordings = n,
                days,
                "deleted recordings past their retention"
            ),
            Err(e) => tracing::warn!(error = %e, "could not delete old recordings; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// This node, in a cluster: the recordings whose files it holds are the ones it may delete.
pub fn holder(state: &AppState) -> Option<String> {
    state.cluster.as_ref().map(|c| c.node.clone())
}

/// Whether the files of `r` are this node's to delete: on a single node all are; in a cluster,
/// those it recorded (and those made before recordings knew their node).
fn held_here(holder: Option<&str>, r: &RecordingRecord) -> bool {
    match (holder, r.node_id.as_deref()) {
        (Some(me), Some(node)) => me == node,
        _ => true,
    }
}

/// Deletes the recordings (folders, then rows) of the meetings ended before `before` that this
/// node holds, before the meetings' retention purges their records (`records.rs`), which in a
/// cluster keeps a meeting until every node has deleted its recordings of it.
pub async fn delete_with_meetings(
    state: &crate::state::AppState,
    before: convene_store::Millis,
) -> Result<(), convene_store::StoreError> {
    let holder = holder(state);
    let root = PathBuf::from(&state.config.recording.dir);
    for r in state
        .store
        .recordings_of_meetings_ended_before(before)
        .await?
    {
        if held_here(holder.as_deref(), &r) {
            delete_folder(&root, &r.dir).await;
            state
                .store
                .delete_recording(r.meeting, &r.public_id)
                .await?;
        }
    }
    Ok(())
}

/// Deletes the recordings started before `cut` (not those in progress) that `holder` holds (all,
/// without one); how many went.
pub async fn sweep(
    store: &dyn Store,
    root: &Path,
    cut: i64,
    holder: Option<&str>,
) -> Result<usize, convene_store::StoreError> {
    let gone = store.expire_recordings(cut, holder).await?;
    for r in &gone {
        delete_folder(root, &r.dir).await;
    }
    Ok(gone.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_deletes_only_the_recordings_it_holds() {
        let row = |node: Option<&str>| RecordingRecord {
            id: 1,
            public_id: "rec_1".into(),
            meeting: convene_store::MeetingId(1),
            dir: "rec_1".into(),
            state: RecordingRowState::Complete,
            started_at: 0,
            ended_at: None,
            bytes: 0,
            duration_ms: None,
            started_by: None,
            node_id: node.map(str::to_owned),
        };
        assert!(held_here(None, &row(Some("b"))), "a single node holds all");
        assert!(held_here(Some("a"), &row(Some("a"))));
        assert!(!held_here(Some("a"), &row(Some("b"))), "node b's disk");
        assert!(
            held_here(Some("a"), &row(None)),
            "made before nodes were recorded"
        );
    }

    #[test]
    fn only_names_the_server_makes_are_folders() {
        let root = Path::new("/data/rec");
        assert_eq!(
            folder(root, "rec_0a1b"),
            Some(PathBuf::from("/data/rec/rec_0a1b"))
        );
        for bad in ["", "..", "a/b", "../x", "/etc", "a b"] {
            assert_eq!(folder(root, bad), None, "{bad:?}");
        }
    }
}
