//! A WebSocket connection: limits, keepalive, and the split into a reader and a writer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::stream::{SplitSink, SplitStream, StreamExt};
use futures_util::SinkExt;
use tokio::sync::mpsc;

use super::session::{Flow, Session};
use crate::error::ApiError;
use crate::net::{origin, ConnInfo};
use crate::policy::Identity;
use crate::rooms::conn::count_out;
use crate::rooms::conn::{ConnHandle, Outbound, QueueLink};
use crate::state::AppState;

/// WebSocket close codes used by the server.
pub use convene_proto::close as close_code;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Initial WebSocket read buffer per connection, and the most read from the socket at once.
/// Tungstenite zero-fills it, so all of it is resident for every idle connection: 2 KiB holds a
/// typical client message (chat, mute, a candidate) in one read, and a larger frame (an SDP offer)
/// grows the buffer to its length once its header is read. 8 KiB cost ~6 KiB more per idle
/// connection (docs/benchmarks.md, *Idle connections*).
const READ_BUFFER: usize = 2 * 1024;

/// How long the peer may take to answer our close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

pub async fn ws_handler(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    conn: Option<Extension<ConnInfo>>,
    ws: WebSocketUpgrade,
) -> Response {
    let tls = conn.is_some_and(|Extension(c)| c.tls);
    if let Err(refused) = check_origin(&state, &headers, tls) {
        return refused.into_response();
    }
    // Who this is comes from the session cookie of the upgrade request, once, for the connection.
    let actor = match crate::auth::signed_in(&state, &headers).await {
        Ok(Some(user)) => Identity::User {
            id: user.id,
            email: user.email,
        },
        Ok(None) => Identity::Guest,
        Err(e) => return e.into_response(),
    };
    let peer = ConnInfo::peer_ip(conn.as_ref().map(|Extension(c)| c));
    let limit = state.config.limits.max_frame_bytes as usize;
    // The transport refuses frames far over the limit before buffering them; frames just over it are
    // read and answered with 1009 by `serve`, so the client learns why.
    let node = state.cluster.as_ref().map(|c| c.node.clone());
    let mut response =
        upgrade(ws, limit).on_upgrade(move |socket| serve(socket, state, actor, peer, false));
    // In a cluster, which node holds this socket (behind a load balancer, for operators and tests).
    if let Some(value) = node.and_then(|n| header::HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert("x-convene-node", value);
    }
    response
}

fn upgrade(ws: WebSocketUpgrade, limit: usize) -> WebSocketUpgrade {
    ws.max_message_size(limit.saturating_mul(4))
        .max_frame_size(limit.saturating_mul(4))
        // Signaling messages are a few KiB; the read buffer grows for a larger frame. The default
        // (128 KiB, zero-filled on every read) held 128 KiB per participant for nothing.
        .read_buffer_size(READ_BUFFER)
}

/// A WebSocket another node of the cluster relays to this one (cluster/internal.rs checked its
/// signature): who the client is and where it connects from come from that node.
pub fn serve_relayed(
    state: Arc<AppState>,
    ws: WebSocketUpgrade,
    actor: Identity,
    peer: std::net::IpAddr,
) -> Response {
    let limit = state.config.limits.max_frame_bytes as usize;
    upgrade(ws, limit).on_upgrade(move |socket| async move {
        let counter = state.cluster.clone();
        if let Some(c) = &counter {
            c.relays_in.fetch_add(1, Ordering::Relaxed);
        }
        serve(socket, state, actor, peer, true).await;
        if let Some(c) = &counter {
            c.relays_in.fetch_sub(1, Ordering::Relaxed);
        }
    })
}

/// A browser names the page that opens a WebSocket in `Origin`, and a page cannot change it: only
/// the server's own pages and `server.public_origins` may join. Without `Origin` the client is not a
/// browser (the Rust client, the load tool), so no visitor's browser is being used by another site.
fn check_origin(state: &AppState, headers: &HeaderMap, tls: bool) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let configured: Vec<String> = state
        .config
        .server
        .public_origins
        .iter()
        .filter_map(|o| origin::normalize(o))
        .collect();
    match origin.to_str() {
        Ok(o) if origin::allowed(o, host, tls, &configured) => Ok(()),
        _ => {
            tracing::debug!(
                ?origin,
                ?host,
                "WebSocket from a page of another origin refused"
            );
            Err(ApiError::Forbidden(
                "pages of this origin may not open meetings here (see server.public_origins)"
                    .into(),
            ))
        }
    }
}

/// Serves one WebSocket; `relayed`: another node relays it, and its join must be served here.
async fn serve(
    socket: WebSocket,
    state: Arc<AppState>,
    actor: Identity,
    peer: std::net::IpAddr,
    relayed: bool,
) {
    state.metrics.ws_connections.fetch_add(1, Ordering::Relaxed);
    let conn_id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let (handle, out_rx, abort) = QueueLink::open(conn_id);
    let (sink, mut stream) = socket.split();
    let state_for_writer = state.clone();
    let (writer_done_tx, mut writer_done) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn(async move {
        write_loop(sink, out_rx, state_for_writer).await;
        let _ = writer_done_tx.send(());
    });
    // Once our close frame is out, the peer gets a short while to answer it, not forever.
    let mut linger_until: Option<Instant> = None;
    let mut close_all = state.watch_close_all();

    let mut session = Session::new(state.clone(), handle.clone(), actor, peer);
    session.relayed_in = relayed;
    let idle = Duration::from_secs(state.config.websocket.idle_timeout_secs);
    let max = state.config.limits.max_frame_bytes as usize;
    let mut last_heard = Instant::now();
    // Set when the server decided to close while the peer may still be sending.
    let mut we_closed = false;
    loop {
        let silent_deadline = match linger_until {
            Some(t) => t.min(last_heard + idle),
            None => last_heard + idle,
        };
        let frame = tokio::select! {
            f = stream.next() => f,
            _ = &mut writer_done, if linger_until.is_none() => {
                linger_until = Some(Instant::now() + CLOSE_LINGER);
                continue;
            }
            _ = tokio::time::sleep_until(silent_deadline.into()) => {
                if linger_until.is_some_and(|t| Instant::now() >= t) {
                    break;
                }
                tracing::debug!(conn = conn_id, "connection silent too long; closing");
                handle.close(close_code::GOING_AWAY, "no keepalive");
                break;
            }
            _ = close_all.wait_for(|c| *c), if linger_until.is_none() => {
                handle.send(&convene_proto::ServerMessage::Closing { reason: "server_shutdown".into() });
                handle.close(close_code::GOING_AWAY, "server shutting down");
                linger_until = Some(Instant::now() + CLOSE_LINGER);
                continue;
            }
            _ = abort.notified() => {
                handle.close(close_code::POLICY, "too slow to receive");
                we_closed = true;
                break;
            }
        };
        let next = match frame {
            Some(Ok(frame)) => {
                last_heard = Instant::now();
                // Boxed: a message's handling is a large future (every handler's state), and held
                // inline it would make every idle connection's task that large (~5 KiB) for the
                // whole of its life. Boxed, it exists only while a message is handled.
                Box::pin(on_frame(frame, &mut session, &state, &handle, max)).await
            }
            Some(Err(e)) => on_read_error(e, &state, &handle, conn_id),
            // Closed by the peer.
            None => Next::Stop,
        };
        match next {
            Next::Read => {}
            Next::Stop => break,
            Next::Closed => {
                we_closed = true;
                break;
            }
        }
    }
    Box::pin(session.on_disconnect()).await;
    handle.close(close_code::NORMAL, "");
    drop(session);
    drop(handle);
    if we_closed {
        linger(&mut stream).await;
    }
    // The writer ends once every handle (ours and the room's) is dropped or a close was sent; give it
    // a moment to flush a close frame, never forever.
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    state.metrics.ws_connections.fetch_sub(1, Ordering::Relaxed);
}

/// After a frame or a read error: read on, stop (the peer closed or the transport failed), or stop
/// because the server closed while the peer may still be sending.
enum Next {
    Read,
    Stop,
    Closed,
}

async fn on_frame(
    frame: Message,
    session: &mut Session,
    state: &AppState,
    handle: &ConnHandle,
    max: usize,
) -> Next {
    let len = match &frame {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        _ => 0,
    };
    if len > max {
        count_error(state, convene_proto::ErrorCode::MessageTooLarge);
        handle.close(close_code::TOO_BIG, "message too large");
        return Next::Closed;
    }
    let flow = match frame {
        Message::Text(text) => session.on_text(text.as_str()).await,
        Message::Binary(_) => session.on_binary().await,
        Message::Close(_) => return Next::Stop,
        Message::Ping(_) | Message::Pong(_) => return Next::Read,
    };
    if flow == Flow::Close {
        Next::Closed
    } else {
        Next::Read
    }
}

/// A read error: a frame far over the limit (1009) or a protocol violation (1002, 1007) is answered
/// with its close code; a transport failure just ends the connection.
fn on_read_error(e: axum::Error, state: &AppState, handle: &ConnHandle, conn_id: u64) -> Next {
    tracing::debug!(conn = conn_id, error = %e, "connection read ended");
    if is_capacity(&e) {
        count_error(state, convene_proto::ErrorCode::MessageTooLarge);
        handle.close(close_code::TOO_BIG, "message too large");
        return Next::Closed;
    }
    match violation(e) {
        Some((code, reason)) => {
            handle.close(code, reason);
            Next::Closed
        }
        None => Next::Stop,
    }
}

/// Closing a socket with unread bytes in it (a flood) sends a TCP reset: the peer's next send then
/// fails and its WebSocket reports 1006, often before it has read our close frame. So read and
/// discard until the peer answers the close frame the writer is flushing, or the linger is over.
async fn linger(stream: &mut SplitStream<WebSocket>) {
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        while let Some(Ok(frame)) = stream.next().await {
            if matches!(frame, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

fn is_capacity(e: &axum::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("space limit") || text.contains("too long") || text.contains("capacity")
}

/// The close code for a read error that is the peer's fault: 1007 for a text frame that is not
/// UTF-8, 1002 for other breaches of the WebSocket protocol. None for transport failures.
fn violation(e: axum::Error) -> Option<(u16, &'static str)> {
    use tokio_tungstenite::tungstenite::Error;
    match e.into_inner().downcast::<Error>().map(|e| *e) {
        Ok(Error::Utf8(_)) => Some((close_code::INVALID_DATA, "text frame is not UTF-8")),
        Ok(Error::Protocol(_)) => Some((close_code::PROTOCOL, "WebSocket protocol violation")),
        _ => None,
    }
}

fn count_error(state: &AppState, code: convene_proto::ErrorCode) {
    state.metrics.errors.inc(code.as_str());
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outbound>,
    state: Arc<AppState>,
) {
    let mut ping = tokio::time::interval(Duration::from_secs(
        state.config.websocket.ping_interval_secs,
    ));
    ping.tick().await;
    loop {
        let item = tokio::select! {
            item = rx.recv() => item,
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
                continue;
            }
        };
        match item {
            Some(Outbound::Text(frame, ty)) => {
                // A frame is UTF-8 by construction (made from a String); the check is a copy-free
                // scan of a few hundred bytes.
                let Ok(text) = axum::extract::ws::Utf8Bytes::try_from(frame.bytes().clone()) else {
                    continue;
                };
                if sink.send(Message::Text(text)).await.is_err() {
                    return;
                }
                count_out(&state.metrics, ty);
            }
            Some(Outbound::Close(code, reason)) => {
                let frame = CloseFrame {
                    code,
                    reason: reason.into(),
                };
                // No `close()` here: that waits for the peer's answer, which a broken client never
                // sends. The reader lingers briefly for it instead.
                let _ = sink.send(Message::Close(Some(frame))).await;
                return;
            }
            None => return,
        }
    }
}
