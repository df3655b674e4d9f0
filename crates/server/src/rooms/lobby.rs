//! The lobby: newcomers held at the door of a meeting until a host or co-host admits or turns them
//! away. A waiting person has a connection and an id, but is not a participant: nobody but the
//! hosts sees them, and they see nothing of the meeting.

use std::time::Instant;

use convene_proto::{ErrorCode, LobbyEntry, ParticipantId, ServerMessage};

use super::arrival::Answer;
use super::command::{JoinRefusal, JoinReply, JoinRequest};
use super::conn::ConnHandle;
use super::room::{Lifecycle, Room};
use crate::clock::now_ms;
use crate::error::ServerError;

/// Someone waiting in the lobby, with the join they made.
#[derive(Debug)]
pub struct Waiting {
    pub id: ParticipantId,
    pub req: JoinRequest,
    pub conn: ConnHandle,
    pub since: i64,
}

impl Room {
    /// Holds a join in the lobby and tells the hosts.
    pub(super) fn hold_in_lobby(
        &mut self,
        id: ParticipantId,
        req: JoinRequest,
        conn: ConnHandle,
    ) -> JoinReply {
        let max = self.state.config.rooms.max_participants as usize;
        if self.lobby.len() >= max {
            return Err(JoinRefusal::Error(ServerError::client(
                ErrorCode::RoomFull,
                format!("the lobby is full ({max} people wait already)"),
            )));
        }
        conn.send(&ServerMessage::WaitingInLobby {
            participant_id: id.clone(),
            host_present: self.host_present(),
        });
        tracing::info!(room = %self.id, participant = %id, "waiting in the lobby");
        self.event(
            "lobby_waiting",
            serde_json::json!({
                "participant_id": id,
                "display_name": req.display_name,
                "signed_in": req.user.is_some() || req.identity.is_some(),
            }),
        );
        self.lobby.push(Waiting {
            id: id.clone(),
            req,
            conn,
            since: now_ms(),
        });
        self.lifecycle = Lifecycle::Active;
        self.lobby_changed();
        Ok(id)
    }

    /// Whether a host or co-host is connected (someone who can admit).
    pub(super) fn host_present(&self) -> bool {
        self.participants
            .iter()
            .any(|p| p.info.role.moderates() && p.conn().is_some())
    }

    pub(super) fn lobby_entries(&self) -> Vec<LobbyEntry> {
        self.lobby
            .iter()
            .map(|w| LobbyEntry {
                participant_id: w.id.clone(),
                display_name: w.req.display_name.clone(),
                signed_in: w.req.user.is_some() || w.req.identity.is_some(),
                since: w.since,
            })
            .collect()
    }

    /// Tells hosts and co-hosts who waits now.
    pub(super) fn lobby_changed(&mut self) {
        let msg = ServerMessage::LobbyUpdated {
            waiting: self.lobby_entries(),
        };
        for p in self.participants.iter().filter(|p| p.info.role.moderates()) {
            if let Some(conn) = p.conn() {
                conn.send(&msg);
            }
        }
    }

    /// Tells the people waiting whether someone who can admit them is here, when that changes.
    pub(super) fn tell_waiters_about_hosts(&mut self) {
        let present = self.host_present();
        if present == self.hosts_were_present {
            return;
        }
        self.hosts_were_present = present;
        for w in &self.lobby {
            w.conn.send(&ServerMessage::WaitingInLobby {
                participant_id: w.id.clone(),
                host_present: present,
            });
        }
    }

    /// Lets `id` in: it joins as if it had just arrived (the room's other checks apply).
    pub(super) fn admit(&mut self, id: &ParticipantId) -> Result<(), ServerError> {
        let Some(idx) = self.lobby.iter().position(|w| &w.id == id) else {
            return Err(not_waiting());
        };
        if let Err(refusal) = self.may_seat(&self.lobby[idx].req) {
            let w = self.lobby.remove(idx);
            let e = match refusal {
                JoinRefusal::Error(e) => e,
                JoinRefusal::RoomEnded => ServerError::Internal("room ended".into()),
            };
            // They learn why, and leave: a full room does not keep them waiting forever.
            w.conn.send(&e.to_message(Some("join")));
            w.conn.send(&ServerMessage::Closing {
                reason: e.code().as_str().into(),
            });
            w.conn.close(convene_proto::close::REMOVED, "not admitted");
            self.lobby_changed();
            self.settle_if_empty();
            return Err(e);
        }
        let w = self.lobby.remove(idx);
        let entry = w.req.entry;
        self.queue_join(w.id, w.req, w.conn, entry, Answer::Admitted);
        self.lobby_changed();
        Ok(())
    }

    /// Turns `id` away: `denied`, then the connection closes.
    pub(super) fn deny(&mut self, id: &ParticipantId) -> Result<(), ServerError> {
        let Some(idx) = self.lobby.iter().position(|w| &w.id == id) else {
            return Err(not_waiting());
        };
        let w = self.lobby.remove(idx);
        let e = ServerError::client(
            ErrorCode::Denied,
            "a host did not let you into this meeting",
        );
        w.conn.send(&e.to_message(Some("join")));
        w.conn.send(&ServerMessage::Closing {
            reason: "denied".into(),
        });
        w.conn.close(convene_proto::close::REMOVED, "denied");
        tracing::info!(room = %self.id, participant = %id, "denied at the lobby");
        self.lobby_changed();
        self.settle_if_empty();
        Ok(())
    }

    /// A waiting person left (or lost its connection): it is gone from the lobby.
    pub(super) fn leave_lobby(&mut self, id: &ParticipantId, conn_id: u64) -> bool {
        let Some(idx) = self
            .lobby
            .iter()
            .position(|w| &w.id == id && w.conn.id() == conn_id)
        else {
            return false;
        };
        self.lobby.remove(idx);
        self.lobby_changed();
        self.settle_if_empty();
        true
    }

    pub(super) fn is_waiting(&self, id: &ParticipantId) -> bool {
        self.lobby.iter().any(|w| &w.id == id)
    }

    /// A room with nobody in it, nor at its door, starts its countdown to the end.
    pub(super) fn settle_if_empty(&mut self) {
        if self.participants.is_empty() && self.lobby.is_empty() && self.arriving.is_empty() {
            self.lifecycle = Lifecycle::Empty {
                since: Instant::now(),
            };
        }
    }
}

fn not_waiting() -> ServerError {
    ServerError::client(ErrorCode::NotFound, "nobody of that id waits in the lobby")
}
