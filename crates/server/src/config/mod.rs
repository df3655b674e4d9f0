//! Configuration: a TOML file, then `CONVENE_<SECTION>_<KEY>` environment variables, then flags; each
//! later source wins. Every key has a default, so `convene` with nothing set runs a complete server.

mod cluster;
mod compose;
mod connections;
mod files;
mod load;
mod recording;
mod template;
mod turn;
mod webhooks;

pub use cluster::{ClusterConfig, DEFAULT_NODE_ID};
pub use compose::ComposeConfig;
pub use connections::ConnectionsConfig;
pub use files::FilesConfig;
pub use recording::RecordingConfig;

pub use load::{load, ConfigError, Sources};
pub use template::DEFAULT_TEMPLATE;
pub use turn::TurnConfig;
pub use webhooks::{WebhookEndpointConfig, WebhooksConfig};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub connections: ConnectionsConfig,
    pub database: DatabaseConfig,
    pub rooms: RoomsConfig,
    pub limits: LimitsConfig,
    pub websocket: WebSocketConfig,
    pub media: MediaConfig,
    pub turn: TurnConfig,
    pub tls: TlsConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub webhooks: WebhooksConfig,
    pub files: FilesConfig,
    pub recording: RecordingConfig,
    pub compose: ComposeConfig,
    pub cluster: ClusterConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    pub enabled: bool,
    /// UDP port for all media of all participants, on the IP of `server.listen`; 0 picks a free one.
    pub udp_port: u16,
    /// Addresses announced to clients as ICE candidates.
    pub public_ips: Vec<String>,
    /// Offer ICE-TCP on the HTTP port as a fallback when UDP is blocked.
    pub ice_tcp: bool,
    pub stun_urls: Vec<String>,
    pub turn_urls: Vec<String>,
    /// Static TURN credentials (used when `turn_secret` is empty).
    pub turn_username: String,
    pub turn_credential: String,
    /// Shared secret for ephemeral TURN credentials (coturn `use-auth-secret`).
    pub turn_secret: String,
    pub turn_ttl_secs: u64,
    /// Media worker threads; 0 means one per core.
    pub workers: u32,
    /// Send media datagrams in batches (sendmmsg).
    pub batch_send: bool,
    /// Coalesce datagrams to one destination into one UDP GSO send (implies `batch_send`).
    pub gso: bool,
    /// Receive and send buffer of each media worker's UDP socket, bytes (the kernel caps it at
    /// `net.core.rmem_max` / `wmem_max`); 0 keeps the system's default. Larger absorbs bursts
    /// but queues media under a sustained overload (delay instead of loss). Default 1 MiB.
    pub socket_buffer_bytes: u32,
    /// Participants a room has before newcomers go to other workers (0: a room stays on one).
    pub room_spread_threshold: u32,
    /// Share of the time (0-1) a media worker may be busy and still take newcomers; a join finding
    /// no such worker gets `server_busy`. 0: joins are never refused for load.
    pub max_worker_busy: f64,
    /// Media sessions this node holds at most (0: no bound but `max_worker_busy`). Past it, a
    /// single node refuses joins with `server_busy`; in a cluster a newcomer's media session goes
    /// to another node's workers and the two nodes relay the room's media to each other.
    pub max_sessions: u32,
    /// Seconds an ICE-TCP connection has to deliver its first complete framed packet (the STUN
    /// binding request that names its participant), and a TCP connection to the TURN server its
    /// first message; slower connections are closed.
    pub ice_tcp_handshake_timeout_secs: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            udp_port: 8080,
            public_ips: vec!["127.0.0.1".into()],
            ice_tcp: true,
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_username: String::new(),
            turn_credential: String::new(),
            turn_secret: String::new(),
            turn_ttl_secs: 86_400,
            workers: 0,
            batch_send: false,
            gso: false,
            socket_buffer_bytes: 1 << 20,
            room_spread_threshold: 50,
            max_worker_busy: 0.9,
            max_sessions: 0,
            ice_tcp_handshake_timeout_secs: 10,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    pub node_id: String,
    pub drain_deadline_secs: u64,
    /// Seconds a client has, from connecting or from the first byte of a request, to send the
    /// request's complete head (and a TLS handshake); slower connections are closed.
    pub http_header_timeout_secs: u64,
    /// Seconds an HTTP connection may sit with no request in progress and no bytes moving before it
    /// is closed. WebSocket connections are not affected (see `websocket.idle_timeout_secs`).
    pub http_idle_timeout_secs: u64,
    /// Page origins (`https://meet.example.org`) allowed to open `/ws` besides the server's own.
    pub public_origins: Vec<String>,
    /// Bearer token that reads `/metrics` from anywhere; empty: `/metrics` answers loopback only.
    pub metrics_token: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            node_id: DEFAULT_NODE_ID.into(),
            drain_deadline_secs: 20,
            http_header_timeout_secs: 10,
            http_idle_timeout_secs: 60,
            public_origins: Vec::new(),
            metrics_token: String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub heartbeat_secs: u64,
    /// PostgreSQL: seconds a query waits for a connection (connecting included) before it fails,
    /// so that during an outage a chat message or a join is refused while its sender waits.
    pub acquire_timeout_secs: u64,
    /// Days a meeting's record (sessions, chat) is kept after it ended; 0 keeps them forever.
    pub retention_days: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://./data/convene.db".into(),
            heartbeat_secs: 5,
            acquire_timeout_secs: 5,
            retention_days: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomsConfig {
    pub max_participants: u32,
    pub create_on_join: bool,
    pub empty_grace_secs: u64,
    pub resume_window_secs: u64,
    /// After a restart or crash of the server, how long the participants of its meetings may come
    /// back with their resume tokens as themselves.
    pub restart_window_secs: u64,
    pub chat_history: u32,
    /// Seconds between two broadcasts of one participant's connection-quality figures while its
    /// level stays the same (a level change goes out within a second).
    pub quality_figures_interval_secs: u64,
}

impl Default for RoomsConfig {
    fn default() -> Self {
        Self {
            max_participants: 100,
            create_on_join: true,
            empty_grace_secs: 30,
            resume_window_secs: 30,
            restart_window_secs: 300,
            chat_history: 100,
            quality_figures_interval_secs: 10,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_frame_bytes: u32,
    pub chat_max_chars: u32,
    pub display_name_max_chars: u32,
    pub room_name_max_chars: u32,
    pub messages_per_sec: u32,
    pub messages_burst: u32,
    pub rate_limit_close_after: u32,
    /// Joins one address may make per minute (0: no limit).
    pub joins_per_minute_per_address: u32,
    /// Guests (not signed in, no token) one address may have in one room at once (0: no limit).
    pub guest_seats_per_address: u32,
    /// Loopback addresses are not limited per address (load tools and tests on this machine).
    pub exempt_loopback: bool,
    /// Rooms one account may plan per hour (0: no limit).
    pub rooms_per_hour_per_account: u32,
    /// Reactions one participant may send per second, and the burst it may save up; the rest are
    /// refused with `rate_limited` and reach nobody.
    pub reactions_per_sec: f64,
    pub reactions_burst: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            // An SDP answer grows ~4 KB per remote participant (Chromium): 1 MiB holds a full room.
            max_frame_bytes: 1024 * 1024,
            chat_max_chars: 4000,
            display_name_max_chars: 64,
            room_name_max_chars: 64,
            messages_per_sec: 20,
            messages_burst: 40,
            rate_limit_close_after: 100,
            // Generous: an office behind one NAT shares an address; these stop a single address
            // from flooding joins or taking every seat of a meeting, not a busy office.
            joins_per_minute_per_address: 120,
            guest_seats_per_address: 50,
            exempt_loopback: true,
            rooms_per_hour_per_account: 60,
            // A few in a row (applause), then about one a second.
            reactions_per_sec: 1.0,
            reactions_burst: 5,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSocketConfig {
    pub ping_interval_secs: u64,
    pub idle_timeout_secs: u64,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            ping_interval_secs: 10,
            idle_timeout_secs: 30,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain; empty means no certificate file.
    pub cert: String,
    /// PEM private key; empty means none.
    pub key: String,
    pub self_signed: bool,
    pub self_signed_names: Vec<String>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert: String::new(),
            key: String::new(),
            self_signed: false,
            self_signed_names: vec!["localhost".into(), "127.0.0.1".into()],
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

impl LimitsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                reason: why.into(),
            })
        };
        if self.max_frame_bytes < 1024 {
            return bad("limits.max_frame_bytes", "must be at least 1024");
        }
        if self.messages_per_sec == 0 || self.messages_burst == 0 {
            return bad(
                "limits.messages_per_sec",
                "rate and burst must be at least 1",
            );
        }
        if !(self.reactions_per_sec.is_finite() && self.reactions_per_sec > 0.0) {
            return bad(
                "limits.reactions_per_sec",
                "must be a number above 0, e.g. 1.0",
            );
        }
        if self.reactions_burst == 0 {
            return bad("limits.reactions_burst", "must be at least 1");
        }
        Ok(())
    }
}

impl Config {
    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                reason: why.into(),
            })
        };
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("server.listen", "must be an address like 127.0.0.1:8080");
        }
        if self.server.node_id.trim().is_empty() {
            return bad("server.node_id", "must not be empty");
        }
        if self.server.http_header_timeout_secs == 0 {
            return bad("server.http_header_timeout_secs", "must be at least 1");
        }
        if self.server.http_idle_timeout_secs == 0 {
            return bad("server.http_idle_timeout_secs", "must be at least 1");
        }
        if !(1..=300).contains(&self.database.acquire_timeout_secs) {
            return bad("database.acquire_timeout_secs", "must be from 1 to 300");
        }
        if let Some(o) = self
            .server
            .public_origins
            .iter()
            .find(|o| crate::net::origin::normalize(o).is_none())
        {
            return bad(
                "server.public_origins",
                &format!("`{o}` is not an origin like \"https://meet.example.org\" (scheme and host, no path)"),
            );
        }
        for k in &self.auth.token_keys {
            match k.split_once(':') {
                Some((kid, secret)) if !kid.is_empty() && secret.len() >= 32 => {}
                _ => {
                    return bad(
                        "auth.token_keys",
                        "each key is KID:SECRET with a secret of at least 32 bytes",
                    )
                }
            }
        }
        if self.media.ice_tcp_handshake_timeout_secs == 0 {
            return bad("media.ice_tcp_handshake_timeout_secs", "must be at least 1");
        }
        if self.rooms.max_participants == 0 {
            return bad("rooms.max_participants", "must be at least 1");
        }
        if self.rooms.quality_figures_interval_secs == 0 {
            return bad("rooms.quality_figures_interval_secs", "must be at least 1");
        }
        self.limits.validate()?;
        self.connections.validate()?;
        self.webhooks.validate()?;
        self.files.validate()?;
        self.recording.validate()?;
        self.compose.validate()?;
        self.cluster.validate(&self.database.url)?;
        self.turn.validate()?;
        if self.turn.enabled && !self.media.enabled {
            return bad(
                "turn.enabled",
                "the TURN server relays media: it needs media.enabled",
            );
        }
        if !self.turn.tls_host.is_empty() && self.tls.cert.is_empty() && !self.tls.self_signed {
            return bad(
                "turn.tls_host",
                "TURN over TLS is served on the HTTPS port: it needs tls.cert or tls.self_signed",
            );
        }
        if self.websocket.ping_interval_secs == 0
            || self.websocket.idle_timeout_secs <= self.websocket.ping_interval_secs
        {
            return bad(
                "websocket.idle_timeout_secs",
                "must be longer than websocket.ping_interval_secs (which must be at least 1)",
            );
        }
        if self.media.public_ips.is_empty()
            || self
                .media
                .public_ips
                .iter()
                .any(|ip| ip.parse::<std::net::IpAddr>().is_err())
        {
            return bad(
                "media.public_ips",
                "must list at least one IP address, e.g. [\"203.0.113.7\"]",
            );
        }
        if !(0.0..=1.0).contains(&self.media.max_worker_busy) {
            return bad(
                "media.max_worker_busy",
                "must be between 0 (off) and 1, e.g. 0.9",
            );
        }
        if self.tls.cert.is_empty() != self.tls.key.is_empty() {
            return bad("tls.cert", "tls.cert and tls.key must be given together");
        }
        if self.tls.self_signed && !self.tls.cert.is_empty() {
            return bad(
                "tls.self_signed",
                "choose a certificate file or self_signed, not both",
            );
        }
        Ok(())
    }
}

/// Who may make an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signup {
    /// Anyone may sign up in the app.
    Open,
    /// Only an admin makes accounts (`convene user add`).
    Closed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub signup: Signup,
    /// How long a sign-in lasts in a browser, in hours.
    pub session_ttl_hours: u64,
    /// Shortest password, in characters.
    pub min_password_chars: u32,
    /// Failed sign-ins to one account within `signin_window_secs` before it is refused for a while.
    pub signin_failures_per_account: u32,
    /// Failed sign-ins from one address within `signin_window_secs` before it is refused for a while.
    pub signin_failures_per_address: u32,
    pub signin_window_secs: u64,
    /// Keys that sign access tokens, as `KID:SECRET` (HS256, secrets of at least 32 bytes); a
    /// token names its key in the header's `kid`. Empty: the server takes no access tokens.
    pub token_keys: Vec<String>,
    /// Longest lifetime a token made by this server (`convene token create`, `POST /api/v1/tokens`)
    /// may have, in seconds.
    pub token_max_ttl_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            signup: Signup::Open,
            session_ttl_hours: 24 * 30,
            min_password_chars: 10,
            signin_failures_per_account: 5,
            signin_failures_per_address: 20,
            signin_window_secs: 900,
            token_keys: Vec::new(),
            token_max_ttl_secs: 24 * 3600,
        }
    }
}
