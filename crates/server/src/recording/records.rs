//! The async side of recording: writes the rows in the order the rooms and the writer report
//! (a row is inserted before its end is recorded), queues `recording_ready` for webhooks when a
//! recording's files are finished, and stops a room's recording when the writer cannot go on.

use std::sync::Arc;

use convene_proto::RecordingStopReason;
use convene_store::{RecordingEnd, RecordingRowState};
use tokio::sync::mpsc::UnboundedReceiver;

use super::{Finished, Report};
use crate::rooms::{Actor, RoomOp};
use crate::state::AppState;

/// Runs until every sender is gone (the recorder and the rooms with it).
pub async fn run(state: Arc<AppState>, mut reports: UnboundedReceiver<Report>) {
    while let Some(r) = reports.recv().await {
        match r {
            Report::Insert(row) => {
                if let Err(e) = state.store.add_recording(&row).await {
                    storage_failed(&state, &e, "cannot record a recording's start");
                }
            }
            Report::Finished(f) => finished(&state, f).await,
            Report::Failed { room } => {
                let op = RoomOp::StopRecording {
                    reason: RecordingStopReason::Failed,
                };
                state.plane.tell(&room, Actor::System, op).await;
            }
            Report::Done(tx) => {
                let _ = tx.send(());
            }
        }
    }
}

async fn finished(state: &AppState, f: Finished) {
    let bytes: u64 = f.files.iter().map(|(_, size)| size).sum();
    let end = RecordingEnd {
        state: f.state,
        ended_at: Some(f.ended_at),
        bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
        duration_ms: Some(i64::try_from(f.duration_ms).unwrap_or(i64::MAX)),
    };
    if let Err(e) = state.store.end_recording(&f.public_id, &end).await {
        storage_failed(state, &e, "cannot record a recording's end");
        return;
    }
    if f.state != RecordingRowState::Complete {
        return;
    }
    let files: Vec<serde_json::Value> = f
        .files
        .iter()
        .map(|(name, size)| serde_json::json!({"name": name, "bytes": size}))
        .collect();
    let data = serde_json::json!({
        "recording_id": f.public_id,
        "bytes": bytes,
        "duration_ms": f.duration_ms,
        "files": files,
    });
    if let Err(e) = state
        .store
        .append_event(f.meeting, "recording_ready", data, f.ended_at)
        .await
    {
        storage_failed(state, &e, "cannot queue recording_ready");
    }
}

fn storage_failed(state: &AppState, e: &convene_store::StoreError, what: &str) {
    state
        .metrics
        .storage_failures
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::error!(error = %e, "{what}");
}
