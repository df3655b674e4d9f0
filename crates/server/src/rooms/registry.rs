//! The rooms on this node, by name. A room is made at its first join and removes itself when it ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use convene_proto::{ErrorCode, ParticipantId, RoomId};
use tokio::sync::{mpsc, oneshot};

use super::command::{JoinRefusal, JoinRequest, RoomCmd};
use super::conn::ConnHandle;
use super::plane::{Actor, RoomAnswer, RoomOp};
use super::room::Room;
use crate::error::ServerError;
use crate::state::AppState;

/// Commands waiting for one room; joins and chat are bounded by it, so a flood shows up as back-pressure.
const ROOM_QUEUE: usize = 1024;

#[derive(Clone, Debug)]
pub struct RoomHandle {
    pub id: RoomId,
    generation: u64,
    tx: mpsc::Sender<RoomCmd>,
}

impl RoomHandle {
    /// Sends a command; false when the room has ended.
    pub async fn send(&self, cmd: RoomCmd) -> bool {
        self.tx.send(cmd).await.is_ok()
    }

    /// Asks the room and waits for its answer.
    pub async fn request(&self, actor: Actor, op: RoomOp) -> Result<RoomAnswer, ServerError> {
        let (reply, answer) = oneshot::channel();
        let cmd = RoomCmd::Request {
            actor,
            op,
            reply: Some(reply),
        };
        if !self.send(cmd).await {
            return Err(Self::gone());
        }
        answer.await.map_err(|_| Self::gone())?
    }

    /// Asks the room without waiting for an answer (what is told, not asked).
    pub async fn tell(&self, actor: Actor, op: RoomOp) {
        let cmd = RoomCmd::Request {
            actor,
            op,
            reply: None,
        };
        self.send(cmd).await;
    }

    /// The refusal for a room that is not live (any more).
    pub fn gone() -> ServerError {
        ServerError::client(ErrorCode::NotFound, "the meeting has ended")
    }
}

#[derive(Default)]
pub struct Registry {
    rooms: Mutex<HashMap<RoomId, RoomHandle>>,
    generations: AtomicU64,
}

impl Registry {
    /// Joins `req.room`, making the room if allowed. Retries when it meets a room that is just ending.
    pub(super) async fn join_room(
        &self,
        state: &Arc<AppState>,
        req: JoinRequest,
        conn: ConnHandle,
    ) -> Result<(RoomHandle, ParticipantId), ServerError> {
        let mut req = req;
        for _ in 0..3 {
            let handle = self.get_or_create(state, &req.room, req.planned)?;
            let (reply, answer) = oneshot::channel();
            let cmd = RoomCmd::Join {
                req,
                conn: conn.clone(),
                reply,
            };
            if let Err(mpsc::error::SendError(cmd)) = handle.tx.send(cmd).await {
                self.remove(&handle.id, handle.generation);
                req = take_request(cmd);
                continue;
            }
            match answer.await {
                Ok(Ok(id)) => return Ok((handle, id)),
                Ok(Err(JoinRefusal::Error(e))) => return Err(e),
                Ok(Err(JoinRefusal::RoomEnded)) | Err(_) => {
                    self.remove(&handle.id, handle.generation);
                    return Err(ServerError::client(
                        ErrorCode::InternalError,
                        "the room was closing; join again",
                    ));
                }
            }
        }
        Err(ServerError::Internal("room kept ending during join".into()))
    }

    fn get_or_create(
        &self,
        state: &Arc<AppState>,
        id: &RoomId,
        planned: bool,
    ) -> Result<RoomHandle, ServerError> {
        let mut rooms = self.lock();
        if let Some(h) = rooms.get(id) {
            if !h.tx.is_closed() {
                return Ok(h.clone());
            }
        }
        if !state.config.rooms.create_on_join && !planned {
            return Err(ServerError::client(
                ErrorCode::RoomNotFound,
                format!("there is no meeting in room `{id}` now"),
            ));
        }
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(ROOM_QUEUE);
        let handle = RoomHandle {
            id: id.clone(),
            generation,
            tx,
        };
        rooms.insert(id.clone(), handle.clone());
        let room = Room::new(id.clone(), generation, state.clone());
        tokio::spawn(room.run(rx));
        Ok(handle)
    }

    /// Called by a room as it ends; a newer room of the same name stays.
    pub fn remove(&self, id: &RoomId, generation: u64) {
        let mut rooms = self.lock();
        if rooms.get(id).is_some_and(|h| h.generation == generation) {
            rooms.remove(id);
        }
    }

    pub fn get(&self, id: &RoomId) -> Option<RoomHandle> {
        self.lock().get(id).cloned()
    }

    pub fn handles(&self) -> Vec<RoomHandle> {
        self.lock().values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, RoomHandle>> {
        // The map is only read and written in short sections that cannot panic; a poisoned lock still
        // holds a consistent map, so keep using it.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn take_request(cmd: RoomCmd) -> JoinRequest {
    match cmd {
        RoomCmd::Join { req, .. } => req,
        // Only a Join was sent above.
        _ => unreachable!("a failed join send returns the join"),
    }
}
