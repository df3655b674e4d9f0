//! An in-process server on 127.0.0.1:0 with a temporary SQLite database, and helpers to talk to it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use convene_client::{join_msg, Signaling};
use convene_proto::{ClientMessage, Joined, ServerMessage};
use convene_server::{run, Config, Listeners, RunError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub addr: SocketAddr,
    /// The media UDP socket's address (None when media is disabled).
    pub udp_addr: Option<SocketAddr>,
    pub db_url: String,
    pub config: Config,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RunError>>>,
    /// Shared with a server started again on the same database (a restart).
    dir: std::sync::Arc<tempfile::TempDir>,
    /// `Authorization` of an API key, made at first use (hashing its secret takes a moment).
    api_key: tokio::sync::OnceCell<String>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(change: impl FnOnce(&mut Config)) -> Self {
        let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::on(dir, change).await
    }

    /// Another server on this one's database, with its configuration: what a restart of the process
    /// is, once this one has stopped (or crashed).
    pub async fn start_again(&self) -> Self {
        self.start_again_with(|_| {}).await
    }

    /// A restart with a changed configuration.
    pub async fn start_again_with(&self, change: impl FnOnce(&mut Config)) -> Self {
        // Its listen address and UDP port are port 0 (tests run in parallel), so it gets new ones.
        let config = self.config.clone();
        Self::on(self.dir.clone(), move |c| {
            *c = config;
            change(c);
        })
        .await
    }

    /// Ends the server without a drain, as a crash (kill -9) does: records stay open.
    pub fn crash(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    async fn on(dir: std::sync::Arc<tempfile::TempDir>, change: impl FnOnce(&mut Config)) -> Self {
        let db_url = format!("sqlite://{}", dir.path().join("convene.db").display());
        let mut config = Config::default();
        config.server.listen = "127.0.0.1:0".into();
        config.database.url = db_url.clone();
        config.files.dir = dir.path().join("files").display().to_string();
        config.recording.dir = dir.path().join("recordings").display().to_string();
        config.rooms.empty_grace_secs = 2;
        // Tests run in parallel: each server gets its own free UDP port.
        config.media.udp_port = 0;
        // Many servers share two cores while tests run in parallel, so a worker's wall-clock busy
        // ratio says little here: no join is refused for load unless a test asks for it.
        config.media.max_worker_busy = 0.0;
        change(&mut config);
        let listeners = Listeners::bind(&config).await.expect("bind");
        let addr = listeners.http.local_addr().expect("addr");
        let udp_addr = listeners
            .udp
            .as_ref()
            .map(|u| u.local_addr().expect("udp addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(config.clone(), listeners, async {
            let _ = stopped.await;
        }));
        let server = Self {
            addr,
            udp_addr,
            db_url,
            config,
            stop: Some(stop),
            task: Some(task),
            dir,
            api_key: tokio::sync::OnceCell::new(),
        };
        // The listener is bound already; wait until the store is migrated and routes answer.
        for _ in 0..200 {
            if server.get("/readyz").await.0 == 200 {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("test server did not become ready");
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub async fn client(&self) -> Signaling {
        Signaling::connect(&self.ws_url()).await.expect("connect")
    }

    pub async fn join(&self, room: &str, name: &str) -> (Signaling, Joined) {
        let mut c = self.client().await;
        let j = c.join(join_msg(room, name)).await.expect("join");
        (c, j)
    }

    /// A plain HTTP GET; returns status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path).await
    }

    /// The `Authorization` header of an API key made for this server (one per server).
    pub async fn api_auth(&self) -> String {
        self.api_key
            .get_or_init(|| async {
                let key = convene_server::auth::apikeys::generate("tests", 0).expect("key");
                convene_store::Store::create_api_key(&self.store().await, &key.record)
                    .await
                    .expect("store the key");
                let pair = format!("{}:{}", key.record.id, key.secret);
                format!("Basic {}", base64_encode(pair.as_bytes()))
            })
            .await
            .clone()
    }

    /// A GET with an API key (the records API needs one).
    pub async fn get_api(&self, path: &str) -> (u16, String) {
        let auth = self.api_auth().await;
        http_get_with(self.addr, path, &[("Authorization", &auth)]).await
    }

    /// The value of one metric line (`name{labels}` exactly as rendered).
    pub async fn metric(&self, series: &str) -> f64 {
        let (_, body) = self.get("/metrics").await;
        body.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no metric {series} in:\n{body}"))
    }

    /// Waits (up to 5 s; media metrics are published once a second) until `series` reaches `at_least`.
    pub async fn metric_reaches(&self, series: &str, at_least: f64) -> f64 {
        let mut v = 0.0;
        for _ in 0..50 {
            let (_, body) = self.get("/metrics").await;
            v = body
                .lines()
                .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
                .unwrap_or(0.0);
            if v >= at_least {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        v
    }

    pub async fn store(&self) -> convene_store::SqlStore {
        convene_store::connect(&self.db_url)
            .await
            .expect("open store")
    }

    /// Graceful shutdown (what SIGTERM does).
    pub async fn stop(&mut self) -> Result<(), RunError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let task = self.task.take().expect("running");
        task.await.expect("server task")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

pub fn chat(text: &str) -> ClientMessage {
    ClientMessage::ChatSend {
        text: text.into(),
        client_msg_id: None,
    }
}

/// Asserts that no message matching `pick` arrives within `wait`.
pub async fn assert_quiet(
    c: &mut Signaling,
    wait: Duration,
    what: &str,
    pick: impl Fn(&ServerMessage) -> bool,
) {
    let saved = c.timeout;
    c.timeout = wait;
    loop {
        match c.recv().await {
            Ok(m) if pick(&m) => panic!("unexpected {what}: {m:?}"),
            Ok(_) => continue,
            Err(convene_client::ClientError::Timeout) => break,
            Err(e) => panic!("connection failed while waiting: {e}"),
        }
    }
    c.timeout = saved;
}

/// A plain HTTP/1.1 GET on a fresh connection; returns status (0 if unreachable) and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_get_with(addr, path, &[]).await
}

/// Standard base64, for a Basic `Authorization` header.
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A GET with extra headers.
pub async fn http_get_with(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return (0, String::new());
    };
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return (0, String::new());
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The next chat message on `c`, skipping other messages.
pub async fn next_chat(c: &mut convene_client::Signaling) -> convene_proto::ChatMessage {
    c.recv_until(|m| match m {
        ServerMessage::Chat { message } => Some(message.clone()),
        _ => None,
    })
    .await
    .expect("a chat message")
}

/// The next `error` on `c`: code, message, request.
pub async fn next_error(
    c: &mut convene_client::Signaling,
) -> (convene_proto::ErrorCode, String, Option<String>) {
    c.recv_until(|m| match m {
        ServerMessage::Error {
            code,
            message,
            request,
        } => Some((*code, message.clone(), request.clone())),
        _ => None,
    })
    .await
    .expect("an error message")
}

/// The next `participant_updated` on `c`.
pub async fn next_update(c: &mut convene_client::Signaling) -> convene_proto::ParticipantInfo {
    c.recv_until(|m| match m {
        ServerMessage::ParticipantUpdated { participant } => Some(participant.clone()),
        _ => None,
    })
    .await
    .expect("a participant update")
}

/// The next `participant_left` on `c`: who, and why.
pub async fn next_left(
    c: &mut convene_client::Signaling,
) -> (convene_proto::ParticipantId, String) {
    c.recv_until(|m| match m {
        ServerMessage::ParticipantLeft {
            participant_id,
            reason,
        } => Some((participant_id.clone(), reason.as_str().to_owned())),
        _ => None,
    })
    .await
    .expect("a participant leaving")
}

/// Waits for the drain's `closing` (reason `server_shutdown`) and the 1001 close that follows.
pub async fn expect_shutdown(c: &mut convene_client::Signaling) {
    let reason = c
        .recv_until(|m| match m {
            ServerMessage::Closing { reason } => Some(reason.clone()),
            _ => None,
        })
        .await
        .expect("a closing message");
    assert_eq!(reason, "server_shutdown");
    assert_eq!(c.closed().await.expect("closed").code, Some(1001));
}

/// Waits for a `closing` message; returns its reason.
pub async fn expect_closing(c: &mut convene_client::Signaling) -> String {
    c.recv_until(|m| match m {
        ServerMessage::Closing { reason } => Some(reason.clone()),
        _ => None,
    })
    .await
    .expect("a closing message")
}
