//! The delivery worker: each live endpoint goes through the outbox in order. An event it does not
//! want is passed over; a delivery answered 2xx moves it on; any other outcome is retried with
//! backoff (doubling from `retry_initial_ms` to `retry_max_secs`) until `retry_hours` have passed
//! since its first failure, then given up on (counted and logged) so the endpoint's later events
//! still come. Every attempt is recorded for the API's "last deliveries". Several nodes on one
//! database each run this worker; an endpoint is held by one of them at a time (`hold_webhook`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use convene_store::{EventRecord, NewDelivery, WebhookProgress, WebhookRecord};

use super::client::{post, Outcome, Post};
use super::target::{parse_url, resolve};
use crate::clock::now_ms;
use crate::state::AppState;

/// How often the worker looks for new events.
const TICK: Duration = Duration::from_millis(200);
/// Events an endpoint takes per tick at most (so that a tick ends, and revocations apply).
const BATCH: i64 = 50;

pub async fn run(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let endpoints = match state.store.webhooks().await {
            Ok(all) => all
                .into_iter()
                .filter(|w| w.revoked_at.is_none())
                .collect::<Vec<_>>(),
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot read endpoints");
                continue;
            }
        };
        // Endpoints in parallel, each in order: a slow receiver does not hold up the others.
        let work = endpoints.into_iter().map(|w| advance(&state, w));
        futures_util::future::join_all(work).await;
    }
}

/// The configuration's endpoints, stored under stable ids; those no longer configured stop. Runs
/// at start, before anything can happen: a newly configured endpoint gets every event from then.
pub async fn sync_config_endpoints(state: &AppState) -> Result<(), convene_store::StoreError> {
    let store = &state.store;
    let existing = store.webhooks().await?;
    let start = store.last_event().await?;
    let mut configured = Vec::new();
    for e in &state.config.webhooks.endpoints {
        let id = super::config_endpoint_id(&e.url);
        let progress = existing.iter().find(|w| w.id == id).map_or(
            WebhookProgress {
                cursor: start,
                ..Default::default()
            },
            |w| w.progress,
        );
        store
            .put_webhook(&WebhookRecord {
                id: id.clone(),
                url: e.url.clone(),
                secret: e.secret.clone(),
                events: e.events.clone(),
                from_config: true,
                created_at: now_ms(),
                revoked_at: None,
                progress,
            })
            .await?;
        configured.push(id);
    }
    for w in existing
        .iter()
        .filter(|w| w.from_config && w.revoked_at.is_none())
    {
        if !configured.contains(&w.id) {
            store.revoke_webhook(&w.id, now_ms()).await?;
        }
    }
    Ok(())
}

/// How long a node holds an endpoint after each step: longer than a delivery can take (its
/// timeout, and the address lookup before it), so that the hold never runs out mid-delivery and
/// another node never sends the same event meanwhile. Nodes' clocks must agree to well within it.
fn hold_ms(cfg: &crate::config::WebhooksConfig) -> i64 {
    i64::try_from(cfg.timeout_secs.saturating_mul(2).saturating_add(30) * 1000).unwrap_or(i64::MAX)
}

/// Takes one endpoint as far through the outbox as it goes now, if no other node on the database
/// does (the endpoint's hold: one node at a time delivers its events, so none is sent twice).
async fn advance(state: &AppState, listed: WebhookRecord) {
    let cfg = &state.config.webhooks;
    if now_ms() < listed.progress.next_attempt_at {
        return;
    }
    let (node, hold) = (state.config.server.node_id.as_str(), hold_ms(cfg));
    // The progress read under the hold, not the listed one: another node may have moved it on.
    let w = match state
        .store
        .hold_webhook(&listed.id, node, now_ms(), now_ms() + hold)
        .await
    {
        Ok(Some(w)) => w,
        Ok(None) => return,
        Err(e) => return tracing::warn!(error = %e, "webhooks: cannot hold an endpoint"),
    };
    let mut p = w.progress;
    if now_ms() < p.next_attempt_at {
        return;
    }
    let events = match state.store.events_after(p.cursor, BATCH).await {
        Ok(e) => e,
        Err(e) => return tracing::warn!(error = %e, "webhooks: cannot read the outbox"),
    };
    let mut saved = p;
    for ev in events {
        if !(w.events.is_empty() || w.events.contains(&ev.kind)) {
            p.cursor = ev.row;
            continue;
        }
        // Renew the hold (storing the progress so far) right before each delivery.
        if !save(state, &w.id, &p, hold).await {
            return;
        }
        saved = p;
        let outcome = deliver(state, &w, &ev).await;
        let now = now_ms();
        let ok = matches!(outcome, Ok(200..=299));
        record(state, &w, &ev, p.attempts + 1, &outcome, ok).await;
        if ok {
            p = WebhookProgress {
                cursor: ev.row,
                ..Default::default()
            };
            continue;
        }
        let first = p.first_failed_at.unwrap_or(now);
        let window = i64::try_from(cfg.retry_hours * 3_600_000).unwrap_or(i64::MAX);
        if now - first >= window {
            tracing::error!(endpoint = %w.id, event = %ev.event_id,
                "webhook event given up on after {} h of failures", cfg.retry_hours);
            state
                .metrics
                .webhook_given_up
                .fetch_add(1, Ordering::Relaxed);
            p = WebhookProgress {
                cursor: ev.row,
                ..Default::default()
            };
            continue;
        }
        p.attempts += 1;
        p.first_failed_at = Some(first);
        p.next_attempt_at = now + backoff_ms(cfg.retry_initial_ms, cfg.retry_max_secs, p.attempts);
        break;
    }
    if p != saved {
        save(state, &w.id, &p, hold).await;
    }
}

/// Stores progress under this node's hold, extending it; false when the hold was lost (another
/// node took the endpoint over) or the store failed: stop delivering then.
async fn save(state: &AppState, id: &str, p: &WebhookProgress, hold: i64) -> bool {
    let node = state.config.server.node_id.as_str();
    match state
        .store
        .set_held_webhook_progress(id, node, p, now_ms() + hold)
        .await
    {
        Ok(true) => true,
        Ok(false) => {
            tracing::warn!(endpoint = %id, "webhooks: another node took the endpoint over");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, endpoint = %id, "webhooks: cannot save progress");
            false
        }
    }
}

/// The wait before attempt `attempts + 1`: doubling from `initial_ms`, at most `max_secs`.
fn backoff_ms(initial_ms: u64, max_secs: u64, attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let ms = initial_ms
        .saturating_mul(1u64 << shift)
        .min(max_secs * 1000);
    i64::try_from(ms).unwrap_or(i64::MAX)
}

async fn record(
    state: &AppState,
    w: &WebhookRecord,
    ev: &EventRecord,
    attempt: i64,
    outcome: &Outcome,
    ok: bool,
) {
    let (status, error) = match outcome {
        Ok(s) => (Some(i64::from(*s)), (!ok).then(|| format!("answered {s}"))),
        Err(e) => (None, Some(e.clone())),
    };
    let counter = if ok {
        &state.metrics.webhook_delivered
    } else {
        &state.metrics.webhook_failed
    };
    counter.fetch_add(1, Ordering::Relaxed);
    let d = NewDelivery {
        endpoint: w.id.clone(),
        event_row: ev.row,
        at: now_ms(),
        attempt,
        status,
        error,
        ok,
    };
    if let Err(e) = state.store.record_delivery(&d).await {
        tracing::warn!(error = %e, "webhooks: cannot record a delivery");
    }
}

/// Sends one event to one endpoint, signed; how it went.
pub async fn deliver(state: &AppState, w: &WebhookRecord, ev: &EventRecord) -> Outcome {
    let cfg = &state.config.webhooks;
    let target = parse_url(&w.url).map_err(|e| e.to_string())?;
    let addrs = resolve(&target, cfg.allow_private)
        .await
        .map_err(|e| e.to_string())?;
    let data: serde_json::Value =
        serde_json::from_str(&ev.payload).unwrap_or(serde_json::Value::Null);
    let body = serde_json::json!({
        "id": ev.event_id,
        "event": ev.kind,
        "seq": ev.seq,
        "room": ev.room,
        "meeting_id": ev.meeting_public_id,
        "created_at": ev.created_at,
        "data": data,
    })
    .to_string();
    let ts = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let headers = vec![
        (
            super::sign::HEADER,
            super::sign::signature(&w.secret, ts, body.as_bytes()),
        ),
        ("convene-event-id", ev.event_id.clone()),
        ("convene-event", ev.kind.clone()),
    ];
    post(Post {
        target: &target,
        addrs: &addrs,
        body: body.into(),
        headers,
        timeout: Duration::from_secs(cfg.timeout_secs),
        max_response_bytes: cfg.max_response_bytes as usize,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let waits: Vec<i64> = (1..=8).map(|a| backoff_ms(1000, 30, a)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        assert_eq!(backoff_ms(1000, 30, 10_000), 30_000, "no overflow");
    }
}
