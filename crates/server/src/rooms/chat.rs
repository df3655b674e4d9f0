//! Chat in a room: a message is checked here, written by the room's [`RoomWriter`] off the message
//! loop, and broadcast and acknowledged when its write has committed.

use convene_proto::{ChatMessage, ErrorCode, ParticipantId, ServerMessage};
use convene_store::NewChatMessage;

use super::command::AnswerTo;
use super::plane::RoomAnswer;
use super::room::Room;
use super::writer::{PendingChat, Stored};
use crate::clock::now_ms;
use crate::error::ServerError;

impl Room {
    /// Queues `text` from `from` for writing; `reply` is answered when it is stored (or refused).
    pub(super) fn chat(
        &mut self,
        from: ParticipantId,
        text: String,
        client_msg_id: Option<String>,
        reply: AnswerTo,
    ) {
        let (Some(meeting), Some(p)) = (self.meeting, self.find(&from)) else {
            let _ = reply.send(Err(ServerError::client(
                ErrorCode::NotJoined,
                "not in this room",
            )));
            return;
        };
        let msg = NewChatMessage {
            meeting,
            session: p.session,
            text,
            sent_at: now_ms(),
        };
        let pending = PendingChat {
            from,
            client_msg_id,
            reply,
        };
        self.writer.append(msg, pending);
    }

    /// A write has finished: broadcast the message and acknowledge it, or refuse it.
    pub(super) fn chat_stored(&mut self, Stored { pending, result }: Stored) {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let _ = pending.reply.send(Err(self.storage_failed(e).into()));
                return;
            }
        };
        let message = ChatMessage {
            seq: record.seq,
            from: pending.from,
            from_name: record.display_name,
            text: record.text,
            sent_at: record.sent_at,
            client_msg_id: pending.client_msg_id,
        };
        let keep = self.state.config.rooms.chat_history as usize;
        self.chat.push_back(message.clone());
        while self.chat.len() > keep {
            self.chat.pop_front();
        }
        self.broadcast(&ServerMessage::Chat { message });
        let _ = pending.reply.send(Ok(RoomAnswer::Done));
    }
}
