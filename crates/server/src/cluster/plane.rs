//! The room plane of a cluster node: rooms that run here are asked directly (the local
//! [`Registry`]); others are looked up in the directory and asked through their owner
//! (remote.rs). Joins never cross here: a join brings a live connection, which the session relays
//! to the owner before it joins (ws/session.rs), so a join reaching the plane is local.

use std::sync::Arc;

use convene_proto::{ParticipantId, RoomId};
use futures_util::future::BoxFuture;

use super::remote::OpRequest;
use super::Cluster;
use crate::error::ServerError;
use crate::rooms::RoomPlane;
use crate::rooms::{Actor, ConnHandle, JoinRequest, Registry, RoomAnswer, RoomHandle, RoomOp};
use crate::state::AppState;

pub struct ClusterPlane {
    pub cluster: Arc<Cluster>,
    pub local: Arc<Registry>,
}

impl ClusterPlane {
    async fn carry(
        &self,
        room: &RoomId,
        actor: Actor,
        op: RoomOp,
        tell: bool,
    ) -> Result<RoomAnswer, ServerError> {
        match self.cluster.owner(room).await? {
            Some(owner) if owner.id != self.cluster.node => {
                let req = OpRequest {
                    room: room.clone(),
                    actor,
                    op,
                    tell,
                };
                self.cluster.remote_request(&owner, &req).await
            }
            _ => Err(RoomHandle::gone()),
        }
    }
}

impl RoomPlane for ClusterPlane {
    fn join<'a>(
        &'a self,
        state: &'a Arc<AppState>,
        req: JoinRequest,
        conn: ConnHandle,
    ) -> BoxFuture<'a, Result<(RoomId, ParticipantId), ServerError>> {
        self.local.join(state, req, conn)
    }

    fn request<'a>(
        &'a self,
        room: &'a RoomId,
        actor: Actor,
        op: RoomOp,
    ) -> BoxFuture<'a, Result<RoomAnswer, ServerError>> {
        Box::pin(async move {
            match self.local.get(room) {
                Some(handle) => handle.request(actor, op).await,
                None => self.carry(room, actor, op, false).await,
            }
        })
    }

    fn tell<'a>(&'a self, room: &'a RoomId, actor: Actor, op: RoomOp) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            match self.local.get(room) {
                Some(handle) => handle.tell(actor, op).await,
                None => {
                    if let Err(e) = self.carry(room, actor, op, true).await {
                        tracing::debug!(error = %e, room = %room.0, "cluster: a told request was lost");
                    }
                }
            }
        })
    }

    fn live(&self) -> BoxFuture<'_, Vec<RoomId>> {
        Box::pin(async move {
            let mut rooms = self.local.live().await;
            match self.cluster.all_rooms().await {
                Ok(all) => rooms.extend(all),
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: listing the other nodes' rooms failed")
                }
            }
            rooms.sort_by(|a, b| a.0.cmp(&b.0));
            rooms.dedup();
            rooms
        })
    }

    fn is_live<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            if self.local.get(room).is_some() {
                return true;
            }
            matches!(self.cluster.owner(room).await, Ok(Some(_)))
        })
    }

    fn drain_all(&self) -> BoxFuture<'_, ()> {
        self.local.drain_all()
    }
}
