//! What a room does with each request of the room plane.

use convene_proto::{ErrorCode, ParticipantId, Source};
use convene_store::LeaveReason;

use super::command::AnswerTo;
use super::participant::Presence;
use super::plane::{Actor, RoomAnswer, RoomOp};
use super::room::{Continue, Ending, Room};
use crate::error::ServerError;

impl Room {
    pub(super) async fn request(
        &mut self,
        actor: Actor,
        op: RoomOp,
        reply: Option<AnswerTo>,
    ) -> Continue {
        if !op.fits(&actor) {
            answer(
                reply,
                Err(ServerError::client(
                    ErrorCode::Forbidden,
                    "that request does not come from whom it may",
                )),
            );
            return Continue::Go;
        }
        let from = match &actor {
            Actor::Participant { id } => id.clone(),
            _ => return self.outsider_request(actor, op, reply).await,
        };
        if self.is_waiting(&from) {
            return self.waiting_request(&from, op, reply);
        }
        if op.is_host_power() {
            return self.moderate(actor, op, reply).await;
        }
        match op {
            RoomOp::Chat {
                text,
                client_msg_id,
            } => {
                // The answer comes when the message is written (chat.rs).
                let reply = reply.unwrap_or_else(|| tokio::sync::oneshot::channel().0);
                self.chat(from, text, client_msg_id, reply);
                return Continue::Go;
            }
            RoomOp::MayShareFile { meeting } => {
                answer(
                    reply,
                    self.may_share_file(&from, meeting)
                        .map(|()| RoomAnswer::Done),
                );
                return Continue::Go;
            }
            RoomOp::ShareFile { meeting, file } => {
                // The answer comes when the file's row is written (files.rs).
                let reply = reply.unwrap_or_else(|| tokio::sync::oneshot::channel().0);
                self.share_file(from, meeting, file, reply);
                return Continue::Go;
            }
            RoomOp::React { emoji } => {
                answer(reply, self.react(&from, emoji).map(|()| RoomAnswer::Done));
                return Continue::Go;
            }
            RoomOp::SetHand { raised } => self.update(&from, |info| info.hand_raised = raised),
            RoomOp::SetQuality { quality } => self.set_quality(&from, quality),
            RoomOp::Offer { sdp, tracks } => {
                answer(
                    reply,
                    self.offer(&from, sdp, tracks).map(|()| RoomAnswer::Done),
                );
                return Continue::Go;
            }
            RoomOp::AskToUnmute { source } => {
                answer(
                    reply,
                    self.ask_to_unmute(&from, source).map(|()| RoomAnswer::Done),
                );
                return Continue::Go;
            }
            RoomOp::SetMuted { mic, camera } => {
                if let Err(e) = self.may_unmute(&from, mic, camera) {
                    answer(reply, Err(e));
                    return Continue::Go;
                }
                self.update(&from, |info| {
                    if let Some(m) = mic {
                        info.mic_muted = m;
                    }
                    if let Some(c) = camera {
                        info.camera_muted = c;
                    }
                });
                self.server_mute(&from, mic, camera);
            }
            RoomOp::Leave { conn_id } if self.is_current(&from, conn_id) => {
                self.remove(&from, LeaveReason::Left).await;
            }
            RoomOp::ConnectionLost { conn_id } => self.connection_lost(&from, conn_id),
            // `fits` keeps these from participants; host powers went to `moderate`.
            _ => {}
        }
        answer(reply, Ok(RoomAnswer::Done));
        Continue::Go
    }

    /// Requests from outside the meeting: an owner, an administrator, an API key, the server.
    async fn outsider_request(
        &mut self,
        actor: Actor,
        op: RoomOp,
        reply: Option<AnswerTo>,
    ) -> Continue {
        if op.is_host_power() {
            return self.moderate(actor, op, reply).await;
        }
        match op {
            RoomOp::Snapshot => {
                let list = self
                    .participants
                    .iter()
                    .filter(|p| !p.hidden())
                    .map(|p| p.info.clone())
                    .collect();
                answer(reply, Ok(RoomAnswer::Participants { list }));
                Continue::Go
            }
            RoomOp::LobbySnapshot => {
                let waiting = self.lobby_entries();
                answer(reply, Ok(RoomAnswer::Lobby { waiting }));
                Continue::Go
            }
            RoomOp::Drain => {
                self.end_for_all(Ending::Drain).await;
                answer(reply, Ok(RoomAnswer::Done));
                Continue::Stop
            }
            // `fits` keeps a participant's own acts from outsiders.
            _ => {
                answer(reply, Ok(RoomAnswer::Done));
                Continue::Go
            }
        }
    }

    /// Someone waiting in the lobby may only leave it.
    fn waiting_request(
        &mut self,
        from: &ParticipantId,
        op: RoomOp,
        reply: Option<AnswerTo>,
    ) -> Continue {
        match op {
            RoomOp::Leave { conn_id } | RoomOp::ConnectionLost { conn_id } => {
                self.leave_lobby(from, conn_id);
                answer(reply, Ok(RoomAnswer::Done));
            }
            _ => answer(
                reply,
                Err(ServerError::client(
                    ErrorCode::InLobby,
                    "you are waiting in the lobby until a host lets you in",
                )),
            ),
        }
        Continue::Go
    }

    /// A participant may not unmute what a host muted until a host allows it.
    fn may_unmute(
        &self,
        from: &ParticipantId,
        mic: Option<bool>,
        camera: Option<bool>,
    ) -> Result<(), ServerError> {
        let Some(p) = self.find(from) else {
            return Ok(());
        };
        let held = &p.info.host_muted;
        let unmutes = |asked: Option<bool>, s: Source| asked == Some(false) && held.contains(&s);
        if unmutes(mic, Source::Microphone) || unmutes(camera, Source::Camera) {
            return Err(ServerError::client(
                ErrorCode::MutedByHost,
                "a host muted you: ask to unmute, and unmute once allowed",
            ));
        }
        Ok(())
    }

    fn connection_lost(&mut self, from: &ParticipantId, conn_id: u64) {
        if self.is_current(from, conn_id) {
            let until = self.resume_deadline();
            if let Some(p) = self.find_mut(from) {
                tracing::debug!(participant = %from, "connection lost; resume window open");
                p.presence = Presence::Away { until };
            }
        }
    }
}

fn answer(reply: Option<AnswerTo>, result: Result<RoomAnswer, ServerError>) {
    if let Some(r) = reply {
        let _ = r.send(result);
    }
}
