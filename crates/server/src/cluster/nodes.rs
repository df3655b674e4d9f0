//! The nodes of the cluster. Each writes what the others need to know of it (where to reach it, how
//! loaded it is) under a key that expires after `cluster.lease_secs` unless renewed, and lists
//! itself in a sorted set scored by its last heartbeat, which is how the others notice that it
//! stopped (lost.rs).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Cluster, ClusterError};
use crate::clock::now_ms;
use crate::state::AppState;

/// What a node tells the others of itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: String,
    /// This process, as opposed to an earlier one with the same id.
    pub instance: String,
    /// Where the other nodes reach its HTTP endpoints (`cluster.advertise_url`).
    pub http: String,
    /// Its media address and the addresses it announces to clients (informational: each node
    /// hands out its own in `joined`).
    pub udp: Option<String>,
    pub public_ips: Vec<String>,
    /// Load: what placement compares.
    pub participants: i64,
    pub rooms: i64,
    /// Mean share of the time its media workers are busy (0-1).
    pub media_busy: f64,
    /// Media sessions on its workers, and how many it takes at most (`media.max_sessions`;
    /// 0: no bound): where a room larger than its node places newcomers (cluster/span).
    #[serde(default)]
    pub media_sessions: i64,
    #[serde(default)]
    pub media_capacity: i64,
    /// Draining nodes take no new rooms.
    pub draining: bool,
    pub heartbeat_ms: i64,
}

/// Writes (or renews) `info` unless another live process holds the id; 1 when written.
const REGISTER: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, info = pcall(cjson.decode, cur)
  if ok and type(info) == 'table' and info.instance ~= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
return 1
"#;

impl Cluster {
    /// What this node says of itself now.
    pub fn info(&self, state: &AppState) -> NodeInfo {
        let m = &state.metrics;
        NodeInfo {
            id: self.node.clone(),
            instance: self.instance.clone(),
            http: self.advertise.clone(),
            udp: state.media.as_ref().map(|p| p.udp_addr.to_string()),
            public_ips: state.config.media.public_ips.clone(),
            participants: m.participants.load(Ordering::Relaxed),
            rooms: m.rooms.load(Ordering::Relaxed),
            media_busy: state.media.as_ref().map_or(0.0, |p| p.mean_busy()),
            media_sessions: state.media.as_ref().map_or(0, |p| p.sessions() as i64),
            // No media: no room for any session.
            media_capacity: match &state.media {
                Some(_) => i64::from(state.config.media.max_sessions),
                None => -1,
            },
            draining: state.is_draining(),
            heartbeat_ms: now_ms(),
        }
    }

    /// Registers or renews this node; false when another live process holds its id.
    pub async fn register(&self, info: &NodeInfo) -> Result<bool, redis::RedisError> {
        // NodeInfo is plain data: serializing it cannot fail.
        let json = serde_json::to_string(info).unwrap_or_default();
        let mut c = self.conn();
        let written: i64 = redis::Script::new(REGISTER)
            .key(self.keys.node(&self.node))
            .key(self.keys.nodes())
            .arg(&self.instance)
            .arg(json)
            .arg(self.lease_ms())
            .arg(&self.node)
            .arg(info.heartbeat_ms)
            .invoke_async(&mut c)
            .await?;
        Ok(written == 1)
    }

    /// Registers at start-up. An id still held by another process (the same node killed a moment
    /// ago: its lease runs out) is waited for up to one lease; after that it is a clear error.
    pub async fn join_cluster(&self, state: &AppState) -> Result<(), ClusterError> {
        let deadline = tokio::time::Instant::now() + self.lease + Duration::from_secs(1);
        loop {
            let written =
                self.register(&self.info(state))
                    .await
                    .map_err(|source| ClusterError::Redis {
                        url: state.config.cluster.redis_url.clone(),
                        source,
                    })?;
            if written {
                tracing::info!(node = %self.node, http = %self.advertise, "joined the cluster");
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClusterError::NodeIdInUse(self.node.clone()));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Leaves the cluster after a drain: the others need not wait for the lease to run out.
    pub async fn leave(&self) {
        let mut c = self.conn();
        let r = redis::pipe()
            .cmd("DEL")
            .arg(self.keys.node(&self.node))
            .ignore()
            .cmd("ZREM")
            .arg(self.keys.nodes())
            .arg(&self.node)
            .ignore()
            .query_async::<()>(&mut c)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "cluster: could not leave cleanly; the lease runs out");
        }
    }

    /// The nodes whose lease is alive, with their heartbeat scores' ids.
    pub async fn live_nodes(&self) -> Result<Vec<NodeInfo>, redis::RedisError> {
        let mut c = self.conn();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.keys.nodes())
            .arg(0)
            .arg(-1)
            .query_async(&mut c)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.keys.node(id)).collect();
        let values: Vec<Option<String>> = redis::cmd("MGET").arg(keys).query_async(&mut c).await?;
        Ok(values
            .into_iter()
            .flatten()
            .filter_map(|v| serde_json::from_str(&v).ok())
            .collect())
    }

    /// One node's entry, if its lease is alive.
    pub async fn node_info(&self, id: &str) -> Result<Option<NodeInfo>, redis::RedisError> {
        let mut c = self.conn();
        let v: Option<String> = redis::cmd("GET")
            .arg(self.keys.node(id))
            .query_async(&mut c)
            .await?;
        Ok(v.and_then(|v| serde_json::from_str(&v).ok()))
    }
}

/// Renews this node's rooms' leases and its own, and looks for nodes that stopped, every third of
/// a lease, until `stop`. Redis trouble is logged and retried at the next beat: the rooms running
/// here go on meanwhile (health.rs).
pub async fn heartbeat(
    state: Arc<AppState>,
    cluster: Arc<Cluster>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let every = (cluster.lease / 3).max(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        // Rooms first: after an outage a room whose entry expired is claimed again only while
        // this node is still in the set of nodes, which registering would put it back in.
        cluster.renew_rooms(&state).await;
        match cluster.register(&cluster.info(&state)).await {
            Ok(true) => {}
            Ok(false) => tracing::error!(
                node = %cluster.node,
                "cluster: another process registered this node's id; give each node its own"
            ),
            Err(e) => {
                cluster.redis_failed();
                tracing::warn!(error = %e, "cluster: heartbeat to Redis failed");
            }
        }
        super::lost::sweep(&state, &cluster).await;
        refresh_span_candidates(&state, &cluster).await;
    }
    cluster.release_all().await;
    cluster.leave().await;
}

/// The nodes that may take this node's newcomers' media, read while this node may need them: it
/// has a bound on its sessions, or already spans rooms with others (one ZRANGE and one MGET per
/// beat; none on a node without either).
async fn refresh_span_candidates(state: &AppState, cluster: &Cluster) {
    let Some(spans) = &state.spans else {
        return;
    };
    if state.config.media.max_sessions == 0 && !spans.active() {
        return;
    }
    match cluster.live_nodes().await {
        Ok(nodes) => spans.set_nodes(&nodes),
        Err(e) => tracing::debug!(error = %e, "cluster: cannot read the live nodes"),
    }
}
