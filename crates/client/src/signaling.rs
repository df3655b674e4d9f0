//! The signaling connection: JSON messages over a WebSocket.

use std::time::Duration;

use convene_proto::{ClientMessage, Joined, ServerMessage};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("the server sent something that is not a protocol message: {0}")]
    Decode(String),
    #[error("timed out waiting for the server")]
    Timeout,
    #[error("the connection closed: {0:?}")]
    Closed(Closed),
    #[error("the server refused: {code}: {message}")]
    Refused {
        code: convene_proto::ErrorCode,
        message: String,
    },
}

/// How the server closed the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// The WebSocket close code, if the server sent one.
    pub code: Option<u16>,
    pub reason: String,
}

/// Signaling messages are small JSON (an SDP offer is a few KiB).
const READ_BUFFER: usize = 4096;

pub struct Signaling {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// How long `recv` waits before giving up.
    pub timeout: Duration,
}

impl Signaling {
    /// What [`Signaling::timeout`] starts as.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Connects to `ws://host:port/ws` (or `wss://`).
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        Self::connect_with_headers(url, &[]).await
    }

    /// Connects with extra headers on the upgrade request, e.g. the `Cookie` of a signed-in
    /// account or an `Origin`.
    pub async fn connect_with_headers(
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Self, ClientError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
        let mut request = url.into_client_request()?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ClientError::Decode(format!("header name {name:?}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| ClientError::Decode(format!("header value for {name}: {e}")))?;
            request.headers_mut().insert(name, value);
        }
        // Tungstenite zero-fills its free read capacity on every poll of the stream, and the media
        // task polls it on every wakeup: the default 128 KiB cost more CPU than the media itself
        // (and 128 KiB of memory per connection). Larger messages still arrive whole: the buffer
        // grows to a frame's length once its header is read.
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
        Ok(Self {
            ws,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// Connects to a plain `ws://` URL from the local address `local` (e.g. 127.0.0.2): one
    /// machine can be several clients by address, for limits per address.
    pub async fn connect_from(url: &str, local: std::net::IpAddr) -> Result<Self, ClientError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::Error as WsError;
        let request = url.into_client_request()?;
        let uri = request.uri();
        if uri.scheme_str() != Some("ws") {
            return Err(ClientError::Decode(format!(
                "connect_from takes ws:// URLs, not {url}"
            )));
        }
        let host = uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(80);
        let remote = tokio::net::lookup_host((host, port))
            .await
            .map_err(WsError::Io)?
            .find(|a| a.is_ipv4() == local.is_ipv4())
            .ok_or_else(|| ClientError::Decode(format!("{url}: no address of {local}'s family")))?;
        let socket = if remote.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .map_err(WsError::Io)?;
        socket
            .bind(std::net::SocketAddr::new(local, 0))
            .map_err(WsError::Io)?;
        let stream = socket.connect(remote).await.map_err(WsError::Io)?;
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (ws, _) = tokio_tungstenite::client_async_with_config(
            request,
            MaybeTlsStream::Plain(stream),
            Some(config),
        )
        .await?;
        Ok(Self {
            ws,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    pub async fn send(&mut self, msg: &ClientMessage) -> Result<(), ClientError> {
        let text = serde_json::to_string(msg).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.send_raw(&text).await
    }

    /// Sends any text frame (tests use this for malformed input).
    pub async fn send_raw(&mut self, text: &str) -> Result<(), ClientError> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<(), ClientError> {
        self.ws.send(Message::binary(bytes)).await?;
        Ok(())
    }

    /// The next protocol message; answers pings on the way.
    pub async fn recv(&mut self) -> Result<ServerMessage, ClientError> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.recv_inner())
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    /// The next protocol message, however long it takes. Cancel-safe (the media task selects on it).
    pub async fn recv_untimed(&mut self) -> Result<ServerMessage, ClientError> {
        self.recv_inner().await
    }

    async fn recv_inner(&mut self) -> Result<ServerMessage, ClientError> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(t.as_str())
                        .map_err(|e| ClientError::Decode(format!("{e}: {t}")))
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(ClientError::Closed(Closed {
                        code: frame.as_ref().map(|f| u16::from(f.code)),
                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    }))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => {
                    return Err(ClientError::Closed(Closed {
                        code: None,
                        reason: "stream ended".into(),
                    }))
                }
            }
        }
    }

    /// Receives until `pick` returns Some, skipping other messages.
    pub async fn recv_until<T>(
        &mut self,
        mut pick: impl FnMut(&ServerMessage) -> Option<T>,
    ) -> Result<T, ClientError> {
        loop {
            let m = self.recv().await?;
            if let Some(t) = pick(&m) {
                return Ok(t);
            }
        }
    }

    /// Waits for the server to close the connection, skipping messages; returns how it closed.
    pub async fn closed(&mut self) -> Result<Closed, ClientError> {
        loop {
            match self.recv().await {
                Ok(_) => continue,
                Err(ClientError::Closed(c)) => return Ok(c),
                Err(ClientError::WebSocket(_)) => {
                    return Ok(Closed {
                        code: None,
                        reason: "transport error".into(),
                    })
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends `join` and waits for `joined` (or the error that refused it).
    pub async fn join(&mut self, msg: ClientMessage) -> Result<Joined, ClientError> {
        self.send(&msg).await?;
        loop {
            match self.recv().await? {
                ServerMessage::Joined(j) => return Ok(*j),
                ServerMessage::Error { code, message, .. } => {
                    return Err(ClientError::Refused { code, message })
                }
                _ => continue,
            }
        }
    }

    /// Closes the socket politely (a disconnect, not a `leave`).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Drops the TCP connection without a close frame, as a crashed browser would.
    pub fn abort(self) {
        drop(self.ws);
    }
}

/// A plain join message.
pub fn join_msg(room: &str, name: &str) -> ClientMessage {
    ClientMessage::Join {
        room: room.into(),
        display_name: name.into(),
        version: Some(convene_proto::PROTOCOL_VERSION),
        access_token: None,
        password: None,
        resume_token: None,
        mic_muted: None,
        camera_muted: None,
    }
}
