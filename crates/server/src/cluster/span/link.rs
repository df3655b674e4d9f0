//! The link between an owner node and a helper: a WebSocket the owner opens to the helper's
//! `/internal/cluster/span`, signed with the cluster key like every internal request (the
//! signature covers the owner's sealing epoch, so the helper knows whose it is). Each side
//! announces the random epoch of its own direction (the owner in the request, the helper in the
//! response) and seals every message with the key of (cluster secret, epoch, from, to); a
//! message that does not open, or arrives out of order, ends the link. The link is one TCP
//! connection each way: ordered and reliable, which the relay's encoding and the
//! `Link`/`Linked` handshake rely on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as AxMessage, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as TMessage;

use super::wire::{Control, Item};
use super::Spans;
use crate::clock::now_ms;
use crate::cluster::auth;
use crate::cluster::seal::{Opener, Sealer};

pub const PATH: &str = "/internal/cluster/span";
/// The sender's epoch of its direction, in the request and in the response.
pub const EPOCH_HEADER: &str = "x-convene-link-epoch";
/// Largest message either way: an SDP with many participants' m-lines, far above a packet.
pub const MAX_MESSAGE: usize = 4 << 20;
/// A beat this often; a link silent for `SILENT` is taken for dead.
const BEAT: Duration = Duration::from_secs(2);
const SILENT: Duration = Duration::from_secs(10);

/// One WebSocket, whichever library made it.
trait Socket: Send {
    /// The next binary message; Ok(None) for another kind (skipped); Err when the socket ended.
    fn recv(&mut self) -> impl std::future::Future<Output = Result<Option<Vec<u8>>, ()>> + Send;
    fn send(&mut self, b: Vec<u8>) -> impl std::future::Future<Output = Result<(), ()>> + Send;
}

type Upstream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Socket for Upstream {
    async fn recv(&mut self) -> Result<Option<Vec<u8>>, ()> {
        match self.next().await {
            Some(Ok(TMessage::Binary(b))) => Ok(Some(b.to_vec())),
            Some(Ok(TMessage::Close(_))) | Some(Err(_)) | None => Err(()),
            // tungstenite queues the pong; flushing sends it now.
            Some(Ok(TMessage::Ping(_))) => self.flush().await.map(|_| None).map_err(drop),
            Some(Ok(_)) => Ok(None),
        }
    }

    async fn send(&mut self, b: Vec<u8>) -> Result<(), ()> {
        SinkExt::send(self, TMessage::Binary(b.into()))
            .await
            .map_err(drop)
    }
}

impl Socket for WebSocket {
    async fn recv(&mut self) -> Result<Option<Vec<u8>>, ()> {
        match self.next().await {
            Some(Ok(AxMessage::Binary(b))) => Ok(Some(b.to_vec())),
            Some(Ok(AxMessage::Close(_))) | Some(Err(_)) | None => Err(()),
            Some(Ok(_)) => Ok(None),
        }
    }

    async fn send(&mut self, b: Vec<u8>) -> Result<(), ()> {
        SinkExt::send(self, AxMessage::Binary(b.into()))
            .await
            .map_err(drop)
    }
}

/// Owner side: opens the link to helper `node` and runs it until it ends; then the plan undoes
/// what the link held.
pub(super) async fn open(
    spans: Arc<Spans>,
    slot: u32,
    node: String,
    http: String,
    rx: mpsc::UnboundedReceiver<Item>,
    queued: Arc<AtomicUsize>,
) {
    match connect(&spans, &node, &http).await {
        Ok((ws, sealer, opener)) => {
            tracing::info!(helper = %node, slot, "span: link open");
            pump(&spans, slot, ws, sealer, opener, rx, queued).await;
        }
        Err(why) => tracing::warn!(helper = %node, why, "span: cannot open the link"),
    }
    spans.closed(slot);
}

async fn connect(
    spans: &Spans,
    node: &str,
    http: &str,
) -> Result<(Upstream, Sealer, Opener), String> {
    let sealer = Sealer::new(&spans.secret, &spans.node, node);
    let epoch = sealer.epoch().to_string();
    let url = format!("{}{PATH}", http.replacen("http", "ws", 1));
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let sig = spans
        .cluster
        .key
        .sign(&spans.node, now_ms(), PATH, epoch.as_bytes());
    let headers = req.headers_mut();
    for (name, value) in [(auth::HEADER, sig), (EPOCH_HEADER, epoch)] {
        headers.insert(name, value.parse().map_err(|_| "bad header".to_owned())?);
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let connect = tokio_tungstenite::connect_async_with_config(req, Some(config), true);
    let (ws, response) = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let theirs = response
        .headers()
        .get(EPOCH_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or("the helper announced no epoch")?;
    let opener = Opener::new(&spans.secret, node, &spans.node, theirs);
    Ok((ws, sealer, opener))
}

/// Helper side: the owner `node` opened a link announcing `epoch`; returns this direction's
/// epoch for the response and the task that runs the link once upgraded.
pub(crate) fn accept(
    spans: Arc<Spans>,
    node: String,
    epoch: u64,
) -> (
    u64,
    impl FnOnce(WebSocket) -> futures_util::future::BoxFuture<'static, ()>,
) {
    let sealer = Sealer::new(&spans.secret, &spans.node, &node);
    let opener = Opener::new(&spans.secret, &node, &spans.node, epoch);
    let ours = sealer.epoch();
    let run = move |ws: WebSocket| -> futures_util::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            let (slot, rx, queued) = spans.accept(&node);
            tracing::info!(owner = %node, slot, "span: link accepted");
            pump(&spans, slot, ws, sealer, opener, rx, queued).await;
            spans.closed(slot);
        })
    };
    (ours, run)
}

/// Moves items both ways until the socket ends, a message does not open, or the link is silent.
async fn pump<S: Socket>(
    spans: &Spans,
    slot: u32,
    mut ws: S,
    mut sealer: Sealer,
    mut opener: Opener,
    mut rx: mpsc::UnboundedReceiver<Item>,
    queued: Arc<AtomicUsize>,
) {
    // One stream per sending worker (it encodes for all of this node's cores at once).
    let mut decoders: HashMap<u8, convene_media::RelayDecoder> = HashMap::new();
    let mut item_buf = Vec::new();
    let mut sealed = Vec::new();
    let mut beat = tokio::time::interval(BEAT);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            m = ws.recv() => match m {
                Ok(Some(mut b)) => {
                    heard = Instant::now();
                    let Ok(plain) = opener.open(&mut b) else {
                        tracing::warn!(slot, "span: a message did not open; closing the link");
                        return;
                    };
                    match Item::decode(plain) {
                        Ok(Item::Control(c)) => spans.on_control(slot, c),
                        Ok(Item::Relay { from, to, bytes }) => {
                            let d = decoders.entry(from).or_default();
                            match d.decode(&bytes, Instant::now()) {
                                Ok(msg) => spans.on_relay(slot, from, &to, msg),
                                // The encoding is a stream (codec parameters are sent once): after
                                // a message it cannot read, the two ends disagree. Start afresh.
                                Err(e) => {
                                    tracing::warn!(slot, error = %e, "span: a relay message did not decode; closing the link");
                                    return;
                                }
                            }
                        }
                        Err(e) => tracing::debug!(slot, error = %e, "span: item refused"),
                    }
                }
                Ok(None) => heard = Instant::now(),
                Err(()) => return,
            },
            item = rx.recv() => {
                let Some(item) = item else { return };
                if matches!(item, Item::Relay { .. }) {
                    queued.fetch_sub(1, Ordering::Relaxed);
                }
                item.encode(&mut item_buf);
                if sealer.seal(&item_buf, &mut sealed).is_err() || ws.send(std::mem::take(&mut sealed)).await.is_err() {
                    return;
                }
            }
            _ = beat.tick() => {
                if heard.elapsed() > SILENT {
                    tracing::warn!(slot, "span: the link went silent; closing it");
                    return;
                }
                Item::Control(Control::Beat).encode(&mut item_buf);
                if sealer.seal(&item_buf, &mut sealed).is_err() || ws.send(std::mem::take(&mut sealed)).await.is_err() {
                    return;
                }
            }
        }
    }
}
