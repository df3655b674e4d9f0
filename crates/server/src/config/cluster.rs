//! `[cluster]`: several nodes on one PostgreSQL database, coordinated through Redis (README,
//! *Several nodes*; docs/architecture.md, *Cluster*).

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The node id every single node has had; in a cluster, leaving it means "make one up and keep it".
pub const DEFAULT_NODE_ID: &str = "node-1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// `redis://host:port[/db]`; empty: a single node, which never connects to Redis.
    pub redis_url: String,
    /// Prefix of every Redis key of this cluster, so that clusters (and tests) can share a Redis.
    pub key_prefix: String,
    /// This node's HTTP address as the other nodes reach it (`http://10.0.0.5:8080`); empty: the
    /// address the HTTP listener is bound to.
    pub advertise_url: String,
    /// Seconds a node's (and a room's) lease lasts without renewal; renewed every third of it. A
    /// node that stops renewing is taken for dead after this long.
    pub lease_secs: u64,
    /// Where a node id made up at first start is kept (when `server.node_id` is left at
    /// "node-1"), so that the node keeps it across restarts.
    pub node_id_file: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis_url: String::new(),
            key_prefix: "convene:".into(),
            advertise_url: String::new(),
            lease_secs: 6,
            node_id_file: "./data/node_id".into(),
        }
    }
}

impl ClusterConfig {
    pub fn enabled(&self) -> bool {
        !self.redis_url.trim().is_empty()
    }

    /// Checks the section against the database it would run with.
    pub(super) fn validate(&self, database_url: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                reason: why.into(),
            })
        };
        if !self.enabled() {
            return Ok(());
        }
        if !(self.redis_url.starts_with("redis://") || self.redis_url.starts_with("rediss://")) {
            return bad(
                "cluster.redis_url",
                "must be a URL like redis://127.0.0.1:6379 (or empty for a single node)",
            );
        }
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return bad(
                "cluster.redis_url",
                "a cluster needs a database every node shares: set database.url to PostgreSQL \
                 (SQLite is one node's file)",
            );
        }
        if self.lease_secs < 3 {
            return bad("cluster.lease_secs", "must be at least 3");
        }
        // Nodes call each other in plain HTTP (signed; a node with TLS serves these paths in
        // plain HTTP too): https between nodes is not supported yet.
        if !(self.advertise_url.is_empty() || self.advertise_url.starts_with("http://")) {
            return bad(
                "cluster.advertise_url",
                "must be an http:// URL like http://10.0.0.5:8080, or empty",
            );
        }
        if self.node_id_file.trim().is_empty() {
            return bad("cluster.node_id_file", "must name a file");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{load, Sources};

    fn with(flags: &[(&str, &str)]) -> Result<crate::Config, String> {
        load(&Sources {
            flags: flags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Sources::default()
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_cluster_on_sqlite_is_refused_with_a_clear_error() {
        let e = with(&[("cluster.redis_url", "redis://127.0.0.1:6379")]).unwrap_err();
        assert!(
            e.contains("cluster.redis_url") && e.contains("PostgreSQL"),
            "{e}"
        );
        let c = with(&[
            ("cluster.redis_url", "redis://127.0.0.1:6379"),
            ("database.url", "postgres://postgres@127.0.0.1:5432/test"),
        ])
        .unwrap();
        assert!(c.cluster.enabled());
    }

    #[test]
    fn cluster_keys_come_from_env_and_are_checked() {
        let c = load(&Sources {
            env: vec![
                ("CONVENE_CLUSTER_REDIS_URL".into(), "redis://r:6379".into()),
                ("CONVENE_DATABASE_URL".into(), "postgres://db/x".into()),
                ("CONVENE_CLUSTER_LEASE_SECS".into(), "9".into()),
            ],
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(c.cluster.redis_url, "redis://r:6379");
        assert_eq!(c.cluster.lease_secs, 9);
        let pg = ("database.url", "postgres://db/x");
        let redis = ("cluster.redis_url", "redis://r:6379");
        for (key, value) in [
            ("cluster.redis_url", "http://r:6379"),
            ("cluster.lease_secs", "2"),
            ("cluster.advertise_url", "10.0.0.5:8080"),
            ("cluster.advertise_url", "https://10.0.0.5:8443"),
        ] {
            let e = with(&[pg, redis, (key, value)]).expect_err(value);
            assert!(e.contains(key), "{key}={value}: {e}");
        }
        // A single node is not checked for cluster keys it does not use.
        assert!(with(&[("cluster.lease_secs", "2")]).is_ok());
    }
}
