//! Webhook endpoints, their place in the outbox, and the deliveries tried: the SQL behind the
//! webhook methods of [`crate::Store`].

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::model::*;
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;

const COLUMNS: &str =
    "id, url, secret, events, from_config, created_at, revoked_at, done_through, \
     attempts, next_attempt_at, first_failed_at";

fn from_row(row: &AnyRow) -> Result<WebhookRecord> {
    let events: String = row.try_get("events")?;
    Ok(WebhookRecord {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        events: events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        from_config: row.try_get::<i64, _>("from_config")? != 0,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        progress: WebhookProgress {
            cursor: row.try_get("done_through")?,
            attempts: row.try_get("attempts")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            first_failed_at: row.try_get("first_failed_at")?,
        },
    })
}

fn delivery_from_row(row: &AnyRow) -> Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        kind: row.try_get("kind")?,
        delivery: NewDelivery {
            endpoint: row.try_get("endpoint_id")?,
            event_row: row.try_get("event_row")?,
            at: row.try_get("at")?,
            attempt: row.try_get("attempt")?,
            status: row.try_get("status")?,
            error: row.try_get("error")?,
            ok: row.try_get::<i64, _>("ok")? != 0,
        },
    })
}

impl SqlStore {
    /// Stores an endpoint; one of the same id (a configuration endpoint at the next start) takes
    /// its url, secret and events and is live again, keeping its place in the outbox.
    pub(crate) async fn put_webhook_row(&self, w: &WebhookRecord) -> Result<()> {
        let events = w.events.join(",");
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, url, secret, events, from_config, created_at, \
             revoked_at, done_through, attempts, next_attempt_at, first_failed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (id) DO UPDATE SET url = $2, secret = $3, events = $4, revoked_at = $7",
        )
        .bind(w.id.as_str())
        .bind(w.url.as_str())
        .bind(w.secret.as_str())
        .bind(events)
        .bind(i64::from(w.from_config))
        .bind(w.created_at)
        .bind(w.revoked_at)
        .bind(w.progress.cursor)
        .bind(w.progress.attempts)
        .bind(w.progress.next_attempt_at)
        .bind(w.progress.first_failed_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub(crate) async fn webhook_rows(&self) -> Result<Vec<WebhookRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    pub(crate) async fn webhook_row(&self, id: &str) -> Result<Option<WebhookRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn revoke_webhook_row(&self, id: &str, now: Millis) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE webhook_endpoints SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    pub(crate) async fn set_webhook_progress_row(
        &self,
        id: &str,
        p: &WebhookProgress,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE webhook_endpoints SET done_through = $2, attempts = $3, next_attempt_at = $4, \
             first_failed_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(p.cursor)
        .bind(p.attempts)
        .bind(p.next_attempt_at)
        .bind(p.first_failed_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One statement, so two nodes cannot both take the hold: PostgreSQL re-checks the condition
    /// on the row the other's update committed; SQLite has one writer at a time.
    pub(crate) async fn hold_webhook_row(
        &self,
        id: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Option<WebhookRecord>> {
        let sql = format!(
            "UPDATE webhook_endpoints SET held_by = $2, held_until = $4 \
             WHERE id = $1 AND revoked_at IS NULL AND (held_until <= $3 OR held_by = $2) \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(holder)
            .bind(now)
            .bind(until)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn set_held_webhook_progress_row(
        &self,
        id: &str,
        holder: &str,
        p: &WebhookProgress,
        until: Millis,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE webhook_endpoints SET done_through = $3, attempts = $4, next_attempt_at = $5, \
             first_failed_at = $6, held_until = $7 WHERE id = $1 AND held_by = $2",
        )
        .bind(id)
        .bind(holder)
        .bind(p.cursor)
        .bind(p.attempts)
        .bind(p.next_attempt_at)
        .bind(p.first_failed_at)
        .bind(until)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    pub(crate) async fn insert_delivery(&self, d: &NewDelivery) -> Result<i64> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhook_deliveries (endpoint_id, event_row, at, attempt, status, error, ok) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(d.endpoint.as_str())
        .bind(d.event_row)
        .bind(d.at)
        .bind(d.attempt)
        .bind(d.status)
        .bind(d.error.as_deref())
        .bind(i64::from(d.ok))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn delivery_rows(
        &self,
        endpoint: &str,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT d.id, d.endpoint_id, d.event_row, d.at, d.attempt, d.status, d.error, d.ok, \
             e.event_id, e.kind FROM webhook_deliveries d \
             JOIN webhook_events e ON e.id = d.event_row \
             WHERE d.endpoint_id = $1 ORDER BY d.id DESC LIMIT $2",
        )
        .bind(endpoint)
        .bind(limit.max(0))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    pub(crate) async fn delivery_row(&self, id: i64) -> Result<Option<DeliveryRecord>> {
        let row = sqlx::query(
            "SELECT d.id, d.endpoint_id, d.event_row, d.at, d.attempt, d.status, d.error, d.ok, \
             e.event_id, e.kind FROM webhook_deliveries d \
             JOIN webhook_events e ON e.id = d.event_row WHERE d.id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(delivery_from_row).transpose()
    }
}
