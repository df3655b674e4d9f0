//! How a room reaches a participant: the [`Link`] trait. A room only sends frames and asks for a
//! close; what carries them is the link's business. Today every participant is a WebSocket, reached
//! through a [`QueueLink`]: a bounded queue of outgoing frames that the connection's writer task
//! drains. A room never blocks on a slow client: when the queue is full the connection is closed and
//! the participant may resume on a new one.

use std::sync::Arc;

use axum::body::Bytes;
use convene_proto::ServerMessage;
use tokio::sync::{mpsc, Notify};

use crate::metrics::Metrics;

/// Frames waiting for one slow client, before it is cut off.
pub const OUTBOUND_QUEUE: usize = 512;

/// One serialized message: UTF-8 JSON, shared between all recipients of a broadcast.
#[derive(Clone, Debug)]
pub struct Frame(Bytes);

impl Frame {
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }
}

impl From<String> for Frame {
    fn from(s: String) -> Self {
        Frame(Bytes::from(s))
    }
}

impl From<&'static str> for Frame {
    fn from(s: &'static str) -> Self {
        Frame(Bytes::from_static(s.as_bytes()))
    }
}

/// What happened to a frame offered to a participant.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Queued,
    /// The client is too slow: its queue is full, and it has been told to close.
    Dropped,
    /// The connection already ended (its own task reports that); nothing to do here.
    Closed,
}

/// A participant's connection, as a room sees it.
pub trait Link: Send + Sync + std::fmt::Debug {
    /// Distinguishes an old connection of a participant from the one that resumed it.
    fn id(&self) -> u64;
    /// Offers a frame (its message type is for metrics).
    fn send_frame(&self, frame: Frame, ty: &'static str) -> Delivery;
    /// Asks the connection to close with `code`; frames offered before are sent first.
    fn close(&self, code: u16, reason: &'static str);

    /// Offers one message.
    fn send(&self, msg: &ServerMessage) -> Delivery {
        self.send_frame(encode(msg), msg.type_name())
    }
}

/// The handle a room keeps on a participant's connection.
pub type ConnHandle = Arc<dyn Link>;

#[derive(Debug)]
pub enum Outbound {
    /// A serialized message and its type for metrics.
    Text(Frame, &'static str),
    /// Send a close frame with this code and reason, then end the connection.
    Close(u16, &'static str),
}

/// A link through a bounded queue that the connection's writer task drains.
#[derive(Debug)]
pub struct QueueLink {
    id: u64,
    tx: mpsc::Sender<Outbound>,
    abort: Arc<Notify>,
}

impl QueueLink {
    /// The link, the queue its writer drains, and the signal that cuts a too-slow client off.
    pub fn open(id: u64) -> (ConnHandle, mpsc::Receiver<Outbound>, Arc<Notify>) {
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let abort = Arc::new(Notify::new());
        let link = Arc::new(Self {
            id,
            tx,
            abort: abort.clone(),
        });
        (link, rx, abort)
    }
}

impl Link for QueueLink {
    fn id(&self) -> u64 {
        self.id
    }

    fn send_frame(&self, frame: Frame, ty: &'static str) -> Delivery {
        match self.tx.try_send(Outbound::Text(frame, ty)) {
            Ok(()) => Delivery::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.abort.notify_one();
                Delivery::Dropped
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Delivery::Closed,
        }
    }

    fn close(&self, code: u16, reason: &'static str) {
        if self.tx.try_send(Outbound::Close(code, reason)).is_err() {
            self.abort.notify_one();
        }
    }
}

/// Serializes a message once, for any number of recipients.
pub fn encode(msg: &ServerMessage) -> Frame {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no custom Serialize.
    let text = serde_json::to_string(msg).unwrap_or_else(|_| String::from("{\"type\":\"error\"}"));
    Frame::from(text)
}

/// Counts a sent message; the writer calls this when a frame actually leaves.
pub fn count_out(metrics: &Metrics, ty: &str) {
    metrics.messages_out.inc(ty);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_the_client_and_a_closed_one_is_only_closed() {
        let (conn, rx, _abort) = QueueLink::open(1);
        for _ in 0..OUTBOUND_QUEUE {
            assert_eq!(conn.send_frame("x".into(), "t"), Delivery::Queued);
        }
        assert_eq!(conn.send_frame("x".into(), "t"), Delivery::Dropped);
        // A connection whose task ended (the client left) is not a slow client.
        drop(rx);
        assert_eq!(conn.send_frame("x".into(), "t"), Delivery::Closed);
    }
}
