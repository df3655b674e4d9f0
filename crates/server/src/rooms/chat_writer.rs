//! The room's chat writes, off its message loop. A slow database must not freeze a room: while a
//! message is being written, the room goes on with media events, hands, mutes and reactions. What
//! still holds: a message is committed before it is broadcast or acknowledged. One writer per room,
//! taking messages one at a time, so they commit (and are broadcast) in the order they were sent.

use std::sync::Arc;

use convene_proto::ParticipantId;
use convene_store::{ChatRecord, NewChatMessage, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use super::plane::RoomAnswer;
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
    /// Answered once every earlier job is done.
    Flush(oneshot::Sender<()>),
}

/// A finished write, for the room to broadcast and acknowledge.
#[derive(Debug)]
pub struct Stored {
    pub pending: PendingChat,
    pub result: Result<ChatRecord, StoreError>,
}

pub struct ChatWriter {
    // Unbounded, yet bounded in practice: a connection waits for the answer to its message before it
    // sends the next one, so at most one message per participant is queued here.
    tx: mpsc::UnboundedSender<Job>,
    /// Results, on their own queue rather than the room's bounded one: the writer never waits for
    /// the room, so a room waiting for the writer (`flush`) cannot deadlock with it.
    pub results: mpsc::UnboundedReceiver<Stored>,
}

impl ChatWriter {
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (done_tx, results) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                match job {
                    Job::Append(msg, pending) => {
                        let result = store.append_chat(&msg).await;
                        if let Err(mpsc::error::SendError(s)) =
                            done_tx.send(Stored { pending, result })
                        {
                            // The room has ended: nobody to broadcast to, but the sender learns
                            // whether its message was kept.
                            s.answer_directly();
                        }
                    }
                    Job::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Self { tx, results }
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
