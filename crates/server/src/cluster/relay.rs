//! The ingress side of a relayed WebSocket. A client whose `join` names a room another node owns
//! stays connected here; this node opens one WebSocket to the owner (`/internal/cluster/ws`, signed
//! with the cluster key, carrying who the client is and where it connects from) and pipes the
//! client's frames there and the owner's frames back, in order (one TCP connection each way). The
//! owner runs the normal session over it: identity, limits and the room are all decided there.
//! When the owner's socket ends (the node died or drained), the client's is closed with 1001, and
//! the client reconnects and resumes through any node.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::{auth, Cluster, NodeInfo};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::rooms::conn::{ConnHandle, Delivery, Frame};
use convene_proto::{close, ErrorCode};

/// The internal endpoint a relay connects to.
pub const PATH: &str = "/internal/cluster/ws";
/// The header with the relayed client's identity (JSON), covered by the signature.
pub const FROM_HEADER: &str = "x-convene-relayed-from";

/// Frames from the client waiting for the owner's socket.
const QUEUE: usize = 256;

/// Who the relayed client is, as the ingress node established it from the upgrade request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RelayedFrom {
    /// The signed-in account of the session cookie, if any.
    pub user: Option<(i64, String)>,
    pub peer: IpAddr,
}

/// One client's relay: its frames go to the owner through here.
pub struct Relay {
    tx: mpsc::Sender<String>,
}

impl Relay {
    /// Connects to `owner`, sends the client's `join` and starts piping. An owner that cannot be
    /// reached is the client's error to retry (`server_busy`).
    pub async fn open(
        cluster: Arc<Cluster>,
        owner: &NodeInfo,
        from: &RelayedFrom,
        join: String,
        client: ConnHandle,
        max_frame: usize,
    ) -> Result<Relay, ServerError> {
        let unreachable = |why: String| {
            tracing::warn!(owner = %owner.id, why, "cluster: cannot relay to the room's node");
            ServerError::client(
                ErrorCode::ServerBusy,
                "the meeting's node cannot be reached now; try again shortly",
            )
        };
        let url = format!("{}{PATH}", owner.http.replacen("http", "ws", 1));
        let mut req = url
            .as_str()
            .into_client_request()
            .map_err(|e| unreachable(e.to_string()))?;
        // RelayedFrom is plain data: serializing it cannot fail.
        let from_json = serde_json::to_string(from).unwrap_or_default();
        let sig = cluster
            .key
            .sign(&cluster.node, now_ms(), PATH, from_json.as_bytes());
        let headers = req.headers_mut();
        for (name, value) in [(auth::HEADER, sig), (FROM_HEADER, from_json)] {
            let value = value
                .parse()
                .map_err(|_| unreachable("bad header".into()))?;
            headers.insert(name, value);
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(max_frame.saturating_mul(4)))
            .max_frame_size(Some(max_frame.saturating_mul(4)));
        let connect = tokio_tungstenite::connect_async_with_config(req, Some(config), true);
        let (mut upstream, _) = tokio::time::timeout(std::time::Duration::from_secs(5), connect)
            .await
            .map_err(|_| unreachable("timed out".into()))?
            .map_err(|e| unreachable(e.to_string()))?;
        upstream
            .send(Message::text(join))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        cluster.relays_out.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            pipe(upstream, rx, client).await;
            cluster.relays_out.fetch_sub(1, Ordering::Relaxed);
        });
        Ok(Relay { tx })
    }

    /// Passes a client frame on; false when the owner's side has ended.
    pub async fn forward(&self, text: &str) -> bool {
        self.tx.send(text.to_owned()).await.is_ok()
    }
}

type Upstream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn pipe(mut upstream: Upstream, mut rx: mpsc::Receiver<String>, client: ConnHandle) {
    loop {
        tokio::select! {
            m = upstream.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    if client.send_frame(Frame::from(t.as_str().to_owned()), "relayed")
                        == Delivery::Closed
                    {
                        let _ = upstream.close(None).await;
                        return;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((close::NORMAL, ""), |f| {
                        (u16::from(f.code), known_reason(f.reason.as_str()))
                    });
                    client.close(code, reason);
                    return;
                }
                // tungstenite queues the pong; flushing sends it now, not with the next frame.
                Some(Ok(Message::Ping(_))) => {
                    let _ = upstream.flush().await;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    client.close(close::GOING_AWAY, "the meeting's node went away");
                    return;
                }
            },
            f = rx.recv() => match f {
                Some(text) => {
                    if upstream.send(Message::text(text)).await.is_err() {
                        client.close(close::GOING_AWAY, "the meeting's node went away");
                        return;
                    }
                }
                // The client's connection ended: the owner sees the close as a lost connection
                // (or after `leave`, a left one) and keeps the resume window as for any socket.
                None => {
                    let _ = upstream.close(None).await;
                    return;
                }
            },
        }
    }
}

/// The owner's close reason, passed on only when it is one of the server's own (the client's
/// close frame takes a fixed text).
fn known_reason(reason: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "left",
        "meeting ended",
        "removed",
        "not admitted",
        "denied",
        "replaced by a resumed connection",
        "no keepalive",
        "server shutting down",
        "too slow to receive",
        "rate limit exceeded",
        "message too large",
    ];
    KNOWN.iter().find(|k| **k == reason).copied().unwrap_or("")
}
