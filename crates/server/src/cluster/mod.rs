//! Several nodes on one PostgreSQL database, coordinated through Redis (docs/architecture.md,
//! *Cluster*). Each node registers itself with a lease it renews ([`nodes`]); each room runs on one
//! node, its owner, recorded in Redis with a lease the owner renews ([`directory`]); a WebSocket
//! that reaches another node is relayed to the owner ([`relay`], [`internal`]); REST requests for a
//! room are carried to its owner as the room plane's plain data ([`plane`]); a node that stops
//! renewing is taken for dead and another closes its records ([`lost`]).
//!
//! The client is the `redis` crate (redis-rs): the most used Redis client for Rust, maintained by
//! the Redis project, with a tokio connection manager that reconnects by itself; we use only its
//! tokio transport, the connection manager and Lua scripts (`script`), no cluster or TLS features.

mod auth;
mod directory;
mod health;
pub mod internal;
mod limits;
mod lost;
mod node_id;
mod nodes;
pub mod plane;
pub mod recordings;
mod relay;
mod remote;
pub mod seal;
pub mod span;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use convene_proto::RoomId;
use redis::aio::ConnectionManager;

pub use auth::ClusterKey;
pub use directory::Route;
pub use node_id::resolve_node_id;
pub use nodes::{heartbeat, NodeInfo};
pub use relay::{Relay, RelayedFrom};

use crate::config::Config;

/// The name the cluster key has among the database's secrets: every node on the database has it.
pub const KEY_NAME: &str = "cluster_key";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster: Redis at {url}: {source}")]
    Redis {
        url: String,
        #[source]
        source: redis::RedisError,
    },
    #[error(
        "cluster: node id `{0}` is held by another live node; give each node its own server.node_id"
    )]
    NodeIdInUse(String),
    #[error("cluster: node id file {path}: {source}")]
    NodeIdFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The names of this cluster's Redis keys.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    fn node(&self, id: &str) -> String {
        format!("{}node:{id}", self.prefix)
    }

    /// A sorted set: every registered node, scored by its last heartbeat (ms).
    fn nodes(&self) -> String {
        format!("{}nodes", self.prefix)
    }

    fn room(&self, room: &RoomId) -> String {
        format!("{}room:{}", self.prefix, room.0)
    }

    fn room_pattern(&self) -> String {
        format!("{}room:*", self.prefix)
    }

    fn room_name<'a>(&self, key: &'a str) -> Option<&'a str> {
        key.strip_prefix(&self.prefix)?.strip_prefix("room:")
    }

    /// Held by the survivor closing a lost node's records.
    fn lost_job(&self, id: &str) -> String {
        format!("{}lost:{id}", self.prefix)
    }

    /// The counter that makes each claim's fencing token.
    fn fence(&self) -> String {
        format!("{}fence", self.prefix)
    }
}

/// A room this node owns: the value of its directory entry, and when it was claimed.
struct Claim {
    value: String,
    since: Instant,
}

/// This node's part in the cluster.
pub struct Cluster {
    pub node: String,
    /// Tells this process from an earlier one of the same node id.
    instance: String,
    pub(crate) redis: ConnectionManager,
    pub(crate) keys: Keys,
    pub lease: Duration,
    /// This node's HTTP address as the others reach it.
    pub advertise: String,
    pub(crate) key: ClusterKey,
    claims: Mutex<HashMap<RoomId, Claim>>,
    health: health::RedisHealth,
    /// Relayed connections open now, both ways, for metrics and the tests.
    pub relays_out: std::sync::atomic::AtomicI64,
    pub relays_in: std::sync::atomic::AtomicI64,
    pub remote_ops: std::sync::atomic::AtomicU64,
}

impl Cluster {
    /// Connects to Redis (once: an unreachable Redis at start-up is a clear error, not a wait).
    pub async fn connect(
        config: &Config,
        advertise: String,
        key: ClusterKey,
    ) -> Result<Self, ClusterError> {
        let url = config.cluster.redis_url.clone();
        let failed = |source| ClusterError::Redis {
            url: url.clone(),
            source,
        };
        let client = redis::Client::open(url.as_str()).map_err(failed)?;
        // Bounded waits: a Redis that stops answering must show as an error, never as a hang.
        let settings = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(2))
            .set_number_of_retries(2);
        // The manager's first connection retries with a backoff of its own (minutes against a
        // closed port); one plain attempt first says what is wrong within seconds.
        let timed_out = || {
            failed(redis::RedisError::from((
                redis::ErrorKind::IoError,
                "no answer within 5 s",
            )))
        };
        let wait = Duration::from_secs(5);
        tokio::time::timeout(wait, client.get_multiplexed_async_connection())
            .await
            .map_err(|_| timed_out())?
            .map_err(failed)?;
        let redis = tokio::time::timeout(wait, client.get_connection_manager_with_config(settings))
            .await
            .map_err(|_| timed_out())?
            .map_err(failed)?;
        Ok(Self {
            node: config.server.node_id.clone(),
            instance: format!("{:016x}", rand::random::<u64>()),
            redis,
            keys: Keys {
                prefix: config.cluster.key_prefix.clone(),
            },
            lease: Duration::from_secs(config.cluster.lease_secs),
            advertise,
            key,
            claims: Mutex::new(HashMap::new()),
            health: Default::default(),
            relays_out: Default::default(),
            relays_in: Default::default(),
            remote_ops: Default::default(),
        })
    }

    fn lease_ms(&self) -> u64 {
        self.lease.as_millis() as u64
    }

    /// A room's entry lives twice a node's lease: when a node dies, its rooms' entries outlive its
    /// own by a lease, so the next join finds the room's last node and waits for its records to be
    /// closed (lost.rs), instead of starting a new meeting while the old one is still open.
    fn room_lease_ms(&self) -> u64 {
        2 * self.lease_ms()
    }

    /// A connection for one request (the manager multiplexes; cloning is cheap).
    pub(crate) fn conn(&self) -> ConnectionManager {
        self.redis.clone()
    }

    fn claims(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Claim>> {
        // Plain inserts and removes: a panicking holder cannot leave the map half-made.
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether Redis answers (for /readyz).
    pub async fn ping(&self) -> Result<(), redis::RedisError> {
        let mut c = self.conn();
        let r = redis::cmd("PING").query_async::<String>(&mut c).await;
        if r.is_err() {
            self.redis_failed();
        }
        r.map(drop)
    }

    /// Renders the cluster's metrics.
    pub fn render_metrics(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        format!(
            "# HELP convene_cluster_node_info This node's id in the cluster.\n\
             # TYPE convene_cluster_node_info gauge\nconvene_cluster_node_info{{node=\"{}\"}} 1\n\
             # HELP convene_cluster_relays_out WebSockets this node relays to the node of their room.\n\
             # TYPE convene_cluster_relays_out gauge\nconvene_cluster_relays_out {}\n\
             # HELP convene_cluster_relays_in WebSockets relayed to this node by another node.\n\
             # TYPE convene_cluster_relays_in gauge\nconvene_cluster_relays_in {}\n\
             # HELP convene_cluster_remote_ops_total Room requests this node carried to another node.\n\
             # TYPE convene_cluster_remote_ops_total counter\nconvene_cluster_remote_ops_total {}\n\
             # HELP convene_cluster_rooms_owned Rooms this node holds in the cluster's directory.\n\
             # TYPE convene_cluster_rooms_owned gauge\nconvene_cluster_rooms_owned {}\n",
            self.node,
            self.relays_out.load(Relaxed),
            self.relays_in.load(Relaxed),
            self.remote_ops.load(Relaxed),
            self.claims().len(),
        )
    }
}
