//! Planned rooms and their invitations: the SQL behind the planned-room methods of [`crate::Store`].

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::model::*;
use crate::sql::{begin_write, SqlStore};
use crate::traits::Result;
use crate::StoreError;

const COLUMNS: &str = "id, name, owner_id, title, access, password_hash, max_participants, \
     starts_at, created_at, updated_at";

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
    })
}

async fn write_invites(
    tx: &mut Transaction<'static, Any>,
    room: i64,
    emails: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM planned_room_invites WHERE room_id = $1")
        .bind(room)
        .execute(&mut **tx)
        .await?;
    let mut sorted: Vec<&String> = emails.iter().collect();
    sorted.sort();
    sorted.dedup();
    for email in sorted {
        sqlx::query("INSERT INTO planned_room_invites (room_id, email) VALUES ($1, $2)")
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
             max_participants, starts_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
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
        write_invites(&mut tx, id, &r.invited).await?;
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
        let mut room = from_row(&row)?;
        room.invited = self.invites(room.id).await?;
        Ok(Some(room))
    }

    pub(crate) async fn replace_planned_room(&self, r: &PlannedRoom) -> Result<()> {
        let mut tx = begin_write(self.pool(), self.backend()).await?;
        let n = sqlx::query(
            "UPDATE planned_rooms SET title = $2, access = $3, password_hash = $4, \
             max_participants = $5, starts_at = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(r.id)
        .bind(r.title.as_str())
        .bind(r.access.as_str())
        .bind(r.password_hash.as_deref())
        .bind(r.max_participants)
        .bind(r.starts_at)
        .bind(r.updated_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("planned room"));
        }
        write_invites(&mut tx, r.id, &r.invited).await?;
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
            let mut room = from_row(row)?;
            room.invited = self.invites(room.id).await?;
            rooms.push(room);
        }
        Ok(rooms)
    }

    async fn invites(&self, room: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT email FROM planned_room_invites WHERE room_id = $1 ORDER BY email",
        )
        .bind(room)
        .fetch_all(self.pool())
        .await?)
    }
}
