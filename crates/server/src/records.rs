//! JSON views of meeting records for the HTTP API.

use convene_store::{ChatRecord, MeetingRecord, SessionRecord};
use serde_json::{json, Value};

pub fn meeting_json(m: &MeetingRecord) -> Value {
    json!({
        "id": m.public_id,
        "room": m.room,
        "creator": m.creator,
        "created_at": m.created_at,
        "started_at": m.started_at,
        "ended_at": m.ended_at,
        "max_participants": m.max_participants,
        "node_id": m.node_id,
    })
}

pub fn meeting_detail_json(
    m: &MeetingRecord,
    sessions: &[SessionRecord],
    chat: &[ChatRecord],
) -> Value {
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "participant_id": s.participant_id,
                "display_name": s.display_name,
                "user_id": s.user.map(|u| u.0),
                "identity": s.identity,
                "role": s.role,
                "joined_at": s.joined_at,
                "left_at": s.left_at,
                "leave_reason": s.leave_reason.map(|r| r.as_str()),
            })
        })
        .collect();
    let chat: Vec<Value> = chat
        .iter()
        .map(|c| {
            json!({
                "seq": c.seq,
                "from": c.participant_id,
                "from_name": c.display_name,
                "text": c.text,
                "sent_at": c.sent_at,
            })
        })
        .collect();
    let mut v = meeting_json(m);
    v["sessions"] = Value::Array(sessions);
    v["chat"] = Value::Array(chat);
    v
}

/// Deletes the records older than `database.retention_days` at start and then hourly (nothing when 0).
pub async fn retention_loop(
    state: std::sync::Arc<crate::state::AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let days = state.config.database.retention_days;
    if days == 0 {
        return;
    }
    let keep_ms = i64::try_from(days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    loop {
        let before = crate::clock::now_ms().saturating_sub(keep_ms);
        match state.store.purge_meetings_ended_before(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(meetings = n, days, "deleted records past their retention"),
            Err(e) => tracing::warn!(error = %e, "could not delete old records; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
