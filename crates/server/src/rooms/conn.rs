//! The room's handle on one WebSocket connection: a bounded queue of outgoing frames plus a way to
//! close it. A room never blocks on a slow client: when the queue is full the connection is closed and
//! the participant may resume on a new one.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use convene_proto::ServerMessage;
use tokio::sync::{mpsc, Notify};

use crate::metrics::Metrics;

/// Frames waiting for one slow client, before it is cut off.
pub const OUTBOUND_QUEUE: usize = 512;

#[derive(Debug)]
pub enum Outbound {
    /// A serialized message (shared between all recipients of a broadcast) and its type for metrics.
    Text(Utf8Bytes, &'static str),
    /// Send a close frame with this code and reason, then end the connection.
    Close(u16, &'static str),
}

#[derive(Clone, Debug)]
pub struct ConnHandle {
    /// Distinguishes an old connection of a participant from the one that resumed it.
    pub id: u64,
    tx: mpsc::Sender<Outbound>,
    abort: Arc<Notify>,
}

/// What happened to a frame offered to a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Queued,
    /// The client is too slow: its queue is full, and it has been told to close.
    Dropped,
    /// The connection already ended (its own task reports that); nothing to do here.
    Closed,
}

impl ConnHandle {
    pub fn new(id: u64) -> (Self, mpsc::Receiver<Outbound>, Arc<Notify>) {
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let abort = Arc::new(Notify::new());
        (
            Self {
                id,
                tx,
                abort: abort.clone(),
            },
            rx,
            abort,
        )
    }

    pub fn send_text(&self, text: Utf8Bytes, ty: &'static str) -> Delivery {
        match self.tx.try_send(Outbound::Text(text, ty)) {
            Ok(()) => Delivery::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.abort.notify_one();
                Delivery::Dropped
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Delivery::Closed,
        }
    }

    pub fn send(&self, msg: &ServerMessage) -> Delivery {
        self.send_text(encode(msg), msg.type_name())
    }

    /// Asks the connection to close; queued frames are sent first.
    pub fn close(&self, code: u16, reason: &'static str) {
        if self.tx.try_send(Outbound::Close(code, reason)).is_err() {
            self.abort.notify_one();
        }
    }
}

/// Serializes a message once, for any number of recipients.
pub fn encode(msg: &ServerMessage) -> Utf8Bytes {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no custom Serialize.
    let text = serde_json::to_string(msg).unwrap_or_else(|_| String::from("{\"type\":\"error\"}"));
    Utf8Bytes::from(text)
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
        let (conn, rx, _abort) = ConnHandle::new(1);
        for _ in 0..OUTBOUND_QUEUE {
            assert_eq!(conn.send_text("x".into(), "t"), Delivery::Queued);
        }
        assert_eq!(conn.send_text("x".into(), "t"), Delivery::Dropped);
        // A connection whose task ended (the client left) is not a slow client.
        drop(rx);
        assert_eq!(conn.send_text("x".into(), "t"), Delivery::Closed);
    }
}
