//! The room's record writes, off its message loop. A slow database must not freeze a room: while a
//! message, a departure, a ban or an audit entry is being written, the room goes on with media
//! events, hands, mutes and reactions. What still holds: a chat message is committed before it is
//! broadcast or acknowledged, and a ban before the removal is acknowledged. One writer per room,
//! taking jobs one at a time, so they commit in the order the room made them; the meeting's record
//! closes only after every earlier job (`flush`).

use std::sync::Arc;

use convene_proto::ParticipantId;
use convene_store::{
    ChatRecord, LeaveReason, Millis, NewAuditEntry, NewBan, NewChatMessage, SessionId, Store,
    StoreError,
};
use tokio::sync::{mpsc, oneshot};

use super::plane::RoomAnswer;
use crate::closing::{PendingClose, PendingCloses};
use crate::error::ServerError;

/// A message waiting for its write: who sent it, and where its acknowledgement goes.
#[derive(Debug)]
pub struct PendingChat {
    pub from: ParticipantId,
    pub client_msg_id: Option<String>,
    pub reply: super::command::AnswerTo,
}

enum Job {
    Append(NewChatMessage, PendingChat),
    /// A session ends; a failure is retried later by the server (`closing.rs`).
    CloseSession {
        id: SessionId,
        left_at: Millis,
        reason: LeaveReason,
    },
    SetRole {
        session: SessionId,
        role: &'static str,
    },
    /// A removal's ban, acknowledged on `reply` once committed.
    Ban(NewBan, Option<super::command::AnswerTo>),
    Audit(NewAuditEntry),
    /// Answered once every earlier job is done.
    Flush(oneshot::Sender<()>),
}

/// A finished write, for the room to broadcast and acknowledge.
#[derive(Debug)]
pub struct Stored {
    pub pending: PendingChat,
    pub result: Result<ChatRecord, StoreError>,
}

pub struct RoomWriter {
    // Unbounded, yet bounded in practice: a connection waits for the answer to its message before it
    // sends the next one, so at most one message per participant is queued here.
    tx: mpsc::UnboundedSender<Job>,
    /// Chat results, on their own queue rather than the room's bounded one: the writer never waits for
    /// the room, so a room waiting for the writer (`flush`) cannot deadlock with it.
    pub results: mpsc::UnboundedReceiver<Stored>,
}

impl RoomWriter {
    pub fn spawn(state: Arc<crate::state::AppState>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (done_tx, results) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                run(&*state.store, &state.pending_closes, &done_tx, job).await;
            }
        });
        Self { tx, results }
    }

    pub fn close_session(&self, id: SessionId, left_at: Millis, reason: LeaveReason) {
        let _ = self.tx.send(Job::CloseSession {
            id,
            left_at,
            reason,
        });
    }

    pub fn set_role(&self, session: SessionId, role: &'static str) {
        let _ = self.tx.send(Job::SetRole { session, role });
    }

    pub fn ban(&self, ban: NewBan, reply: Option<super::command::AnswerTo>) {
        let _ = self.tx.send(Job::Ban(ban, reply));
    }

    pub fn audit(&self, entry: NewAuditEntry) {
        let _ = self.tx.send(Job::Audit(entry));
    }

    pub fn append(&self, msg: NewChatMessage, pending: PendingChat) {
        if let Err(mpsc::error::SendError(Job::Append(_, p))) =
            self.tx.send(Job::Append(msg, pending))
        {
            // Only if the writer task is gone (the runtime is shutting down).
            let _ = p
                .reply
                .send(Err(ServerError::Internal("chat writer stopped".into())));
        }
    }

    /// Waits until every message queued so far is written: before the meeting's record is closed.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Job::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(
    store: &dyn Store,
    pending_closes: &PendingCloses,
    done_tx: &mpsc::UnboundedSender<Stored>,
    job: Job,
) {
    match job {
        Job::Append(msg, pending) => {
            let result = store.append_chat(&msg).await;
            if let Err(mpsc::error::SendError(s)) = done_tx.send(Stored { pending, result }) {
                // The room has ended: nobody to broadcast to, but the sender learns whether its
                // message was kept.
                s.answer_directly();
            }
        }
        Job::CloseSession {
            id,
            left_at,
            reason,
        } => {
            if let Err(e) = store.close_session(id, left_at, reason).await {
                tracing::error!(error = %e, session = id.0, "could not close a session; retrying later");
                pending_closes.push(PendingClose::Session {
                    id,
                    left_at,
                    reason,
                });
            }
        }
        Job::SetRole { session, role } => {
            if let Err(e) = store.set_session_role(session, role).await {
                tracing::warn!(error = %e, "could not record a role change");
            }
        }
        Job::Ban(ban, reply) => {
            let result = store.add_ban(&ban).await;
            if let Err(e) = &result {
                tracing::error!(error = %e, participant = %ban.participant_id,
                    "could not record a removal: it holds only until the room ends");
            }
            if let Some(reply) = reply {
                let _ = reply.send(
                    result
                        .map(|_| RoomAnswer::Done)
                        .map_err(ServerError::Storage),
                );
            }
        }
        Job::Audit(entry) => {
            if let Err(e) = store.record_moderation(&entry).await {
                tracing::error!(error = %e, action = %entry.action, "could not write the audit log");
            }
        }
        Job::Flush(done) => {
            let _ = done.send(());
        }
    }
}

impl Stored {
    /// Acknowledges (or refuses) without a broadcast: for a room that has ended.
    pub fn answer_directly(self) {
        let _ = self.pending.reply.send(
            self.result
                .map(|_| RoomAnswer::Done)
                .map_err(ServerError::Storage),
        );
    }
}
