//! Planned rooms with their invitations and co-hosts: the SQL behind the planned-room methods of
//! [`crate::Store`].

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::model::*;
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;
use crate::StoreError;

const COLUMNS: &str = "id, name, owner_id, title, access, password_hash, max_participants, \
     starts_at, created_at, updated_at, lobby, empty_room_timeout_secs, record_on_connect";

/// The tables that hold a room's email lists, each `(room_id, email)`. Only these names are ever
/// spliced into SQL.
const INVITES: &str = "planned_room_invites";
const CO_HOSTS: &str = "planned_room_co_hosts";

fn from_row(row: &AnyRow) -> Result<PlannedRoom> {
    let access: String = row.try_get("access")?;
    Ok(PlannedRoom {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner: UserId(row.try_get("owner_id")?),
        title: row.try_get("title")?,
        access: Access::parse(&access)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown room access {access:?}")))?,
        password_hash: row.try_get("password_hash")?,
        max_participants: row.try_get("max_participants")?,
        starts_at: row.try_get("starts_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        invited: Vec::new(),
        lobby: row.try_get::<i64, _>("lobby")? != 0,
        empty_room_timeout_secs: row.try_get("empty_room_timeout_secs")?,
        co_hosts: Vec::new(),
        record_on_connect: row.try_get::<i64, _>("record_on_connect")? != 0,
    })
}

/// Replaces the room's list in `table` (one of [`INVITES`], [`CO_HOSTS`]) with `emails`, sorted and
/// deduplicated.
async fn write_emails(
    tx: &mut Transaction<'static, Any>,
    table: &'static str,
    room: i64,
    emails: &[String],
) -> Result<()> {
    sqlx::query(&format!("DELETE FROM {table} WHERE room_id = $1"))
        .bind(room)
        .execute(&mut **tx)
        .await?;
    let mut sorted: Vec<&String> = emails.iter().collect();
    sorted.sort();
    sorted.dedup();
    let insert = format!("INSERT INTO {table} (room_id, email) VALUES ($1, $2)");
    for email in sorted {
        sqlx::query(&insert)
            .bind(room)
            .bind(email.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl SqlStore {
    pub(crate) async fn insert_planned_room(&self, r: &PlannedRoom) -> Result<i64> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let inserted: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO planned_rooms (name, owner_id, title, access, password_hash, \
             max_participants, starts_at, created_at, updated_at, lobby, empty_room_timeout_secs, \
             record_on_connect) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             RETURNING id",
        )
        .bind(r.name.as_str())
        .bind(r.owner.0)
        .bind(r.title.as_str())
        .bind(r.access.as_str())
        .bind(r.password_hash.as_deref())
        .bind(r.max_participants)
        .bind(r.starts_at)
        .bind(r.created_at)
        .bind(r.updated_at)
        .bind(i64::from(r.lobby))
        .bind(r.empty_room_timeout_secs)
        .bind(i64::from(r.record_on_connect))
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            Err(sqlx::Error::Database(db))
                if db.kind() == sqlx::error::ErrorKind::UniqueViolation =>
            {
                return Err(StoreError::Conflict("a room with this name"));
            }
            Err(e) => return Err(e.into()),
        };
        write_emails(&mut tx, INVITES, id, &r.invited).await?;
        write_emails(&mut tx, CO_HOSTS, id, &r.co_hosts).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn planned_room_by_name(&self, name: &str) -> Result<Option<PlannedRoom>> {
        let sql = format!("SELECT {COLUMNS} FROM planned_rooms WHERE name = $1");
        let Some(row) = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(self.with_emails(from_row(&row)?).await?))
    }

    pub(crate) async fn replace_planned_room(&self, r: &PlannedRoom) -> Result<()> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let n = sqlx::query(
            "UPDATE planned_rooms SET title = $2, access = $3, password_hash = $4, \
             max_participants = $5, starts_at = $6, updated_at = $7, lobby = $8, \
             empty_room_timeout_secs = $9, record_on_connect = $10 WHERE id = $1",
        )
        .bind(r.id)
        .bind(r.title.as_str())
        .bind(r.access.as_str())
        .bind(r.password_hash.as_deref())
        .bind(r.max_participants)
        .bind(r.starts_at)
        .bind(r.updated_at)
        .bind(i64::from(r.lobby))
        .bind(r.empty_room_timeout_secs)
        .bind(i64::from(r.record_on_connect))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("planned room"));
        }
        write_emails(&mut tx, INVITES, r.id, &r.invited).await?;
        write_emails(&mut tx, CO_HOSTS, r.id, &r.co_hosts).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn planned_rooms_by_owner(&self, owner: UserId) -> Result<Vec<PlannedRoom>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM planned_rooms WHERE owner_id = $1 ORDER BY created_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(owner.0)
            .fetch_all(self.pool())
            .await?;
        let mut rooms = Vec::with_capacity(rows.len());
        for row in &rows {
            rooms.push(self.with_emails(from_row(row)?).await?);
        }
        Ok(rooms)
    }

    /// Fills in the room's invitations and co-hosts.
    async fn with_emails(&self, mut room: PlannedRoom) -> Result<PlannedRoom> {
        room.invited = self.emails(INVITES, room.id).await?;
        room.co_hosts = self.emails(CO_HOSTS, room.id).await?;
        Ok(room)
    }

    async fn emails(&self, table: &'static str, room: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT email FROM {table} WHERE room_id = $1 ORDER BY email"
        ))
        .bind(room)
        .fetch_all(self.pool())
        .await?)
    }
}
