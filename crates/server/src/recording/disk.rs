//! The disk-space guard: no recording starts, and running ones stop (`disk_full`), when the free
//! space where recordings are written falls under `recording.min_free_mb`.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use convene_proto::RecordingStopReason;

use crate::rooms::{Actor, RoomOp};
use crate::state::AppState;

/// Bytes an unprivileged process may still write on the file system holding `path` (or, for a
/// directory not made yet, the file system it will be made on).
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let c = CString::new(existing.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: statvfs only writes the struct we hand it; `c` is a valid NUL-terminated path
    // that outlives the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// Whether there is room to record: free space at or above the threshold. An unreadable file
/// system counts as full (recording onto it would fail anyway).
pub fn has_room(path: &Path, min_free: u64) -> bool {
    match free_bytes(path) {
        Ok(free) => free >= min_free,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the free disk space");
            false
        }
    }
}

/// Every `recording.disk_check_secs`, while something records: stops every recording when the
/// disk is under its threshold.
pub async fn guard(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Some(recorder) = state.recorder.clone() else {
        return;
    };
    let every = Duration::from_secs(state.config.recording.disk_check_secs);
    let min_free = state.config.recording.min_free_bytes();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let rooms = recorder.active_rooms();
        if rooms.is_empty() || has_room(recorder.root(), min_free) {
            continue;
        }
        tracing::warn!(
            rooms = rooms.len(),
            min_free_mb = state.config.recording.min_free_mb,
            "free disk space under the threshold: stopping every recording"
        );
        for room in rooms {
            let op = RoomOp::StopRecording {
                reason: RecordingStopReason::DiskFull,
            };
            state.plane.tell(&room, Actor::System, op).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_read_and_a_huge_threshold_is_never_met() {
        let dir = tempfile::tempdir().expect("temp dir");
        let free = free_bytes(dir.path()).expect("statvfs");
        assert!(free > 0);
        assert!(has_room(dir.path(), 0));
        assert!(!has_room(dir.path(), u64::MAX));
        let later = dir.path().join("not").join("made");
        assert_eq!(
            free_bytes(&later).expect("statvfs") >> 20,
            free >> 20,
            "a directory not made yet: the one it will be made in"
        );
    }
}
