//! The room's record writes, off its message loop. A slow database must not freeze a room: while a
//! message, a departure, a ban or an audit entry is being written, the room goes on with media
//! events, hands, mutes and reactions. What still holds: a chat message is committed before it is
//! broadcast or acknowledged, and a ban before the removal is acknowledged. One writer per room,
//! taking jobs one at a time, so they commit in the order the room made them; the meeting's record
//! closes only after every earlier job (`flush`).

use std::sync::Arc;

use convene_proto::ParticipantId;
use convene_store::{
    ChatRecord, LeaveReason, MeetingId, Millis, NewAuditEntry, NewBan, NewChatMessage, NewMeeting,
    NewSession, SessionId, Store, StoreError,
};
use tokio::sync::{mpsc, oneshot};

use super::plane::RoomAnswer;
use crate::error::ServerError;
use crate::pending_writes::{PendingWrite, PendingWrites};

/// A message waiting for its write: who sent it, and where its acknowledgement goes.
#[derive(Debug)]
pub struct PendingChat {
    pub from: ParticipantId,
    pub client_msg_id: Option<String>,
    pub reply: super::command::AnswerTo,
}

/// Which meeting a join's session belongs to.
#[derive(Debug)]
pub enum MeetingSlot {
    Known(MeetingId),
    /// The first join of a meeting makes it.
    Create(NewMeeting),
    /// An earlier join, queued before this one, makes it.
    FromEarlier,
}

/// A join waiting for its session row (rooms/arrival.rs).
#[derive(Debug)]
pub struct JoinWrite {
    pub meeting: MeetingSlot,
    pub session: NewSession,
}

/// A finished join write: the meeting (made now or before) and the session.
#[derive(Debug)]
pub struct JoinStored {
    pub pending: super::arrival::PendingJoin,
    pub result: Result<(MeetingId, SessionId), StoreError>,
}

/// A finished write the room acts on.
#[derive(Debug)]
pub enum Done {
    Chat(Stored),
    Join(Box<JoinStored>),
    File(super::files::FileDone),
}

enum Job {
    Append(NewChatMessage, PendingChat),
    Join(JoinWrite, Box<super::arrival::PendingJoin>),
    /// A session ends; a failure is retried later by the server (`closing.rs`).
    CloseSession {
        id: SessionId,
        left_at: Millis,
        reason: LeaveReason,
    },
    /// A write the room does not wait for and that an outage must not lose: a role, host mutes,
    /// settings, an audit entry, a webhook event without a record of its own.
    Held(PendingWrite),
    /// A removal's ban, acknowledged on `reply` once committed.
    Ban(NewBan, Option<super::command::AnswerTo>),
    /// A shared file's row (rooms/files.rs).
    File(super::files::FileJob),
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
    /// Results of chat and join writes, on their own queue rather than the room's bounded one: the
    /// writer never waits for the room, so a room waiting for the writer (`flush`) cannot deadlock
    /// with it.
    pub results: mpsc::UnboundedReceiver<Done>,
}

impl RoomWriter {
    pub fn spawn(state: Arc<crate::state::AppState>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (done_tx, results) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            // The meeting the last `MeetingSlot::Create` made, for the joins queued behind it.
            let mut made = None;
            while let Some(job) = rx.recv().await {
                let w = Writes {
                    store: &*state.store,
                    gate: &state.db_gate,
                    pending_writes: &state.pending_writes,
                    done_tx: &done_tx,
                };
                // While the database is known to be down, a job is refused at once rather than
                // waiting the acquire timeout behind every job before it (db_gate.rs).
                let job = match state.db_gate.admit(w.store).await {
                    Ok(()) => Some(job),
                    Err(e) => w.refuse(job, e).await,
                };
                if let Some(job) = job {
                    w.run(&mut made, job).await;
                }
            }
        });
        Self { tx, results }
    }

    /// Writes a join's meeting (if it is the first) and session; the result comes back on
    /// `results`.
    pub fn join(&self, write: JoinWrite, pending: super::arrival::PendingJoin) {
        if let Err(mpsc::error::SendError(Job::Join(_, p))) =
            self.tx.send(Job::Join(write, Box::new(pending)))
        {
            // Only if the writer task is gone (the runtime is shutting down).
            p.refuse(ServerError::Internal("record writer stopped".into()));
        }
    }

    pub fn close_session(&self, id: SessionId, left_at: Millis, reason: LeaveReason) {
        let _ = self.tx.send(Job::CloseSession {
            id,
            left_at,
            reason,
        });
    }

    pub fn set_role(&self, session: SessionId, role: &'static str) {
        let _ = self
            .tx
            .send(Job::Held(PendingWrite::Role { session, role }));
    }

    /// The sources a host muted `session` on, as they are now.
    pub fn host_muted(&self, session: SessionId, sources: &[convene_proto::Source]) {
        // Plain enums: serializing them cannot fail.
        let sources_json = serde_json::to_string(sources).unwrap_or_else(|_| "[]".into());
        let write = PendingWrite::HostMuted {
            session,
            sources_json,
        };
        let _ = self.tx.send(Job::Held(write));
    }

    /// The meeting's settings (lock, lobby), as they are now.
    pub fn settings(&self, meeting: MeetingId, settings: convene_proto::MeetingSettings) {
        // Two booleans: serializing them cannot fail.
        let settings_json = serde_json::to_string(&settings).unwrap_or_else(|_| "{}".into());
        let write = PendingWrite::Settings {
            meeting,
            settings_json,
        };
        let _ = self.tx.send(Job::Held(write));
    }

    pub fn ban(&self, ban: NewBan, reply: Option<super::command::AnswerTo>) {
        let _ = self.tx.send(Job::Ban(ban, reply));
    }

    pub fn event(
        &self,
        meeting: MeetingId,
        kind: &'static str,
        data: serde_json::Value,
        at: Millis,
    ) {
        let _ = self.tx.send(Job::Held(PendingWrite::Event {
            meeting,
            kind,
            data,
            at,
        }));
    }

    pub fn audit(&self, entry: NewAuditEntry) {
        let _ = self
            .tx
            .send(Job::Held(PendingWrite::Audit(Box::new(entry))));
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

    pub fn file(&self, job: super::files::FileJob) {
        if let Err(mpsc::error::SendError(Job::File(job))) = self.tx.send(Job::File(job)) {
            // Only if the writer task is gone (the runtime is shutting down).
            let reply = match job {
                super::files::FileJob::Add { reply, .. }
                | super::files::FileJob::Delete { reply, .. } => reply,
            };
            let _ = reply.send(Err(ServerError::Internal("record writer stopped".into())));
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

/// What a job needs to write and to answer.
struct Writes<'a> {
    store: &'a dyn Store,
    gate: &'a crate::db_gate::DbGate,
    pending_writes: &'a PendingWrites,
    done_tx: &'a mpsc::UnboundedSender<Done>,
}

impl Writes<'_> {
    async fn run(&self, made: &mut Option<MeetingId>, job: Job) {
        let (store, gate) = (self.store, self.gate);
        match job {
            Job::Append(msg, pending) => {
                let result = store.append_chat(&msg).await;
                gate.observe(&result);
                self.chat_done(Stored { pending, result });
            }
            Job::Join(write, pending) => {
                let result = write_join(store, made, write).await;
                gate.observe(&result);
                self.join_done(JoinStored {
                    pending: *pending,
                    result,
                })
                .await;
            }
            Job::CloseSession {
                id,
                left_at,
                reason,
            } => {
                let result = store.close_session(id, left_at, reason).await;
                gate.observe(&result);
                if let Err(e) = result {
                    self.close_later(id, left_at, reason, &e);
                }
            }
            Job::Ban(ban, reply) => {
                let result = store.add_ban(&ban).await;
                gate.observe(&result);
                ban_done(&ban, reply, result.map(|_| ()));
            }
            Job::Held(write) => {
                self.pending_writes.supersede(&write);
                let result = write.apply(store).await;
                gate.observe(&result);
                if let Err(e) = result {
                    self.write_later(write, &e);
                }
            }
            Job::File(job) => {
                if let Err(mpsc::error::SendError(Done::File(d))) =
                    self.done_tx.send(Done::File(job.run(store).await))
                {
                    d.answer_directly();
                }
            }
            Job::Flush(done) => {
                let _ = done.send(());
            }
        }
    }

    /// What a job the gate turned away gets: the failure a write would have had. Returns the
    /// jobs that still run (a flush writes nothing; a shared file's job has its own failure path
    /// and is rare).
    async fn refuse(&self, job: Job, e: StoreError) -> Option<Job> {
        match job {
            Job::Append(_, pending) => self.chat_done(Stored {
                pending,
                result: Err(e),
            }),
            Job::Join(_, pending) => {
                self.join_done(JoinStored {
                    pending: *pending,
                    result: Err(e),
                })
                .await
            }
            Job::CloseSession {
                id,
                left_at,
                reason,
            } => self.close_later(id, left_at, reason, &e),
            Job::Ban(ban, reply) => ban_done(&ban, reply, Err(e)),
            Job::Held(write) => self.write_later(write, &e),
            job @ (Job::File(_) | Job::Flush(_)) => return Some(job),
        }
        None
    }

    fn chat_done(&self, stored: Stored) {
        if let Err(mpsc::error::SendError(Done::Chat(s))) = self.done_tx.send(Done::Chat(stored)) {
            // The room has ended: nobody to broadcast to, but the sender learns whether its
            // message was kept.
            s.answer_directly();
        }
    }

    async fn join_done(&self, stored: JoinStored) {
        if let Err(mpsc::error::SendError(Done::Join(j))) =
            self.done_tx.send(Done::Join(Box::new(stored)))
        {
            j.room_gone(self.store).await;
        }
    }

    fn close_later(&self, id: SessionId, left_at: Millis, reason: LeaveReason, e: &StoreError) {
        tracing::error!(error = %e, session = id.0, "could not close a session; retrying later");
        self.pending_writes.push(PendingWrite::Session {
            id,
            left_at,
            reason,
        });
    }

    /// A role change, an audit entry or a webhook event the database did not take: kept for a
    /// retry when it was unreachable (pending_writes.rs), else dropped with an error.
    fn write_later(&self, write: PendingWrite, e: &StoreError) {
        if e.is_unreachable() {
            tracing::warn!(error = %e, ?write, "a record write waits for the database");
            self.pending_writes.push(write);
        } else {
            tracing::error!(error = %e, ?write, "a record write failed");
        }
    }
}

/// A removal's ban is written (or not): logged, and acknowledged when someone waits.
fn ban_done(ban: &NewBan, reply: Option<super::command::AnswerTo>, result: Result<(), StoreError>) {
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

async fn write_join(
    store: &dyn Store,
    made: &mut Option<MeetingId>,
    mut write: JoinWrite,
) -> Result<(MeetingId, SessionId), StoreError> {
    let meeting = match write.meeting {
        MeetingSlot::Known(m) => m,
        MeetingSlot::Create(new) => {
            let m = store.create_meeting(&new).await?;
            *made = Some(m);
            m
        }
        MeetingSlot::FromEarlier => made.ok_or(StoreError::NotFound("meeting"))?,
    };
    write.session.meeting = meeting;
    let session = store.open_session(&write.session).await?;
    Ok((meeting, session))
}

impl JoinStored {
    /// The room ended while the join was written: its session closes at once, and the joiner hears
    /// that the room ended (the registry then tries a new one).
    pub async fn room_gone(self, store: &dyn Store) {
        if let Ok((_, session)) = self.result {
            let now = crate::clock::now_ms();
            if let Err(e) = store.close_session(session, now, LeaveReason::Left).await {
                tracing::warn!(error = %e, "could not close the session of a join that came too late");
            }
        }
        self.pending.room_ended();
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
