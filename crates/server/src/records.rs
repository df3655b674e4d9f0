//! The meeting records' retention.

/// Deletes the records older than `database.retention_days`, and the shared files older than
/// `files.retention_days`, at start and then hourly (nothing when both are 0). A meeting's files
/// and compositions (their blobs too) go before the meeting's record.
pub async fn retention_loop(
    state: std::sync::Arc<crate::state::AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let days = state.config.database.retention_days;
    let file_days = state.config.files.retention_days;
    if days == 0 && file_days == 0 {
        return;
    }
    // In a cluster a meeting with recordings on another node's disk waits for that node.
    let holder = crate::recording::retention::holder(&state);
    let ms = |days: u64| i64::try_from(days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    loop {
        let now = crate::clock::now_ms();
        // 0 days: no cut (i64::MIN is before every record).
        let cut = |d: u64| match d {
            0 => i64::MIN,
            d => now.saturating_sub(ms(d)),
        };
        let before = cut(days);
        match crate::files::expire(&state, before, cut(file_days)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "deleted shared files past their retention"),
            Err(e) => tracing::warn!(error = %e, "could not delete old files; will retry"),
        }
        if days > 0 {
            // Compositions (their videos in the blob store) go before the meetings' rows.
            match crate::compose::expire(&state, before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    compositions = n,
                    days,
                    "deleted compositions past their retention"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "could not delete old compositions; will retry")
                }
            }
            // Their recordings' folders go before the rows that name them (else, kept).
            match crate::recording::retention::delete_with_meetings(&state, before).await {
                Ok(()) => match state
                    .store
                    .purge_meetings_ended_before(before, holder.as_deref())
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(meetings = n, days, "deleted records past their retention")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not delete old records; will retry")
                    }
                },
                Err(e) => tracing::warn!(error = %e, "could not list old recordings; will retry"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
