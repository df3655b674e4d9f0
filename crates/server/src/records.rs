//! The meeting records' retention.

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
